"""Compactions and checkpoints at once, under gevent, on SQLite: does the process survive?

    .venv/bin/python bench/crash_compactor.py [--runs 3] [--updates 4000] [--shared-pool]

Writers append to six sheets in the event loop while compactions (every 20
updates) and checkpoints (continuously) run in native threads, as the
server's pipeline does. By default they go through the store's own
database thread (synthese.database.DatabaseThread). ``--shared-pool``
runs them as the server did before: in gevent's shared thread pool, where
several threads used the store's one compacting sqlite3 connection at the
same time. Each run is a process of its own with PYTHONFAULTHANDLER=1;
prints its exit status (139: SIGSEGV) and a summary.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(database: str, updates: int, shared_pool: bool) -> None:
    from gevent import monkey

    monkey.patch_all()
    import gevent
    from flask_migrate import upgrade
    from pycrdt import Doc, Text

    sys.path.insert(0, str(ROOT))
    from synthese import ateliers, events
    from synthese.access import OPERATOR
    from synthese.app import create_app
    from synthese.documents import DocumentStore, Pending
    from synthese.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "TESTING": True})
    with app.app_context():
        upgrade()
        event = events.create_event(OPERATOR, "Forum").obj
        ids = [ateliers.create_atelier(OPERATOR, event, f"Atelier {i}").obj.id for i in range(6)]
        store = DocumentStore(db.engine, compact_after=20)
        if shared_pool:
            pool = gevent.get_hub().threadpool
            compact = lambda atelier_id: pool.apply(store._compact, (atelier_id,))  # noqa: E731
            checkpoint = lambda: pool.apply(store._checkpoint)  # noqa: E731
        else:
            compact, checkpoint = store.compact, store.checkpoint

        def writer(atelier_id):
            doc = Doc()
            text = doc.get("synthese", type=Text)
            for n in range(updates):
                before = doc.get_state()
                text += "x"
                store.append([Pending(atelier_id, doc.get_update(before))])
                if n % 20 == 0:
                    gevent.spawn(compact, atelier_id)
                gevent.sleep(0)

        def checkpoints():
            while True:
                checkpoint()
                gevent.sleep(0.001)

        gevent.spawn(checkpoints)
        gevent.joinall([gevent.spawn(writer, a) for a in ids])
        assert all(store.fields(a)["synthese"] == "x" * updates for a in ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--updates", type=int, default=4000)
    parser.add_argument("--shared-pool", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.updates, args.shared_pool)
    crashed = 0
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.monotonic()
            cmd = [sys.executable, __file__, "--child", str(Path(tmp) / "crash.db"), "--updates", str(args.updates)]
            if args.shared_pool:
                cmd.append("--shared-pool")
            proc = subprocess.run(cmd, env={**os.environ, "PYTHONFAULTHANDLER": "1"},
                                  capture_output=True, text=True)
            crashed += proc.returncode != 0
            print(f"run {run + 1}: exit {proc.returncode} after {time.monotonic() - started:.1f} s")
            if proc.returncode != 0:
                print("\n".join(proc.stderr.splitlines()[-12:]))
    print(f"{crashed} of {args.runs} runs crashed ({'shared pool' if args.shared_pool else 'database thread'})")
    sys.exit(1 if crashed else 0)


if __name__ == "__main__":
    main()
