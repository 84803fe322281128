"""The group-commit pipeline, in process: a real store on the real database,
what it tells of each committed group and its background tasks handed in as
plain callables."""
import threading
import time

from pycrdt import Doc, Text

from synthese.documents import DocumentStore, Pending
from synthese.extensions import db
from synthese.models import Credential
from synthese.realtime.pipeline import UpdatePipeline
from synthese.sheets import fields_from_update
from synthese.tokens import issue


def typing(chars: str, client_id: int = 111) -> list[bytes]:
    doc = Doc(client_id=client_id)
    text = doc.get("synthese", type=Text)
    updates = []
    for ch in chars:
        before = doc.get_state()
        text += ch
        updates.append(doc.get_update(before))
    return updates


class Harness:
    """A pipeline whose relays are recorded and whose tasks are threads."""

    def __init__(self, store, max_queue=100, relay=None, window=0.0):
        self.relayed = []
        self.refused = []
        self.pipeline = UpdatePipeline(store, relay or self.relayed.append, self.spawn, self.refused.append,
                                       max_queue, window=window)

    @staticmethod
    def spawn(target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        return thread

    def drained(self) -> bool:
        return self.pipeline.drain(10)


def test_each_group_is_told_once_committed_in_log_order(app, make_atelier):
    atelier, _, _ = make_atelier(question="")
    store = DocumentStore(db.engine)
    seen_at_relay = []

    def relay(appended):
        # What is relayed is already durable: a fresh store reads it.
        with app.app_context():
            seen_at_relay.append(DocumentStore(db.engine).fields(appended.atelier_id)["synthese"])
        harness.relayed.append(appended)

    harness = Harness(store, relay=relay)
    for update in typing("Élus"):
        assert harness.pipeline.submit(Pending(atelier.id, update, sid="s1"))
    assert harness.drained()
    committed = [item for appended in harness.relayed for item in appended.items]
    assert len(committed) == 4
    assert seen_at_relay[-1] == "Élus"
    # Sequence numbers follow on from one relay to the next, with no gap.
    firsts = [a.first_seq for a in harness.relayed]
    sizes = [len(a.items) for a in harness.relayed]
    assert firsts == [1 + sum(sizes[:i]) for i in range(len(sizes))]
    assert fields_from_update(store.state(atelier.id))["synthese"] == "Élus"
    assert harness.pipeline.stalled_for() == 0.0


def test_an_update_whose_sender_was_deleted_is_stored_without_it_and_the_rest_goes_on(make_atelier):
    atelier, _, _ = make_atelier(question="")
    gone, _ = issue(role="participant", event_id=atelier.event_id, name="Partie")
    db.session.commit()
    gone_id = gone.id
    db.session.delete(gone)
    db.session.commit()
    harness = Harness(DocumentStore(db.engine))
    first, second = typing("ab")
    harness.pipeline.submit(Pending(atelier.id, first, gone_id))
    harness.pipeline.submit(Pending(atelier.id, second))
    assert harness.drained()
    assert DocumentStore(db.engine).fields(atelier.id)["synthese"] == "ab"
    assert db.session.get(Credential, gone_id) is None


def test_a_failing_relay_does_not_stop_the_next_batch(make_atelier):
    atelier, _, _ = make_atelier(question="")
    calls = []

    def relay(appended):
        calls.append(appended)
        if len(calls) == 1:
            raise RuntimeError("a room's relay failed")

    harness = Harness(DocumentStore(db.engine), relay=relay)
    first, second = typing("ok")
    harness.pipeline.submit(Pending(atelier.id, first))
    assert harness.drained()
    harness.pipeline.submit(Pending(atelier.id, second))
    assert harness.drained()
    assert len(calls) == 2
    assert DocumentStore(db.engine).fields(atelier.id)["synthese"] == "ok"


def test_a_full_queue_refuses_the_update_and_says_so(make_atelier):
    atelier, _, _ = make_atelier(question="")
    store = DocumentStore(db.engine)
    started = []
    harness = Harness(store, max_queue=2)
    # Nothing takes from the queue: its task is never started.
    harness.pipeline.spawn = lambda target, *args: started.append(target)
    updates = typing("abc")
    assert harness.pipeline.submit(Pending(atelier.id, updates[0], sid="s1"))
    assert harness.pipeline.submit(Pending(atelier.id, updates[1], sid="s1"))
    refused = Pending(atelier.id, updates[2], sid="s1")
    assert not harness.pipeline.submit(refused)
    assert harness.refused == [refused]
    assert store.cached(atelier.id) is None  # the index that counted it is forgotten


def test_updates_waiting_without_a_commit_are_reported_stalled(make_atelier):
    atelier, _, _ = make_atelier(question="")
    harness = Harness(DocumentStore(db.engine))
    harness.pipeline.spawn = lambda target, *args: None
    harness.pipeline.submit(Pending(atelier.id, typing("a")[0]))
    harness.pipeline.progress_at -= 30
    assert harness.pipeline.stalled_for() >= 30


def test_a_group_stays_open_for_the_window_one_commit_for_updates_close_together(make_atelier):
    atelier, _, _ = make_atelier(question="")
    harness = Harness(DocumentStore(db.engine), window=0.3)
    updates = typing("vingt")
    for update in updates:
        assert harness.pipeline.submit(Pending(atelier.id, update, sid="s1", relayed=True))
        time.sleep(0.02)
    assert harness.drained()
    assert [len(a.items) for a in harness.relayed] == [5]
    assert DocumentStore(db.engine).fields(atelier.id)["synthese"] == "vingt"


def test_an_update_the_room_has_not_seen_closes_its_group_at_once(make_atelier):
    """A claim is relayed only once committed: it does not wait for the window."""
    atelier, _, _ = make_atelier(question="")
    harness = Harness(DocumentStore(db.engine), window=5.0)
    first, second = typing("ok")
    assert harness.pipeline.submit(Pending(atelier.id, first, sid="s1", relayed=True))
    time.sleep(0.05)
    started = time.monotonic()
    assert harness.pipeline.submit(Pending(atelier.id, second, sid="s2", claims=[7]))
    assert harness.drained()
    assert time.monotonic() - started < 2.0
    assert [len(a.items) for a in harness.relayed] == [2]


def test_a_group_is_told_committed_even_when_the_cache_fails_after_the_commit(make_atelier):
    """Its senders' pages must hear that it is stored; the cache in doubt is dropped."""
    atelier, _, _ = make_atelier(question="")

    class Failing(DocumentStore):
        def apply_committed(self, result):
            raise RuntimeError("the cache failed")

    harness = Harness(Failing(db.engine))
    assert harness.pipeline.submit(Pending(atelier.id, typing("a")[0], sid="s1"))
    assert harness.drained()
    assert [len(a.items) for a in harness.relayed] == [1]
