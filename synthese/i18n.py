"""French first, English available: Flask-Babel and the gettext catalogs in
synthese/translations.

Pages and views are written in French; the ``en`` catalog gives their
English. The domain's refusals (DomainError) and the import reports are
written in English, as the API speaks English; the ``fr`` catalog gives
their French for the pages. The language comes from ``?lang=``, then a
remembered cookie, then the browser's preference; times are shown in the
time zone of the event the page is about (``show_times_in``), else the
deployment's (``SYNTHESE_TIMEZONE``, Europe/Paris by default).

The catalogs are compiled (.po -> .mo) when the app starts, if needed:
a fresh clone needs no extra step. tests/unit/test_i18n.py extracts every
message of the code and templates and checks that both catalogs hold it.
"""
import logging
from pathlib import Path

from babel.dates import format_skeleton
from flask import g, request
from flask_babel import (
    Babel,
    format_time,
    get_locale,
    gettext,
    ngettext,
    refresh,
    to_user_timezone,
)

log = logging.getLogger(__name__)

LANGS = ("fr", "en")
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

babel = Babel()


def N_(text: str) -> str:
    """Marks text for the catalogs, to be translated where it is shown."""
    return text


def current_lang() -> str:
    return str(get_locale() or "fr")


def _select_locale() -> str:
    asked = request.args.get("lang") or request.cookies.get("lang")
    return asked if asked in LANGS else (request.accept_languages.best_match(LANGS) or "fr")


def show_times_in(zone: str) -> None:
    """This request's times are shown in ``zone`` (the event's)."""
    g.timezone = zone
    refresh()  # Flask-Babel caches the zone it was first asked for


def _select_timezone() -> str | None:
    return g.get("timezone")  # None: BABEL_DEFAULT_TIMEZONE


def when(moment) -> str:
    """A stored (UTC) moment in words, in the page's zone: « 1 décembre 2026 à 14:05 »."""
    day = format_skeleton("yMMMMd", to_user_timezone(moment), locale=get_locale(), fuzzy=True)
    return gettext("%(date)s à %(time)s", date=day, time=format_time(moment, "short"))


def people_count(n: int) -> str:
    if not n:
        return gettext("personne pour l’instant")
    return ngettext("%(num)d personne présente", "%(num)d personnes présentes", n)


def translated(line) -> str:
    """An import report's line (markdown.Line; plain text is already translated) in the reader's language."""
    if isinstance(line, str):
        return line
    return line.where + (translated(line.about) if line.about else "") + gettext(line.text) % line.args


def compile_catalogs(root: Path = TRANSLATIONS) -> None:
    """Compile each .po whose .mo is missing or older (a fresh clone, an edit)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in root.glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        try:
            with po.open("rb") as source:
                catalog = read_po(source, locale=po.parent.parent.name)
            with mo.open("wb") as target:
                write_mo(target, catalog)
        except OSError:
            log.exception("could not compile %s (a read-only install?)", po)


def init_app(app) -> None:
    compile_catalogs()
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "fr")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config.get("SYNTHESE_TIMEZONE", "Europe/Paris")
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=_select_timezone)
    app.jinja_env.globals.update(current_lang=current_lang, people_count=people_count, translated=translated)
    app.jinja_env.filters["when"] = when

    @app.before_request
    def forget_language():
        # Flask-Babel keeps the locale on ``g``, which outlives one request
        # when an app context was pushed around several (tests, the CLI).
        g.pop("timezone", None)
        refresh()

    @app.after_request
    def remember_language(response):
        asked = request.args.get("lang")
        if asked in LANGS:
            response.set_cookie("lang", asked, max_age=365 * 24 * 3600, samesite="Lax")
        return response
