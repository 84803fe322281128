"""Export benchmark: an event with 100 sheets of realistic length.

Each sheet is written the way a room writes it, as hundreds of small Yjs
updates (a few words each), in the shape of ../shared/examples/atelier-sheet.txt
(tests/fixtures/atelier-pad.txt, its discussion doubled and shuffled: about
5 KiB of text, the reference sheet holds 7 KiB). The script then times, with peak Python memory
(tracemalloc) and the process's peak RSS:

- the whole event as one markdown document (drafts), from the update logs;
- the same after every log is compacted into its snapshot;
- the zip of one file per sheet with front matter;
- publishing all 100 sheets, then the published-versions export;
- importing the exported document into a new event.

    .venv/bin/python bench/export.py [--sheets 100] [--database-url URL]
"""
import argparse
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
#: A sheet as written in a pad, shaped like ../shared/examples/atelier-sheet.txt.
EXAMPLE = ROOT / "tests" / "fixtures" / "atelier-pad.txt"
SECTION_TITLES = ["Question", "Synthèse", "Porteur", "Participants", "Éléments importants de la discussion"]
KEYS = ["question", "synthese", "porteur", "participants", "discussion"]
NAMES = ["Anna Szeremeta", "Cécile Joly", "Emmanuelle Granados", "Jérémy Montagny", "Karim Benali",
         "Claire Dubois", "Thomas Nguyen", "Élodie Marchand", "Yannick Le Gall", "Susana Pereira"]


def example_fields() -> dict[str, str]:
    """The pad sheet, split into its sections."""
    fields, key = {k: [] for k in KEYS}, None
    for line in EXAMPLE.read_text().split("\n"):
        if line in SECTION_TITLES:
            key = KEYS[SECTION_TITLES.index(line)]
        elif key:
            fields[key].append(line)
    return {k: "\n".join(v).strip("\n") for k, v in fields.items()}


def sheet_text(rng: random.Random, base: dict[str, str]) -> dict[str, str]:
    """A sheet like the pad one: its discussion twice as long (the reference sheet
    holds 7 KiB), paragraphs shuffled, other participants."""
    paragraphs = base["discussion"].split("\n\n") * 2
    rng.shuffle(paragraphs)
    return {
        "question": base["question"],
        "synthese": base["synthese"],
        "porteur": rng.choice(NAMES) + ", Ville de Paris",
        "participants": "\n".join(rng.sample(NAMES, rng.randint(4, 9))) + "\n",
        "discussion": "\n\n".join(paragraphs),
    }


def typed_updates(fields: dict[str, str], rng: random.Random) -> list[bytes]:
    """The updates a browser sends while someone types this text, a few words at a time."""
    from pycrdt import Doc, Text

    doc = Doc()
    updates = []
    doc.observe(lambda event: updates.append(event.update))
    for key in KEYS:
        text = doc.get(key, type=Text)
        words = fields[key].split(" ")
        i = 0
        while i < len(words):
            n = rng.randint(2, 5)
            chunk = " ".join(words[i:i + n]) + (" " if i + n < len(words) else "")
            text += chunk
            i += n
    return updates


def measure(label: str, fn, again: bool = True):
    """Time ``fn``, then run it again under tracemalloc for its peak memory
    (tracing slows Python down, so it does not run while timing)."""
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    tracemalloc.start()
    if again:
        fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # pandoc runs as a child
    memory = f"{peak / 2**20:7.1f} MiB" if again else "    (not run twice)"
    print(f"  {label:<44} {elapsed * 1000:9.1f} ms   peak Python memory {memory}   "
          f"process peak RSS {rss:7.1f} MiB   children's peak RSS {children:6.1f} MiB", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sheets", type=int, default=100)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from synthese import ateliers, events, exporting, importing, publication

    from synthese.access import OPERATOR
    from synthese import create_app
    from synthese.documents import Pending, current_store

    workdir = Path(tempfile.mkdtemp(prefix="synthese-export-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "SYNTHESE_DEMO": False,
                      "SERVER_NAME": "bench.local"})
    rng = random.Random(args.seed)
    base = example_fields()
    with app.app_context():
        upgrade()
        store = current_store()
        event = events.create_event(OPERATOR, "Forum de l'innovation publique (banc d'essai)",
                                    sessions=[{"label": f"Session {i}", "time": f"{8 + 2 * i}h"} for i in range(1, 5)],
                                    place="Lyon", description="Un forum de **cent** ateliers.").obj
        total_updates = total_chars = 0
        start = time.perf_counter()
        for n in range(args.sheets):
            fields = sheet_text(rng, base)
            atelier = ateliers.create_atelier(OPERATOR, event, f"Thème {n + 1}", session=f"Session {n % 4 + 1}",
                                              number=n // 4 + 1).obj
            updates = typed_updates(fields, rng)
            store.append([Pending(atelier.id, u) for u in updates])
            total_updates += len(updates)
            total_chars += sum(len(v) for v in fields.values())
        print(f"{args.sheets} sheets, {total_updates} updates ({total_updates // args.sheets} per sheet), "
              f"{total_chars / args.sheets / 1024:.1f} KiB of text per sheet, written in "
              f"{time.perf_counter() - start:.1f} s  [{app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}]",
              flush=True)

        text = measure("export.md, drafts, from the update logs", lambda: exporting.event_document(OPERATOR, event))
        print("  (the server folds a log into its snapshot every 500 updates; here none was folded yet)")
        for atelier in event.ateliers:
            store.compact(atelier.id)
        again = measure("export.md, drafts, after compaction", lambda: exporting.event_document(OPERATOR, event))
        assert again == text
        data = measure("export.zip, drafts", lambda: exporting.event_zip(OPERATOR, event))
        documents = {fmt: measure(f"export.{fmt}, drafts", lambda fmt=fmt: exporting.event_proceedings(OPERATOR, event, fmt))
                     for fmt in ("odt", "docx", "pdf")}
        print("  " + ", ".join(f"{fmt} {len(d) / 2**20:.2f} MiB" for fmt, d in documents.items()), flush=True)
        measure("publish all sheets", lambda: [publication.publish(OPERATOR, a) for a in event.ateliers], again=False)
        published = measure("export.md, published versions", lambda: exporting.event_document(OPERATOR, event, "published"))
        assert published == text
        copy = events.create_event(OPERATOR, "Copie", place=event.place, description=event.description,
                                   sessions=[{"label": s.label, "time": s.time} for s in event.sessions]).obj
        report = measure("import of the export.md into a new event", lambda: importing.import_markdown(OPERATOR, copy, text),
                         again=False)
        assert len(report.created) == args.sheets and report.problems == []
        print(f"export.md: {len(text.encode()) / 2**20:.2f} MiB; export.zip: {len(data) / 2**20:.2f} MiB; "
              f"export -> import -> export identical: {exporting.event_document(OPERATOR, copy).split(chr(10), 1)[1] == text.split(chr(10), 1)[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
