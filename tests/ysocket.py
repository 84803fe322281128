"""A y-socket.io client in Python (pycrdt + python-socketio) for live tests.

It speaks the protocol the way the stock npm client does: sync step 1 both
ways on connect, every local transaction sent as ``sync-update``, awareness
as y-protocols messages.
"""
import functools
import threading
import time

import engineio
import socketio
from pycrdt import Doc, Text

from synthese.realtime.awareness import Entry, decode, encode
from synthese.yjs import decode_state_vector
from synthese.sheets import SECTION_KEYS


class _InOrderEngineIO(engineio.Client):
    """python-socketio's client handles each message in a thread of its own,
    which can separate a binary packet from its attachment under load;
    handle messages in arrival order instead (our handlers never block)."""

    def _trigger_event(self, event, *args, **kwargs):
        kwargs["run_async"] = False
        return super()._trigger_event(event, *args, **kwargs)


    def disconnect(self, *args, **kwargs):
        # websocket-client's close() waits up to 3 s for the close frame that
        # our own read loop consumes: do not wait for it.
        ws = getattr(self, "ws", None)
        if ws is not None:
            ws.close = functools.partial(ws.close, timeout=0.05)
        return super().disconnect(*args, **kwargs)


class _Client(socketio.Client):
    def _engineio_client_class(self):
        return _InOrderEngineIO


class YClient:
    def __init__(self, base_url: str, atelier_id: int, token: str | None = None, name: str = "client"):
        self.base_url = base_url
        self.namespace = f"/yjs|atelier-{atelier_id}"
        self.token = token
        self.name = name
        self.doc = Doc()
        self.texts = {key: self.doc.get(key, type=Text) for key in SECTION_KEYS}
        self.lock = threading.RLock()
        self._remote = False
        self.presence: dict[int, str] = {}
        self.received_updates = 0
        #: Why the server refused this client's updates ("synthese:refused").
        self.refusals: list[str] = []
        #: Whether the server closed this client's socket ("synthese:revoked" / disconnect).
        self.revoked = False
        self.sio = None
        #: This connection's sync-update messages, and how many of them the
        #: server last said it stored ("synthese:saved"), as the sheet page counts.
        self.sent = 0
        self.stored = None
        self.doc.observe(self._on_local_transaction)

    # -- connection --------------------------------------------------------

    def connect(self, timeout: float = 5, headers: dict | None = None) -> "YClient":
        self.sio = _Client(reconnection=False)
        ns = self.namespace
        self.sio.on("sync-step-1", self._answer_step_1, namespace=ns)
        self.sio.on("sync-update", self._on_relayed, namespace=ns)
        self.sio.on("awareness-update", self._on_awareness, namespace=ns)
        self.sio.on("synthese:refused", lambda why: self.refusals.append(why["reason"]), namespace=ns)
        self.sio.on("synthese:revoked", lambda *_: setattr(self, "revoked", True), namespace=ns)
        self.sio.on("synthese:saved", lambda n: setattr(self, "stored", n), namespace=ns)
        self.sent, self.stored = 0, None
        auth = {"token": self.token} if self.token else None
        self.sio.connect(self.base_url, namespaces=[ns], transports=["websocket"], auth=auth,
                         headers=headers or {}, wait_timeout=timeout)
        with self.lock:
            sv = self.doc.get_state()
        diff = self.sio.call("sync-step-1", sv, namespace=ns, timeout=timeout)
        self._apply_remote(diff)
        return self

    def resync_every(self, interval: float) -> None:
        """Re-run sync step 1 periodically, as the stock client's ``resyncInterval`` does."""
        sio = self.sio
        self.resyncing = True

        def loop():
            # Until this connection ends (a reconnection starts its own loop).
            while self.sio is sio and sio is not None and self.resyncing:
                time.sleep(interval)
                try:
                    with self.lock:
                        sv = self.doc.get_state()
                    self._apply_remote(self.sio.call("sync-step-1", sv, namespace=self.namespace, timeout=5))
                except Exception:
                    pass  # disconnected or timed out: the next round tries again

        threading.Thread(target=loop, daemon=True).start()

    def stop_resync(self) -> None:
        """From now on, this client learns of others' edits by relays alone."""
        self.resyncing = False

    def disconnect(self) -> None:
        if self.sio is not None:
            self.sio.disconnect()
            self.sio = None

    @property
    def connected(self) -> bool:
        return self.sio is not None and self.sio.connected

    # -- document ----------------------------------------------------------

    def text(self, key: str = "synthese") -> str:
        with self.lock:
            return str(self.texts[key])

    def append(self, key: str, text: str) -> None:
        with self.lock:
            self.texts[key] += text

    def insert(self, key: str, index: int, text: str) -> None:
        """Insert at a UTF-8 byte index of pycrdt (see NOTES: ASCII keeps it simple)."""
        with self.lock:
            self.texts[key].insert(index, text)

    def fields(self) -> dict[str, str]:
        with self.lock:
            return {key: str(text) for key, text in self.texts.items()}

    def saved_state(self, timeout: float = 5) -> bytes:
        return self.sio.call("synthese:saved-state", None, namespace=self.namespace, timeout=timeout)

    def wait_saved(self, timeout: float = 10) -> None:
        """Wait until the server reports storing all of this client's state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = decode_state_vector(self.saved_state())
            with self.lock:
                local = decode_state_vector(self.doc.get_state())
            if all(server.get(c, 0) >= k for c, k in local.items()):
                return
            time.sleep(0.05)
        raise TimeoutError(f"{self.name}: server never stored our state")

    def wait_stored(self, timeout: float = 10) -> None:
        """Wait until the server says it committed every update this connection
        sent, the way the sheet page decides to say "Enregistré"."""
        wait_until(lambda: self.stored is not None and self.stored >= self.sent, timeout,
                   message=f"{self.name}: the server to say it stored our {self.sent} update(s)")

    def send_raw(self, event: str, data) -> None:
        self.sio.emit(event, data, namespace=self.namespace)

    def _on_local_transaction(self, event) -> None:
        if self._remote:
            return
        if self.connected:
            try:
                self.sio.emit("sync-update", event.update, namespace=self.namespace)
                self.sent += 1
            except socketio.exceptions.BadNamespaceError:
                pass  # offline: sent with the next sync step

    def _answer_step_1(self, state_vector):
        with self.lock:
            return self.doc.get_update(bytes(state_vector))

    #: A flaky network, for property tests: a random.Random, the share of relayed
    #: updates lost, and the longest delay (s) before one is applied.
    network = None
    drop_rate = 0.0
    max_delay = 0.0

    def _on_relayed(self, update, *_place) -> None:
        # The server adds the relay's place in the sheet's log; the stock client ignores it.
        if self.network is None:
            return self._apply_remote(update)
        if self.network.random() < self.drop_rate:
            return  # lost: the periodic resync must heal it
        threading.Timer(self.network.random() * self.max_delay, self._apply_remote, (update,)).start()

    def _apply_remote(self, update) -> None:
        if not update:
            return
        with self.lock:
            self._remote = True
            try:
                self.doc.apply_update(bytes(update))
            finally:
                self._remote = False
            self.received_updates += 1

    # -- awareness ---------------------------------------------------------

    def announce(self, client_id: int, clock: int, state: str) -> None:
        self.send_raw("awareness-update", encode([Entry(client_id, clock, state)]))

    def _on_awareness(self, data) -> None:
        for entry in decode(bytes(data), 1 << 20):
            with self.lock:
                if entry.gone:
                    self.presence.pop(entry.client_id, None)
                else:
                    self.presence[entry.client_id] = entry.state


def write_concurrently(clients, work, saved_timeout: float = 10) -> None:
    """Run ``work(i, client)`` for every client at once; return once all are stored."""
    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.wait_saved(timeout=saved_timeout)
        # Deletions too: a state vector does not show them.
        c.wait_stored(timeout=saved_timeout)


def wait_until(predicate, timeout: float = 10, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")
