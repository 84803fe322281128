"""Themes and search over an event of 100 sheets.

The 24 sheets of tests/fixtures/forum-themes.md (four topics), each taken
four times over with its paragraphs and participants shuffled, plus four
more: 100 sheets of 1.5 KiB of text each, imported into a fresh database.
The script prints:

- the themes' time for the 100 sheets (first computation, then cached),
  and how well they find the four topics again (adjusted Rand index);
- search latency over the 100 sheets: the first search (which indexes
  them), then p50 / p95 of 200 searches of one to three words, on the live
  sheets (organiser) and on the published versions (anyone);
- the same first search after one sheet changed (re-indexes that sheet).

    .venv/bin/python bench/themes_search.py [--database-url URL]
"""
import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FIXTURE = ROOT / "tests" / "fixtures" / "forum-themes.md"
TOPICS = ROOT / "tests" / "fixtures" / "forum-themes.topics.json"
QUERIES = ["élus", "habitants participation", "données personnelles", "rénovation énergétique", "télétravail",
           "collectivités", "vélo", "formation des agents", "logiciel libre", "cantines bio", "climat",
           "recrutement", "concertation des habitants", "usagers en ligne", "biodiversité communale"]


def sheets_markdown(rng: random.Random) -> tuple[str, dict[str, str]]:
    from synthese.markdown import parse, parse_title, sheet_markdown

    topics = json.loads(TOPICS.read_text())
    topics.pop("_")
    topic_of = {title: topic for topic, titles in topics.items() for title in titles}
    parsed = parse(FIXTURE.read_text()).sheets
    out, truth = [], {}
    for n in range(100):
        sheet = parsed[n % len(parsed)]
        theme = parse_title(sheet.title)[1]
        fields = dict(sheet.fields)
        paragraphs = fields["discussion"].split(". ")
        rng.shuffle(paragraphs)
        fields["discussion"] = ". ".join(paragraphs)
        title = f"Atelier {n // 4 + 1} - {theme} ({n // len(parsed) + 1}) - Session {n % 4 + 1}"
        truth[title] = topic_of[theme]
        out.append(sheet_markdown(title, fields))
    return "\n".join(out), truth


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()

    from flask_migrate import upgrade
    from sklearn.metrics import adjusted_rand_score

    from synthese import create_app, events, exporting, importing, publication, search
    from synthese.access import OPERATOR, PUBLIC_ASKING
    from synthese.documents import Pending, current_store
    from tests.conftest import sheet_update

    workdir = Path(tempfile.mkdtemp(prefix="synthese-themes-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "SYNTHESE_DEMO": False,
                      "SERVER_NAME": "bench.local"})
    rng = random.Random(1)
    with app.app_context():
        upgrade()
        event = events.create_event(OPERATOR, "Forum (banc d'essai)").obj
        text, truth = sheets_markdown(rng)
        report = importing.import_markdown(OPERATOR, event, text)
        assert len(report.created) == 100 and not report.problems, report.problems
        print(f"100 sheets, {len(text.encode()) / 100 / 1024:.1f} KiB of markdown each  "
              f"[{url.split(':')[0]}]")

        start = time.perf_counter()
        found = exporting.event_themes(OPERATOR, event)
        first = time.perf_counter() - start
        start = time.perf_counter()
        exporting.event_themes(OPERATOR, event)
        cached = time.perf_counter() - start
        title_of = {a.id: exporting.full_title(a) for a in event.ateliers}
        grouped = {i: n for n, t in enumerate(found) for i, _ in t.ateliers}
        ids = sorted(title_of)
        ari = adjusted_rand_score([truth[title_of[i]] for i in ids], [grouped.get(i, -1 - i) for i in ids])
        purity = sum(max([truth[title_of[i]] for i, _ in t.ateliers].count(topic) for topic in set(truth.values()))
                     for t in found) / max(1, sum(len(t.ateliers) for t in found))
        print(f"themes: {len(found)} in {first * 1000:.0f} ms (again, unchanged: {cached * 1000:.0f} ms); "
              f"against the four topics: adjusted Rand index {ari:.2f}, purity {purity:.2f} "
              f"(share of each theme's sheets written on its main topic)")
        for theme in found:
            print(f"  {theme.label} ({len(theme.ateliers)} ateliers): {', '.join(theme.terms)}")

        for atelier in event.ateliers:
            publication.publish(OPERATOR, atelier)
        for who, name in ((OPERATOR, "live sheets (organiser)"), (PUBLIC_ASKING, "published versions (anyone)")):
            start = time.perf_counter()
            search.search(who, event, "élus")
            indexing = time.perf_counter() - start
            times = []
            for n in range(200):
                query = QUERIES[n % len(QUERIES)]
                start = time.perf_counter()
                hits = search.search(who, event, query)
                times.append(time.perf_counter() - start)
            print(f"search, {name}: first (indexes 100 sheets) {indexing * 1000:.0f} ms; then "
                  f"p50 {percentile(times, 0.5) * 1000:.1f} ms, p95 {percentile(times, 0.95) * 1000:.1f} ms "
                  f"(last query {len(hits)} hits)")
        atelier = event.ateliers[0]
        current_store().append([Pending(atelier.id, sheet_update(discussion=" Un ajout."))])
        start = time.perf_counter()
        search.search(OPERATOR, event, "ajout")
        print(f"search after one sheet changed (re-indexes it): {(time.perf_counter() - start) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
