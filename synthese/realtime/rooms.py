"""The y-socket.io protocol (contract section 3) on Flask-SocketIO.

One namespace per sheet, ``/yjs|atelier-<id>``. Handlers are thin: they
check who is speaking and validate what they send; an accepted document
update goes to the room in this process at once and to the UpdatePipeline,
which commits it within a group commit, then tells its sender's page
("synthese:saved") and the other processes (with its place in the log).

What the room saw before the commit, a crash can lose from the database but
not from the room: the sender's page (and its offline store) holds it and
sends it again in the sync exchange when it reconnects. The first update
under a new Yjs client ID (its claim) is the exception: the room sees it
only once committed, so that nobody else can claim that client ID with the
copy they were relayed.
"""
import itertools
import logging
import random
import re
import time
from dataclasses import dataclass, field

from flask import current_app, request, session
from flask_socketio import ConnectionRefusedError, emit
from pycrdt import merge_updates

from .. import access, tokens
from ..database import gevent_patched
from ..documents import EMPTY_UPDATE, Appended, DocumentStore, Pending, check_bytes
from ..extensions import db, socketio
from ..models import Atelier
from ..yjs import Foreign, InvalidUpdate, Missing, decode_state_vector
from . import awareness, buckets, overrides
from . import roster as rosters
from .pipeline import UpdatePipeline

log = logging.getLogger(__name__)

NAMESPACE = re.compile(r"^/yjs\|atelier-(\d{1,12})$")


def namespace_for(atelier_id: int) -> str:
    return f"/yjs|atelier-{atelier_id}"


@dataclass
class Connection:
    """What this process knows of one open socket."""

    atelier_id: int
    credential_id: int
    role: str
    #: The client's address, for the per-address socket cap.
    address: str = ""
    #: Its events' rate limits (config SYNTHESE_SOCKET_LIMITS).
    limits: dict = field(default_factory=dict)
    #: Whether a sync request of its was answered already.
    answered: bool = False
    #: Its sync-update messages so far (the sheet page counts them too):
    #: "synthese:saved" says how many of them are stored.
    received: int = 0
    #: Its updates accepted and not committed yet.
    in_flight: int = 0
    #: Whether something it sent is not stored and may never be unless it
    #: sends it again (refused: asked again later, or for good).
    owed: bool = False
    #: Refusals in a row for someone else's structs (the backoff of asking again).
    foreign: int = 0
    #: The clocks its last sync request said it has (decoded), and whether
    #: it answered a sync request of the server's: then it vouches for the
    #: text of its own client IDs up to there (yjs.SheetIndex.check).
    vouched: dict | None = None
    diffed: bool = False


@dataclass
class Realtime:
    """Per-process realtime state; nothing in it is needed by another process."""

    app: object
    store: DocumentStore
    presence: awareness.Presence = field(default_factory=awareness.Presence)
    connections: dict[str, Connection] = field(default_factory=dict)
    #: Open sockets per atelier, in this process.
    room_sizes: dict[int, int] = field(default_factory=dict)
    pipeline: "UpdatePipeline | None" = None
    #: Who is where in the other processes too (Redis), or only here.
    roster: rosters.Roster = field(default_factory=rosters.Roster)
    #: Per atelier with sockets here: the last log sequence number this
    #: process's clients were sent without a gap, and runs sent beyond it.
    delivered: dict[int, int] = field(default_factory=dict)
    ahead: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    _gap_checks: set = field(default_factory=set)
    #: Sockets whose refused updates must be pulled again.
    _to_pull: set = field(default_factory=set)
    _sharing: bool = False
    #: Updates waiting to be sent to a room's sockets here (per namespace),
    #: and when each room was last sent some.
    _outbox: dict = field(default_factory=dict)
    _sent_at: dict = field(default_factory=dict)

    #: A room is sent relays at most this often, or RELAY_PER_SOCKET per
    #: socket of it here when that is longer; what arrives meanwhile leaves
    #: together, as one message per socket.
    RELAY_EVERY = 0.005
    #: A relay's cost grows with its recipients (a system call each, about
    #: 8 µs): with this wait, a room's relays take at most a sixth of a
    #: core however busy and big it is. 200 people: 10 ms at most between
    #: two of their relays.
    RELAY_PER_SOCKET = 0.00005

    def relay_every(self, atelier_id: int) -> float:
        """The shortest time between two relays to an atelier's sockets here."""
        return max(self.RELAY_EVERY, self.room_sizes.get(atelier_id, 0) * self.RELAY_PER_SOCKET)

    def send_soon(self, namespace: str, item: Pending) -> None:
        """Send an update to a room's sockets here, with the others arriving about now.

        Sending a relay costs a system call per recipient: three quarters of
        the CPU of a 200-person plenary (bench/forum.py --profile). So a
        room's updates leave at the end of the event loop's turn, together
        with whatever else arrived in it, and a room relayed less than
        relay_every() ago waits for the rest of it: only rooms busier than 200
        updates a second wait at all (a plenary, not a forum's atelier), and
        the bigger the room, the longer (10 ms at 200 people, who see their
        relays sooner than Hocuspocus's: bench/forum.py --probe-room load).
        """
        if socketio.async_mode != "gevent":
            return _send_here(namespace, [item])
        waiting = self._outbox.get(namespace)
        if waiting is not None:
            waiting.append(item)
            return
        self._outbox[namespace] = [item]
        import gevent

        loop = gevent.get_hub().loop
        wait = self._sent_at.get(namespace, 0.0) + self.relay_every(item.atelier_id) - time.monotonic()
        if wait <= 0:
            loop.run_callback(self._flush, namespace)
        else:
            timer = loop.timer(wait)
            timer.start(self._flush, namespace, timer)

    def _flush(self, namespace: str, timer=None) -> None:
        if timer is not None:
            timer.close()
        items = self._outbox.pop(namespace, None)
        if not items:
            return
        self._sent_at[namespace] = time.monotonic()
        try:
            _send_here(namespace, items)
        except Exception:
            log.exception("could not relay %d update(s) to %s", len(items), namespace)

    def count(self, credential: int, address: str) -> tuple[int, int]:
        """Open sockets of one credential, and from one address, in this process."""
        by_credential = by_address = 0
        for c in list(self.connections.values()):
            by_credential += c.credential_id == credential
            by_address += c.address == address
        return by_credential, by_address

    def opened(self, sid: str, conn: Connection) -> None:
        self.connections[sid] = conn
        self.room_sizes[conn.atelier_id] = self.room_sizes.get(conn.atelier_id, 0) + 1
        self.roster.opened(conn.atelier_id, sid, conn.credential_id, conn.role)
        if self.roster.shared and not self._sharing:
            self._sharing = True
            socketio.start_background_task(self._share)

    def _share(self) -> None:
        """Write presence to Redis in batches; renew this process's entries now and then."""
        renewed = time.monotonic()
        while True:
            socketio.sleep(rosters.FLUSH_EVERY)
            self.roster.flush()
            if time.monotonic() - renewed >= rosters.RENEW_EVERY:
                renewed = time.monotonic()
                self.roster.renew(self.connections)

    def _announce_removals(self, namespace: str, removals: list, check: bool = True) -> None:
        if check:
            removals = [r for r in removals if self.roster.elsewhere(namespace, r.client_id)[0] is None]
        if removals:
            self.roster.announced(namespace, removals)
            socketio.server.emit("awareness-update", awareness.encode(removals), namespace=namespace)

    def leave(self, namespace: str, sid: str, stopping: bool = False) -> None:
        """A socket is gone: everyone in its room, in every process, sees its people leave."""
        conn = self.connections.pop(sid, None)
        if conn is None:
            return
        self.roster.closed(conn.atelier_id, sid)
        left = self.room_sizes[conn.atelier_id] - 1
        if left:
            self.room_sizes[conn.atelier_id] = left
        else:
            del self.room_sizes[conn.atelier_id]
        removals = self.presence.leave(namespace, sid)
        if removals and self.roster.shared and not stopping:
            # The person may be back on another process already (a blip):
            # their presence there must not be removed. Off the disconnect
            # handler: a room leaving at once must not wait on Redis.
            socketio.start_background_task(self._announce_removals, namespace, removals)
        elif removals:
            self._announce_removals(namespace, removals, check=False)
        if not left:
            self.store.forget(conn.atelier_id)
            self._sent_at.pop(namespace, None)
            self.delivered.pop(conn.atelier_id, None)
            self.ahead.pop(conn.atelier_id, None)

    def shutdown(self, timeout: float) -> None:
        """Before this process exits (SIGTERM): commit what it accepted, and take
        its people out of every room now, not when their entries age out.

        Its clients then lose their connection and reconnect, to another
        process behind the same address; whatever they sent that was not
        committed here, they send again (the server's sync step 1).
        """
        if self.pipeline is not None and not self.pipeline.drain(timeout):
            log.warning("stopping with %d update(s) not committed; their clients will send them again",
                        self.pipeline.queue.qsize())
        for sid, conn in list(self.connections.items()):
            self.leave(namespace_for(conn.atelier_id), sid, stopping=True)
        self.roster.flush()
        # The removals, to the other processes' clients.
        if not socketio.server.manager.flush(timeout):
            log.warning("stopping before Redis took every relay")

    # -- the log's place of every relay: gaps heal from the database ------------

    #: A relay missing this long after a later one arrived is read from the
    #: database (Redis delivers at most once; its relays and this process's
    #: own can also cross).
    GAP_WAIT = 0.5

    def relayed(self, namespace: str, first: int, last: int) -> None:
        """A relay of log rows first..last is going out to this process's clients."""
        match = NAMESPACE.match(namespace or "")
        if match:
            self.relayed_rows(int(match[1]), first, last)

    def relayed_rows(self, atelier_id: int, first: int, last: int) -> None:
        """As relayed(), for an atelier's room."""
        upto = self.delivered.get(atelier_id)
        if upto is None:
            return
        if first > upto + 1:
            self.ahead.setdefault(atelier_id, []).append((first, last))
            if atelier_id not in self._gap_checks:
                self._gap_checks.add(atelier_id)
                socketio.start_background_task(self._check_gap, atelier_id)
            return
        upto = max(upto, last)
        runs = self.ahead.get(atelier_id)
        if runs:
            runs.sort()
            while runs and runs[0][0] <= upto + 1:
                upto = max(upto, runs.pop(0)[1])
        self.delivered[atelier_id] = upto

    def _check_gap(self, atelier_id: int) -> None:
        try:
            socketio.sleep(self.GAP_WAIT)
            if self.ahead.get(atelier_id):
                self.catch_up(atelier_id)
        finally:
            self._gap_checks.discard(atelier_id)

    def catch_up(self, atelier_id: int) -> None:
        """Send this process's clients of a room what was committed after what they were sent."""
        upto = self.delivered.get(atelier_id)
        if upto is None:
            return
        try:
            with self.app.app_context():
                update, first, last = self.store.since(atelier_id, upto)
        except LookupError:
            return  # the atelier is gone
        log.info("sending atelier %s's clients log rows %s-%s they missed", atelier_id, first, last)
        if update:
            # To this process's sockets only: the others' processes do their own.
            socketio.server.emit("sync-update", (update, first, last), namespace=namespace_for(atelier_id),
                                 ignore_queue=True)
        self.ahead.pop(atelier_id, None)
        self.delivered[atelier_id] = max(self.delivered.get(atelier_id, last), last)

    def resubscribed(self, namespaces: list[str]) -> None:
        """Redis is back: relays of the outage were lost; heal every room served here."""
        for namespace in namespaces:
            match = NAMESPACE.match(namespace)
            if match and int(match[1]) in self.delivered:
                socketio.start_background_task(self._catch_up_soon, int(match[1]))

    def _catch_up_soon(self, atelier_id: int) -> None:
        # Once the subscriptions are confirmed: what is committed after the read is relayed.
        socketio.sleep(0.2)
        self.catch_up(atelier_id)

    def control(self, event: str, data, namespace: str | None = None) -> None:
        """A message between processes (overrides.FramesMixin.CONTROL)."""
        if event == "synthese:close-credentials":
            credential_ids, atelier_ids = data
            _close_sockets(self, set(credential_ids), set(atelier_ids))
            socketio.start_background_task(_close_late_sockets, self, set(credential_ids), set(atelier_ids))
        elif event == "synthese:early":
            self._early(namespace, *data)
        elif event == "synthese:committed":
            self._committed_elsewhere(namespace, *data)

    #: Another process's relays whose commit was never announced are
    #: forgotten after this long (it died: its pages send them back).
    EARLY_KEPT = 30.0

    def _early(self, namespace: str, data: bytes, token: int) -> None:
        """Another process accepted an update and sent it to its room: this
        process's sockets in the room get it now, its newcomers until its commit."""
        match = NAMESPACE.match(namespace or "")
        if not match:
            return
        now = time.monotonic()
        item = Pending(int(match[1]), bytes(data), relayed=True, token=token, arrived=now)
        sheet = self.store.cached(item.atelier_id)
        if sheet is not None:
            with sheet.lock:
                stale = [key for key, kept in sheet.pending.items()
                         if kept.arrived and now - kept.arrived > self.EARLY_KEPT]
                for key in stale:
                    del sheet.pending[key]
                sheet.pending[("early", token)] = item
        self.send_soon(namespace, item)

    def _committed_elsewhere(self, namespace: str, first: int, last: int, tokens: list, complete: bool) -> None:
        """Another process committed log rows first..last; those of its
        updates that this process was not sent before are read from the database."""
        match = NAMESPACE.match(namespace or "")
        if not match:
            return
        atelier_id = int(match[1])
        sheet = self.store.cached(atelier_id)
        missed = not complete or sheet is None
        if sheet is not None:
            with sheet.lock:
                for token in tokens:
                    missed = sheet.pending.pop(("early", token), None) is None or missed
        if missed and atelier_id in self.delivered:
            socketio.start_background_task(self.catch_up, atelier_id)
        else:
            self.relayed(namespace, first, last)

    def people(self, atelier_ids) -> dict[int, dict[int, str]]:
        """Per atelier, the credentials connected (to every process, with Redis) and their roles."""
        # Redis for everyone (this process's latest comings are written
        # within roster.FLUSH_EVERY), and this process's own sockets as they are now.
        found = (self.roster.people(atelier_ids) if self.roster.shared else None) or {}
        wanted = set(atelier_ids)
        for conn in list(self.connections.values()):
            if conn.atelier_id in wanted:
                found.setdefault(conn.atelier_id, {})[conn.credential_id] = conn.role
        return found

    def pull_later(self, sid: str | None, delay: float) -> None:
        """Ask a client again, later, for what the server lacks (once at a time per socket)."""
        conn = self.connections.get(sid) if sid else None
        if conn is not None:
            conn.owed = True  # its page must not say "Enregistré" meanwhile
        if sid is None or sid in self._to_pull:
            return
        self._to_pull.add(sid)
        socketio.start_background_task(self._pull_later, sid, delay)

    def _pull_later(self, sid: str, delay: float) -> None:
        """Once the wait is over and the queue has room, ask a client for what we lack.

        The client kept its edit; sync step 1 from our side makes it send
        everything the server does not have, refused updates included.
        """
        try:
            socketio.sleep(delay)
            while self.pipeline.queue.qsize() > self.pipeline.max_queue // 2:
                socketio.sleep(0.5)
        finally:
            self._to_pull.discard(sid)
        conn = self.connections.get(sid)
        if conn is None:
            return  # gone: it sends its state when it reconnects
        with self.app.app_context():
            sheet = self.store.sheet(conn.atelier_id)
            with sheet.lock:
                state_vector = sheet.index.state_vector()
        # python-socketio's own emit: Flask-SocketIO would look for a request
        # context to run the callback in, and a background task has none.
        socketio.server.emit("sync-step-1", state_vector, to=sid, namespace=namespace_for(conn.atelier_id),
                             callback=_on_client_diff(self, sid))

    def present(self, room: str) -> list[awareness.Entry]:
        """Everyone's presence in a room, for a newcomer: this process's, then the others'."""
        local = self.presence.snapshot(room)
        known = {e.client_id for e in local}
        return local + [e for e in self.roster.states(room) if e.client_id not in known]


def state() -> Realtime:
    return current_app.extensions["synthese.realtime"]


def people(atelier_ids) -> dict[int, dict[int, str]]:
    """Per atelier, the credentials connected to it (in every process) and their roles."""
    return state().people(atelier_ids)


def stalled() -> dict | None:
    """Whether accepted edits wait without being stored: for /healthz."""
    pipeline = state().pipeline
    waited = pipeline.stalled_for()
    if waited <= pipeline.STALLED_AFTER:
        return None
    return {"waiting": pipeline.queue.unfinished_tasks, "stalled_for": round(waited, 1)}


def init_app(app) -> None:
    async_mode = app.config.get("SYNTHESE_ASYNC_MODE") or _detect_async_mode()
    redis_url = app.config.get("SYNTHESE_REDIS_URL")
    socketio.init_app(
        app,
        async_mode=async_mode,
        message_queue=redis_url,
        client_manager=overrides.manager_for(redis_url),
        namespaces="*",
        # The y-socket.io client speaks WebSocket only; long polling would
        # also need sticky sessions behind several processes.
        transports=["websocket"],
        # Handlers run in the socket's own reader: no task started per
        # message. None of them waits long (see DocumentStore.refresh).
        async_handlers=False,
        # Engine.IO drops a connection whose message exceeds this; anything
        # between the update cap and this limit is refused politely instead.
        max_http_buffer_size=2 * app.config["SYNTHESE_MAX_UPDATE_BYTES"],
        # Same-origin only (the default), explicit for readers of this file.
        cors_allowed_origins=app.config.get("SYNTHESE_ALLOWED_ORIGINS"),
        logger=False,
        engineio_logger=False,
    )
    rt = Realtime(app=app, store=app.extensions["synthese.documents"], roster=rosters.make(redis_url))
    rt.pipeline = UpdatePipeline(rt.store, lambda appended: _after_commit(rt, appended),
                                 socketio.start_background_task, lambda item: rt.pull_later(item.sid, 0.5),
                                 app.config["SYNTHESE_UPDATE_QUEUE"], dropped=lambda item: _settle(rt, [item], False),
                                 window=app.config["SYNTHESE_COMMIT_WINDOW"])
    app.extensions["synthese.realtime"] = rt
    _register_hot_handlers(rt)
    manager = socketio.server.manager
    manager.on_relay = rt.relayed
    manager.on_control = rt.control
    manager.on_resubscribed = rt.resubscribed


def _detect_async_mode() -> str:
    return "gevent" if gevent_patched() else "threading"


# -- handlers ----------------------------------------------------------------


@socketio.on("connect", namespace="*")
def on_connect(auth=None):
    match = NAMESPACE.match(request.namespace or "")
    if not match:
        raise ConnectionRefusedError("unknown room")
    atelier = db.session.get(Atelier, int(match[1]))
    if atelier is None:
        raise ConnectionRefusedError("unknown room")
    role, credential = access.asking(*_presented_credentials(auth)).on_atelier(atelier)
    if not access.can(role, "sheet.read_live"):
        raise ConnectionRefusedError("unauthorized")
    config = current_app.config
    conn = Connection(atelier.id, credential.id, role, request.remote_addr or "",
                      buckets.buckets(config["SYNTHESE_SOCKET_LIMITS"]))
    # Give the pooled connection back before waiting on anything (see DocumentStore.refresh).
    db.session.rollback()
    rt = state()
    by_credential, by_address = rt.count(conn.credential_id, conn.address)
    if (by_credential >= config["SYNTHESE_MAX_SOCKETS_PER_CREDENTIAL"]
            or by_address >= config["SYNTHESE_MAX_SOCKETS_PER_ADDRESS"]):
        raise ConnectionRefusedError("too many connections")
    rt.opened(request.sid, conn)
    # Before the database is read: another process's later commits reach us.
    socketio.server.manager.listen_to(request.namespace)
    sheet = rt.store.sheet(conn.atelier_id)
    # What this socket's state is from, for the gaps of later relays.
    rt.delivered.setdefault(conn.atelier_id, sheet.seq)
    with sheet.lock:
        # What the server has, updates waiting for their commit included: the
        # client's answer then starts exactly there (synthese/yjs.py refuses
        # structs straddling known clocks).
        state_vector = sheet.index.state_vector()
    # Ask for whatever the client has that we lack (offline edits).
    emit("sync-step-1", state_vector, callback=_on_client_diff(rt, request.sid))
    present = rt.present(request.namespace)
    if present:
        emit("awareness-update", awareness.encode(present))


def _presented_credentials(auth) -> list:
    """Credentials from the handshake token, else from the browser session."""
    if isinstance(auth, dict) and auth.get("token"):
        credential = tokens.find(auth["token"])
        return [credential] if credential else []
    return tokens.from_session(session)


def _on_client_diff(rt: Realtime, sid: str):
    """The callback taking a client's answer to the server's sync step 1."""

    def receive(diff=None):
        conn = rt.connections.get(sid)
        if conn is not None:
            conn.owed = False  # its answer holds whatever it was asked for again
        _accept_update(rt, sid, diff, answer=True)
        if conn is not None:
            conn.diffed = True

    return receive


@socketio.on("sync-step-1", namespace="*")
def on_sync_step_1(state_vector=None):
    conn = state().connections.get(request.sid)
    if conn is None or not isinstance(state_vector, (bytes, bytearray)):
        return None
    # Each answer may be the whole sheet: a socket asking again and again, or
    # before reading the last answer, would have the server queue copies.
    # Refused, it gets an empty update (the stock client cannot take
    # nothing: it applies the answer as it is) and asks again at its next
    # resync; its first request is always answered.
    if not conn.limits["sync-step-1"].take() or (conn.answered and _backlogged(request.sid, request.namespace)):
        log.info("refused a sync request from %s (too frequent, or earlier answers unread)", request.sid)
        return EMPTY_UPDATE
    conn.answered = True
    try:
        conn.vouched = decode_state_vector(state_vector)
        sheet = state().store.sheet(conn.atelier_id)
        with sheet.lock:
            # With what the room was relayed and the database does not hold yet.
            return sheet.pending_update(bytes(state_vector))
    except ValueError:  # InvalidUpdate, or pycrdt's own refusal
        log.info("refused a malformed state vector from %s", request.sid)
        return None


# The frequent events, sync-update and awareness-update, and disconnect
# (a whole forum leaves or reconnects at once after a network cut) are
# registered on python-socketio itself (see _register_hot_handlers): they need
# no request or database, and Flask-SocketIO would build a request context
# (session cookie, URL matching) for each one: 40 % of the cost of a
# disconnect.


def _register_hot_handlers(rt: Realtime) -> None:
    def on_sync_update(namespace, sid, update=None):
        conn = rt.connections.get(sid)
        if conn is not None:
            conn.received += 1
        _accept_update(rt, sid, update)

    def on_awareness_update(namespace, sid, update=None):
        conn = rt.connections.get(sid)
        if conn is None or not access.can(conn.role, "presence.announce"):
            return
        if not conn.limits["awareness-update"].take():
            return  # a cursor moving faster than anyone reads; the next one says where it is
        try:
            entries = awareness.decode(update, rt.app.config["SYNTHESE_MAX_AWARENESS_BYTES"])
            if rt.roster.shared:
                _ask_other_processes(rt, namespace, entries, conn.credential_id)
            relay = rt.presence.apply(namespace, sid, entries, conn.credential_id)
        except awareness.InvalidAwareness as exc:
            log.info("refused an awareness update from %s: %s", sid, exc)
            return
        if relay:
            socketio.server.emit("awareness-update", awareness.encode(relay), namespace=namespace, skip_sid=sid)
            rt.roster.announced(namespace, relay, conn.credential_id)

    def on_disconnect(namespace, sid, reason=None):
        rt.leave(namespace, sid)

    socketio.server.on("sync-update", on_sync_update, namespace="*")
    socketio.server.on("awareness-update", on_awareness_update, namespace="*")
    socketio.server.on("disconnect", on_disconnect, namespace="*")
    # As the stock client sends them, they skip python-socketio's decoding too.
    overrides.fast_binary_events(socketio.server, {"sync-update": on_sync_update,
                                                   "awareness-update": on_awareness_update})


def _ask_other_processes(rt: Realtime, namespace: str, entries: list, who) -> None:
    """Client IDs new to this process: held by someone else on another
    process (refused), or removed there (shifted when they come back)."""
    for entry in entries:
        if entry.gone or rt.presence.known(namespace, entry.client_id):
            continue
        holder, removed_at = rt.roster.elsewhere(namespace, entry.client_id)
        if holder is not None and holder != who:
            raise awareness.InvalidAwareness("client ID belongs to a connection of another process")
        if removed_at is not None:
            rt.presence.gone_elsewhere(namespace, entry.client_id, removed_at)


@socketio.on("synthese:saved-state", namespace="*")
def on_saved_state(_=None):
    """The state vector of what is durably stored (test clients ask for it;
    the sheet page listens to "synthese:saved" instead)."""
    conn = state().connections.get(request.sid)
    if conn is None:
        return None
    sheet = state().store.sheet(conn.atelier_id)
    with sheet.lock:
        return sheet.doc.get_state()


def _accept_update(rt: Realtime, sid: str, data, answer: bool = False) -> None:
    """Check a document update from a socket against its sheet, send it to
    the room here and queue it for commit. ``answer``: it answers a sync
    request of the server's.

    Whatever the sheet's index refuses (synthese/yjs.py) is dropped before
    anyone sees it and the sender is told why; when the refusal may come
    from this process being behind (another process committed what the
    update builds on) the sheet is caught up from the database and the
    update checked again.
    """
    conn = rt.connections.get(sid)
    if conn is None:
        return
    if not access.can(conn.role, "sheet.write"):
        log.info("refused an update from read-only %s", sid)
        return
    try:
        data = check_bytes(data, rt.app.config["SYNTHESE_MAX_UPDATE_BYTES"])
        if data == EMPTY_UPDATE:
            _say_saved(rt, sid, conn)
            return
        structs = conn.limits["update-structs"]
        if not (conn.limits["sync-update"].take() and conn.limits["update-bytes"].take(len(data))
                and structs.tokens >= 1):
            # Dropped, not lost: the client keeps it, and sends it again
            # when asked (after the wait the limit imposes).
            wait = max(conn.limits["update-bytes"].wait(len(data)), structs.wait(1))
            rt.pull_later(sid, wait + 1.0)
            raise InvalidUpdate("too many updates; the rest is asked again later")
        sheet, plan, early = _check_against_sheet(rt, conn, sid, data, answer)
        structs.spend(len(plan.added))
    except InvalidUpdate as exc:
        log.info("refused an update from %s: %s", sid, exc)
        conn.owed = True
        socketio.server.emit("synthese:refused", {"reason": str(exc)}, to=sid, namespace=namespace_for(conn.atelier_id))
        return
    item = Pending(conn.atelier_id, data, conn.credential_id, sid, plan.claims, sheet=sheet, relayed=early)
    if not rt.pipeline.submit(item):
        return
    conn.in_flight += 1
    conn.foreign = 0
    with sheet.lock:
        sheet.pending[id(item)] = item
    if early:
        namespace = namespace_for(conn.atelier_id)
        rt.send_soon(namespace, item)
        if rt.roster.shared:
            item.token = next(_TOKENS)
            socketio.server.manager.publish_elsewhere("synthese:early", (data, item.token), namespace)


def _check_against_sheet(rt: Realtime, conn: Connection, sid: str, data: bytes, answer: bool = False):
    """Accept an update into its sheet's index: (the sheet, the plan, whether
    the room may see it before its commit). InvalidUpdate if refused."""
    try:
        return _accept_into(rt, conn, rt.store.cached(conn.atelier_id) or _load(rt, conn), data)
    except (Missing, Foreign):
        pass
    # Another process may have committed what it builds on: caught up, checked again.
    try:
        return _accept_into(rt, conn, _load(rt, conn), data)
    except Missing:
        # Or it raced the commit of its sender's previous update: asked again
        # once that is in (the server's sync step 1 starts where it stands).
        rt.pull_later(sid, 0.5)
        raise
    except Foreign:
        # Someone else's text the database lacks: a relay whose commit a
        # crash lost. Its writer's page sends it back when it reconnects;
        # this page is asked again after, less and less often. When both
        # wrote on each other's lost text, neither can send its own alone:
        # the second to answer sends both, its writer vouching for its part.
        if answer:
            vouchers = _vouchers(rt, conn)
            if vouchers:
                try:
                    return _accept_into(rt, conn, _load(rt, conn), data, vouchers)
                except Foreign:
                    pass
        conn.foreign += 1
        rt.pull_later(sid, min(30.0, 0.5 * 2 ** conn.foreign))
        raise


def _load(rt: Realtime, conn: Connection):
    with rt.app.app_context():
        return rt.store.sheet(conn.atelier_id)


def _vouchers(rt: Realtime, conn: Connection) -> list[tuple[int, dict]]:
    """The other writers of a room, here, who answered the server since they
    connected: (credential, the clocks they said they have)."""
    return [(c.credential_id, c.vouched) for c in list(rt.connections.values())
            if c.atelier_id == conn.atelier_id and c.credential_id != conn.credential_id and c.diffed
            and c.vouched and access.can(c.role, "sheet.write")]


def _accept_into(rt: Realtime, conn: Connection, sheet, data: bytes, vouchers=()):
    with sheet.lock:
        owners = sheet.index.owners
        vouched = {client: clock for credential, clocks in vouchers for client, clock in clocks.items()
                   if owners.get(client) == credential}
        plan = sheet.index.check(data, owner=conn.credential_id, vouched=vouched)
        taken = _announced_by_others(rt, conn, plan.claims)
        if taken:
            raise InvalidUpdate(f"client {taken} is someone else's (their presence says so)")
        # In the index before its commit: the sender's next update builds on it.
        sheet.index.add(plan)
        # A claim, and what follows it under the same client IDs, waits for its commit.
        early = not plan.claims and not (sheet.claiming and sheet.claiming & {a[0] for a in plan.added})
        sheet.claiming.update(plan.claims)
        return sheet, plan, early


def _announced_by_others(rt: Realtime, conn: Connection, claims: list[int]) -> int | None:
    """A client ID about to be claimed that another person's presence already announced.

    Presence comes before the first edit: someone who read a newcomer's
    client ID there must not write under it first.
    """
    for client_id in claims:
        owner = rt.presence.owner(namespace_for(conn.atelier_id), client_id)
        other = rt.connections.get(owner) if owner else None
        if other is not None and other.credential_id != conn.credential_id:
            return client_id
    return None


def _backlogged(sid: str, namespace: str) -> bool:
    """Whether a socket has not read what was sent to it yet."""
    return overrides.unread(socketio.server, sid, namespace)


def close_room(atelier_id: int) -> None:
    """Tell everyone in a removed atelier's room (in every process, through Redis) to leave.

    Their pages stop editing and say why; an update still sent is dropped,
    as the atelier's document is gone.
    """
    socketio.emit("synthese:removed", None, namespace=namespace_for(atelier_id))


#: A revocation looks again after this for sockets let in just before it.
REVOKE_RECHECK_AFTER = 0.5


def disconnect_credential(credential) -> None:
    """Close the live sockets of a revoked credential, in every process."""
    # A credential opens every atelier of its event.
    close_credentials([credential.id], [a.id for a in credential.event.ateliers])


def close_credentials(credential_ids: list[int], atelier_ids: list[int]) -> None:
    """Close the live sockets of credentials (revoked, or deleted with their
    atelier) in these ateliers, in every process.

    A message to every process (through Redis, when there are several),
    not a look at who is where: each closes its own sockets, whatever its
    clock says. Each socket is first told why (its page stops and says so),
    then disconnected by the server, which the stock client does not retry;
    connecting again with the same token is refused.
    """
    if credential_ids:
        socketio.emit("synthese:close-credentials", (list(credential_ids), list(atelier_ids)), namespace="/")


def _close_sockets(rt: Realtime, credential_ids: set, atelier_ids: set) -> None:
    for sid, conn in list(rt.connections.items()):
        if conn.credential_id in credential_ids and conn.atelier_id in atelier_ids:
            namespace = namespace_for(conn.atelier_id)
            socketio.server.emit("synthese:revoked", None, to=sid, namespace=namespace)
            socketio.server.disconnect(sid, namespace=namespace)


def _close_late_sockets(rt: Realtime, credential_ids: set, atelier_ids: set) -> None:
    """Again a little later: a socket let in just before the credential went
    (its connect handler read it) may have joined this process since."""
    socketio.sleep(REVOKE_RECHECK_AFTER)
    _close_sockets(rt, credential_ids, atelier_ids)


def publication_changed(atelier_id: int, public: bool, version: int | None) -> None:
    """Tell a sheet's room (every process) that it was published or unpublished:
    its pages show it at once (the stock client ignores the event)."""
    socketio.emit("synthese:publication", {"public": public, "version": version},
                  namespace=namespace_for(atelier_id))


def photos_changed(atelier_id: int) -> None:
    """Tell a sheet's room (every process) that a photo came or went: its
    pages and its wall fetch the list again (the stock client ignores it)."""
    socketio.emit("synthese:photos", {}, namespace=namespace_for(atelier_id))


def relay_edit(atelier_id: int, update: bytes, seq: int | None) -> None:
    """Send a committed server-side edit (a merge, a restore: log row ``seq``) to everyone in the room."""
    if update:
        socketio.emit("sync-update", (update, seq, seq), namespace=namespace_for(atelier_id))


def _send_here(namespace: str, items: list[Pending]) -> None:
    """Send updates to a room's sockets in this process (one message; the sender skipped when there is one)."""
    data = items[0].data if len(items) == 1 else merge_updates(*(i.data for i in items))
    senders = {item.sid for item in items}
    skip = senders.pop() if len(senders) == 1 else None
    socketio.server.emit("sync-update", data, namespace=namespace, skip_sid=skip, ignore_queue=True)


def _after_commit(rt: Realtime, appended: Appended) -> None:
    """A sheet's updates are committed: its room gets what it lacks, their senders hear they are stored."""
    try:
        relay_committed(rt, appended)
    finally:
        _settle(rt, appended.items, True)


#: Names of the updates sent to the other processes before their commit
#: (unique across processes: a random start).
_TOKENS = itertools.count(random.getrandbits(48) << 4)


def relay_committed(rt: Realtime, appended: Appended) -> None:
    """Send a room's committed updates where they have not been: to this
    process's room those that waited for their commit; to the other
    processes, the rows' place in the log (a process that misses a relay
    sees the gap) and which of their updates it was sent before, so that
    it reads from the database what it lacks."""
    namespace = namespace_for(appended.atelier_id)
    items = appended.items
    first, last = appended.first_seq, appended.first_seq + len(items) - 1
    cached = rt.store.cached(appended.atelier_id)
    # A sheet dropped from the cache meanwhile took its pending updates with
    # it: its room's newcomers may lack them.
    late = [item for item in items if not (item.relayed and item.sheet is cached)]
    if late:
        _send_here(namespace, late)
    rt.relayed_rows(appended.atelier_id, first, last)
    if rt.roster.shared:
        tokens = [item.token for item in items if item.token is not None]
        socketio.server.manager.publish_elsewhere(
            "synthese:committed", (first, last, tokens, len(tokens) == len(items)), namespace)


def _settle(rt: Realtime, items: list[Pending], stored: bool) -> None:
    """Updates committed (or dropped): their senders' pages say "Enregistré"
    once nothing they sent waits or was refused."""
    senders = {}
    for item in items:
        conn = rt.connections.get(item.sid) if item.sid else None
        if conn is None:
            continue
        conn.in_flight -= 1
        conn.owed = conn.owed or not stored
        senders[item.sid] = conn
    for sid, conn in senders.items():
        _say_saved(rt, sid, conn)


def _say_saved(rt: Realtime, sid: str, conn: Connection) -> None:
    """Tell a page how many of its sync-update messages are stored, if all of them are.

    The stock client ignores the event; the sheet page counts what it sends
    and says "Enregistré" when the count is reached.
    """
    if conn.in_flight == 0 and not conn.owed:
        socketio.server.manager.send_to(sid, "synthese:saved", conn.received, namespace_for(conn.atelier_id))
