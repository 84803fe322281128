"""The themes of an event, on a fixture of 24 sheets written on four topics
(tests/fixtures/forum-themes.md; forum-themes.topics.json says which)."""
import json
from pathlib import Path

from synthese import themes
from synthese.markdown import parse, parse_title

FIXTURES = Path(__file__).parent.parent / "fixtures"


def fixture_sheets():
    parsed = parse((FIXTURES / "forum-themes.md").read_text())
    topics = json.loads((FIXTURES / "forum-themes.topics.json").read_text())
    topics.pop("_")
    topic_of = {title: topic for topic, titles in topics.items() for title in titles}
    sheets = [themes.Sheet(n, s.title, s.fields) for n, s in enumerate(parsed.sheets)]
    return sheets, {s.id: topic_of[parse_title(s.title)[1]] for s in sheets}


def adjusted_rand(found, truth) -> float:
    from sklearn.metrics import adjusted_rand_score

    grouped = {sheet_id: n for n, theme in enumerate(found) for sheet_id, _ in theme.ateliers}
    ids = sorted(truth)
    return adjusted_rand_score([truth[i] for i in ids], [grouped.get(i, -1 - i) for i in ids])


def test_the_themes_find_the_topics_again():
    sheets, truth = fixture_sheets()
    assert len(sheets) == 24 and len(set(truth.values())) == 4
    found = themes.themes(sheets)
    # Agreement of the grouping with the topics the sheets were written on
    # (1: the same grouping; 0: chance). Measured 0.89: five themes, écologie split in two.
    assert adjusted_rand(found, truth) >= 0.75
    for theme in found:
        assert len(theme.ateliers) >= 2 and theme.label and theme.label[0].isupper() and len(theme.terms) >= 3
        # Each theme mostly gathers one topic.
        topics = [truth[sheet_id] for sheet_id, _ in theme.ateliers]
        assert max(topics.count(t) for t in topics) / len(topics) >= 0.75, (theme.label, topics)
        # The sentence shown is the sheet's own.
        for sheet_id, sentence in theme.ateliers:
            text = " ".join(sheets[sheet_id].fields.values())
            assert sentence in " ".join(text.split("\n")) or sentence in text
    labels = {t.label for t in found}
    assert "Participation" in labels and "Transition écologique" in labels


def test_few_or_empty_sheets_have_no_theme():
    assert themes.themes([]) == []
    assert themes.themes([themes.Sheet(i, f"Atelier {i} - Vide", {}) for i in range(10)]) == []
    sheets, _ = fixture_sheets()
    assert themes.themes(sheets[:3]) == []


def test_the_themes_do_not_depend_on_the_order_of_the_sheets():
    sheets, truth = fixture_sheets()
    again = themes.themes(list(reversed(sheets)))
    assert adjusted_rand(again, truth) >= 0.75
    assert themes.themes(sheets) == themes.themes(sheets)
