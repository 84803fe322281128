"""Fixtures: an app on a fresh migrated database, a live server, factories."""
import os
from contextlib import contextmanager, suppress
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
SYNTHESE = str(ROOT / ".venv" / "bin" / "synthese") if (ROOT / ".venv/bin/synthese").exists() else "synthese"

#: Services that must be present (CI): a missing one fails instead of skipping.
REQUIRED = {s.strip() for s in os.environ.get("SYNTHESE_TEST_REQUIRE", "").split(",") if s.strip()}


def need(service: str, available: bool, why: str) -> None:
    """Skip a test whose service is missing, or fail if CI requires it."""
    if available:
        return
    if service in REQUIRED:
        pytest.fail(f"{service} is required (SYNTHESE_TEST_REQUIRE) but {why}")
    pytest.skip(f"{service} not available: {why}")


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- databases -------------------------------------------------------------------

PG_SERVER = os.environ.get("SYNTHESE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_admin():
    import psycopg

    url = PG_SERVER.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(url, autocommit=True, connect_timeout=3)


def _pg_available() -> bool:
    try:
        _pg_admin().close()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh PostgreSQL database for this test run, dropped at the end."""
    need("postgres", _pg_available(), f"cannot connect to {PG_SERVER}")
    name = f"synthese_test_{os.getpid()}"
    with _pg_admin() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    yield PG_SERVER.rsplit("/", 1)[0] + "/" + name
    with _pg_admin() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def _pg_migrated(postgres_url):
    from flask_migrate import upgrade

    from synthese import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": postgres_url, "SECRET_KEY": "x", "SYNTHESE_DEMO": False})
    with app.app_context():
        upgrade()
    return postgres_url


# -- in-process app ------------------------------------------------------------


@pytest.fixture(scope="session")
def _sqlite_migrated(tmp_path_factory) -> Path:
    """An SQLite database migrated once (the migrations run for real); each
    test gets a copy (running them again for each took 0.16 s a test)."""
    import sqlite3

    from flask_migrate import upgrade

    from synthese import create_app
    from synthese.extensions import db

    path = tmp_path_factory.mktemp("sqlite-template") / "migrated.db"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "t",
                      "SYNTHESE_DEMO": False})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    with sqlite3.connect(path) as conn:  # everything into the main file: the copy needs no -wal
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def app(request, tmp_path):
    """The app on a freshly migrated database: SQLite, then PostgreSQL."""
    import shutil

    from sqlalchemy import text

    from synthese import create_app

    if request.param == "postgres":
        url = request.getfixturevalue("_pg_migrated")
    else:
        shutil.copyfile(request.getfixturevalue("_sqlite_migrated"), tmp_path / "test.db")
        url = f"sqlite:///{tmp_path / 'test.db'}"
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "test-secret",
            "SYNTHESE_DEMO": False,
            "SERVER_NAME": "synthese.test",
        }
    )
    from synthese.extensions import db

    with app.app_context():
        if request.param == "postgres":
            tables = ", ".join(t.name for t in db.metadata.sorted_tables)
            db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


# -- live server ---------------------------------------------------------------


class LiveServer:
    """``synthese serve`` in a process of its own, on a database of its own."""

    def __init__(self, workdir: Path, async_mode: str = "gevent", env: dict | None = None,
                 database_url: str | None = None):
        self.workdir = workdir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.async_mode = async_mode
        self.env = {
            **os.environ,
            "SYNTHESE_DATABASE_URL": database_url or f"sqlite:///{workdir / 'live.db'}",
            "SYNTHESE_SECRET_KEY": "live-test-secret",
            # Tests create many events from one address; tests/unit/test_ratelimit.py covers the limits.
            "SYNTHESE_RATE_LIMITS": "off",
            **(env or {}),
        }
        self.proc = None

    def start(self) -> "LiveServer":
        log = open(self.workdir / f"server-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [SYNTHESE, "serve", "--port", str(self.port), "--no-demo", "--async-mode", self.async_mode],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log()}")
            try:
                if requests.get(self.base_url + "/healthz", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log()}")

    def log(self) -> str:
        return (self.workdir / f"server-{self.port}.log").read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no chance to flush or clean up anything."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    # API helpers, through the real HTTP API.

    def post(self, path, json, token=None, expect=201):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = requests.post(self.base_url + path, json=json, headers=headers, timeout=10)
        assert response.status_code == expect, response.text
        return response.json()

    def patch(self, path, json, token) -> dict:
        response = requests.patch(self.base_url + path, json=json, timeout=10,
                                  headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        return response.json()

    def get(self, path, token=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(self.base_url + path, headers=headers, timeout=10)

    def new_atelier(self, title="Emergence", **extra) -> dict:
        """An event with one atelier; returns ids and every token."""
        event = self.post("/api/events", {"title": "Forum de l'innovation publique"})
        atelier = self.post(
            f"/api/events/{event['slug']}/ateliers",
            {"title": title, "session": "Session 1", "number": 2, **extra},
            token=event["organiser_token"],
        )
        participant = self.post(
            f"/api/events/{event['slug']}/participants",
            {"join_code": event["join_code"], "name": "Anna Szeremeta"},
        )
        return {
            "slug": event["slug"],
            "join_code": event["join_code"],
            "organiser": event["organiser_token"],
            "id": atelier["id"],
            "porteur": atelier["porteur_token"],
            "participant": participant["token"],
        }

    def revoke(self, room: dict, name: str = "Anna Szeremeta") -> dict:
        """The organiser of a new_atelier() room withdraws someone's access (its participant by default)."""
        listed = self.get(f"/api/events/{room['slug']}/members", token=room["organiser"]).json()
        member = next(m for m in listed if m["name"] == name)
        return self.post(f"/api/events/{room['slug']}/members/{member['id']}/revoke", {},
                         token=room["organiser"], expect=200)


@contextmanager
def processes(tmp_path: Path, count: int = 2, database_url: str | None = None, **env):
    """Several ``synthese serve`` processes on one database (a shared SQLite
    file by default), stopped on exit; pass SYNTHESE_REDIS_URL=... to link them."""
    database_url = database_url or f"sqlite:///{tmp_path / 'shared.db'}"
    if env.get("SYNTHESE_REDIS_URL"):
        # Each test starts on a fresh database, whose atelier ids an earlier
        # test's killed processes may have left presence entries for (they
        # age out after a minute).
        import redis

        with suppress(redis.RedisError):
            client = redis.Redis.from_url(env["SYNTHESE_REDIS_URL"], socket_timeout=1)
            stale = list(client.scan_iter("synthese:people:*")) + list(client.scan_iter("synthese:aw:*"))
            if stale:
                client.delete(*stale)
    servers = []
    try:
        for i in range(count):
            workdir = tmp_path / f"process-{i}"
            workdir.mkdir()
            servers.append(LiveServer(workdir, env=env, database_url=database_url).start())
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("live")).start()
    yield server
    server.stop()


# -- factories -------------------------------------------------------------------


@pytest.fixture
def make_event(app):
    """Create an event (with its organiser token) through the domain."""
    from synthese import events
    from synthese.access import OPERATOR

    def make(title="Forum de l'innovation publique", **kw):
        return events.create_event(OPERATOR, title, **kw)

    return make


@pytest.fixture
def make_atelier(make_event):
    """Create an atelier in a new (or given) event; returns (atelier, porteur token, organiser token)."""
    from synthese import ateliers
    from synthese.access import OPERATOR

    def make(event=None, title="Données ouvertes et services publics", session="Session 2", **kw):
        organiser = None
        if event is None:
            created = make_event()
            event, organiser = created.obj, created.token
        made = ateliers.create_atelier(OPERATOR, event, title, session=session, **kw)
        return made.obj, made.token, organiser

    return make


def sheet_update(**texts) -> bytes:
    """A Yjs update writing the given sections, as a browser would send it."""
    from pycrdt import Doc, Text

    doc = Doc()
    for key, value in texts.items():
        doc.get(key, type=Text).insert(0, value)
    return doc.get_update()
