"""The catalogs are complete: every message of the code and the templates,
extracted as pybabel would (babel.cfg), has its translation.

Pages are written in French (their English is in the ``en`` catalog); the
domain's refusals and the import reports in English (their French is in
the ``fr`` catalog)."""
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
#: keyword -> which argument is the message; the English ones are the domain's.
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "DomainError": (2,), "Line": (1,)}
ENGLISH = {"DomainError", "Line"}


def extracted() -> dict[str, set]:
    found = {"fr": set(), "en": set()}
    method_map = [("synthese/**.py", "python"), ("templates/**.html", "jinja2")]
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, keywords=KEYWORDS, comment_tags=(), strip_comment_tags=True):
        found["en" if _is_english(message) else "fr"].add(message)
    return found


def _is_english(message) -> bool:
    return message in _ENGLISH


def catalog(lang: str) -> dict:
    with (ROOT / f"synthese/translations/{lang}/LC_MESSAGES/messages.po").open("rb") as f:
        return {m.id: m.string for m in read_po(f) if m.id}


# Which messages are English is told by the keyword that marks them.
_ENGLISH = {message for _f, _l, message, _c, _x in extract_from_dir(
    str(ROOT), [("synthese/**.py", "python")], keywords={k: KEYWORDS[k] for k in ENGLISH},
    comment_tags=(), strip_comment_tags=True)}


@pytest.mark.parametrize("written_in, catalog_lang", [("fr", "en"), ("en", "fr")])
def test_every_message_has_its_translation(written_in, catalog_lang):
    translations = catalog(catalog_lang)
    missing = sorted(str(m) for m in extracted()[written_in] if not translations.get(m))
    assert missing == []


def test_the_catalogs_hold_no_message_that_is_gone():
    found = extracted()
    every = found["fr"] | found["en"]
    assert sorted(str(m) for m in set(catalog("en")) | set(catalog("fr")) if m not in every) == []
