"""Opening a sheet that has been edited for a long time: 100,000 accumulated updates.

The updates are keystrokes (one to three characters each, one in six a
deletion), as a busy plenary produces. The script measures the server's work when someone
opens the sheet: loading the document from the database into a fresh cache
and answering sync step 1 (the whole document as one update), in three
states of the log:

- as the server leaves it: folded into the snapshot every 500 updates;
- after a compaction that was interrupted long ago (the last 500 unfolded);
- never folded (100,000 rows to apply), the worst case.

    .venv/bin/python bench/open_sheet.py [--updates 100000] [--database-url URL]
"""
import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def typed_updates(n: int, rng: random.Random) -> list[bytes]:
    from pycrdt import Doc, Text

    doc = Doc()
    keys = ("question", "synthese", "discussion", "discussion")
    texts = {k: doc.get(k, type=Text) for k in keys}
    # ASCII only, so that lengths in characters are pycrdt's UTF-8 byte indices.
    sizes = dict.fromkeys(keys, 0)
    updates = []
    doc.observe(lambda event: updates.append(event.update))
    letters = "les tiers-lieux accueillent des services publics de proximite avec les habitants "
    while len(updates) < n:
        key = rng.choice(keys)
        text = texts[key]
        if sizes[key] > 50 and rng.random() < 1 / 6:
            start = rng.randrange(0, sizes[key] - 3)
            del text[start:start + 1]
            sizes[key] -= 1
            continue
        at = sizes[key] if rng.random() < 0.8 else rng.randrange(0, sizes[key] + 1)
        chunk = letters[rng.randrange(0, len(letters) - 3):][: rng.randint(1, 3)]
        text.insert(at, chunk)
        sizes[key] += len(chunk)
    return updates[:n]


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from synthese import ateliers, create_app, events

    from synthese.access import OPERATOR
    from synthese.documents import DocumentStore, Pending, current_store
    from synthese.extensions import db

    workdir = Path(tempfile.mkdtemp(prefix="synthese-open-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "SYNTHESE_DEMO": False})
    rng = random.Random(7)
    with app.app_context():
        upgrade()
        store = current_store()
        event = events.create_event(OPERATOR, "Plénière").obj
        start = time.perf_counter()
        updates = typed_updates(args.updates, rng)
        print(f"{len(updates)} typed updates generated in {time.perf_counter() - start:.1f} s", flush=True)

        def open_cold(atelier_id):
            # A fresh store: nothing cached, as in a process that never served this sheet.
            fresh = DocumentStore(db.engine)
            sheet = fresh.sheet(atelier_id)
            with sheet.lock:
                return sheet.doc.get_update(b"\x00")

        cases = {}
        for case in ("folded every 500", "last 500 unfolded", "never folded"):
            atelier = ateliers.create_atelier(OPERATOR, event, case).obj
            start = time.perf_counter()
            for i in range(0, len(updates), 500):
                store.append([Pending(atelier.id, u) for u in updates[i:i + 500]])
                last_batch = i + 500 >= len(updates)
                if case == "folded every 500" or (case == "last 500 unfolded" and not last_batch):
                    store.compact(atelier.id)
            cases[case] = atelier.id
            print(f"  stored ({case}) in {time.perf_counter() - start:.1f} s", flush=True)

        print(f"opening a sheet of {len(updates)} updates (server time, median of 5; "
              f"{url.split(':')[0]}):")
        for case, atelier_id in cases.items():
            ms, state = timed(lambda: open_cold(atelier_id), repeat=5 if case != "never folded" else 3)
            print(f"  {case:<22} {ms:8.1f} ms   document {len(state) / 1024:.0f} KiB", flush=True)
        warm = DocumentStore(db.engine)
        warm.sheet(cases["folded every 500"])

        def answer_sync():
            sheet = warm.sheet(cases["folded every 500"])
            with sheet.lock:
                return sheet.doc.get_update(b"\x00")

        ms, _ = timed(answer_sync, repeat=20)
        print(f"  {'already cached':<22} {ms:8.1f} ms   (a second person opening it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
