"""An event's proceedings: its sheets as markdown, one document or a zip.

Either the current drafts (what is written now) or the published versions
only (what the porteurs chose to publish; unpublished sheets are left out).
"""
import io
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from babel.dates import format_date
from sqlalchemy import func, select

from . import access, markdown, proceedings, themes
from . import photos as photos_module
from .database import DatabaseThread
from .documents import current_store
from .events import DomainError, full_title, ordered_ateliers, slugify
from .extensions import db
from .models import Atelier, Event, EventSession, SheetDocument, SheetVersion
from .publication import latest, public_version

DRAFT, PUBLISHED = "draft", "published"
SOURCES = (DRAFT, PUBLISHED)


@dataclass
class ExportedSheet:
    atelier: Atelier
    title: str
    fields: dict[str, str]
    version: int | None
    published_at: datetime | None
    #: The published version's photo ids, or None: the sheet's photos now.
    photo_ids: list[int] | None = None

    def photos(self) -> list:
        """Its photos of the boards (loaded when asked: they weigh)."""
        if self.photo_ids is None:
            return photos_module.photos(self.atelier)
        return photos_module.in_version_ids(self.photo_ids)


def sheets(event: Event, source: str = DRAFT, only: set[int] | None = None,
           texts: bool = True) -> list[ExportedSheet]:
    """The event's sheets in programme order (session, then atelier number);
    ``only``: these ateliers alone; ``texts=False``: titles without reading
    the live documents (their fields left empty)."""
    if source not in SOURCES:
        raise ValueError(f"unknown export source {source!r}")
    found = []
    store = current_store()
    for atelier in ordered_ateliers(event, only):
        if source == PUBLISHED:
            version = public_version(atelier)
            if version is not None:
                found.append(ExportedSheet(atelier, version.title, version.fields, version.number,
                                           version.published_at, list(version.photos or [])))
        else:
            last = latest(atelier)
            found.append(ExportedSheet(atelier, full_title(atelier), store.fields(atelier.id) if texts else {},
                                       None, last.published_at if last else None))
    return found


def stamps(event: Event, source: str = DRAFT) -> dict[int, int]:
    """Each atelier's stamp: its log head (drafts), or its public version's
    number (0: none). Whatever changes a sheet's text or photos as ``sheets``
    reads them moves it; one query, no document read."""
    if source == DRAFT:
        rows = db.session.execute(
            select(Atelier.id, SheetDocument.head_seq)
            .outerjoin(SheetDocument, SheetDocument.atelier_id == Atelier.id)
            .where(Atelier.event_id == event.id)).all()
        return {atelier_id: head or 0 for atelier_id, head in rows}
    # One query (public_version() would load every version of every sheet).
    rows = db.session.execute(
        select(Atelier.id, Atelier.public, func.max(SheetVersion.number))
        .outerjoin(SheetVersion, SheetVersion.atelier_id == Atelier.id)
        .where(Atelier.event_id == event.id).group_by(Atelier.id, Atelier.public)).all()
    return {atelier_id: (number or 0) if public else 0 for atelier_id, public, number in rows}


def sheet_document(sheet: ExportedSheet, lang: str = "fr") -> str:
    return markdown.sheet_markdown(sheet.title, sheet.fields, lang=lang)


def event_dates(event: Event, lang: str = "fr") -> str:
    """« 3 décembre 2026 », or « 3 décembre 2026 – 4 décembre 2026 »."""
    days = [d for d in (event.starts_on, event.ends_on) if d]
    if not days:
        return ""
    first, last = days[0], days[-1]
    shown = [format_date(first, "long", locale=lang)]
    if last != first:
        shown.append(format_date(last, "long", locale=lang))
    return " – ".join(shown)


def front(event: Event, lang: str = "fr") -> markdown.Front:
    return markdown.Front(event.title, event_dates(event, lang), event.place, event.description)


def parts(event: Event, found: list[ExportedSheet]) -> list[tuple[EventSession | None, list[ExportedSheet]]]:
    """The sheets under their sessions, in programme order (no session last)."""
    grouped: dict[int | None, list[ExportedSheet]] = {}
    for sheet in found:
        grouped.setdefault(sheet.atelier.session_id, []).append(sheet)
    out = [(s, grouped[s.id]) for s in event.sessions if s.id in grouped]
    if None in grouped:
        out.append((None, grouped[None]))
    return out


def _programme(event: Event, found: list[ExportedSheet]) -> list[markdown.Part]:
    return [
        markdown.Part(markdown.session_heading(session.label, session.time) if session else None,
                      [(s.title, s.fields) for s in shown])
        for session, shown in parts(event, found)
    ]


def event_document(asking: access.Asking, event: Event, source: str = DRAFT, lang: str = "fr") -> str:
    """Every sheet in one markdown document: the event's front, a table of
    contents, the sessions as headings."""
    asking.require(event, "event.export")
    return markdown.event_markdown(front(event, lang), _programme(event, sheets(event, source)), lang)


def event_themes(asking: access.Asking, event: Event, source: str = DRAFT) -> list[themes.Theme]:
    """The themes that come back across the event's sheets (synthese/themes.py)."""
    asking.require(event, "event.export")
    return _themes(event, source)


#: The themes take up to 1.5 s of CPU for 100 sheets (scikit-learn, and
#: Python around it): in a native thread, one event at a time, so the event
#: loop keeps serving the rooms meanwhile.
_themes_thread = DatabaseThread()
#: (event, source, stamps, titles) -> its themes, the 32 latest.
_themes_cache: OrderedDict = OrderedDict()


def _themes(event: Event, source: str, found: list[ExportedSheet] | None = None) -> list[themes.Theme]:
    """Computed again only when a sheet moved (the dashboard opens often):
    the key is the sheets' stamps and titles, read without any document."""
    key = (event.id, source, tuple(sorted(stamps(event, source).items())),
           tuple((a.id, full_title(a)) for a in event.ateliers))
    if key in _themes_cache:
        _themes_cache.move_to_end(key)
        return _themes_cache[key]
    found = sheets(event, source) if found is None else found
    computed = _themes_thread.run(themes.themes, [themes.Sheet(s.atelier.id, s.title, s.fields) for s in found])
    _themes_cache[key] = computed
    while len(_themes_cache) > 32:
        _themes_cache.popitem(last=False)
    return computed


def event_proceedings(asking: access.Asking, event: Event, fmt: str, source: str = DRAFT,
                      lang: str = "fr") -> bytes:
    """The proceedings as a document (proceedings.FORMATS): a title page,
    the contents, the themes, the sessions as headings, every sheet with its sections."""
    asking.require(event, "event.export")
    found = sheets(event, source)
    titles = {s.atelier.id: s.title for s in found}
    chapter = [proceedings.ThemeShown(t.label, t.terms, [(titles[i], sentence) for i, sentence in t.ateliers])
               for t in _themes(event, source, found)]
    pictures = {s.title: [proceedings.PhotoShown(p.data, p.caption, p.width, p.height) for p in s.photos()]
                for s in found}
    try:
        return proceedings.build(fmt, front(event, lang), _programme(event, found), lang, chapter,
                                 {title: shown for title, shown in pictures.items() if shown})
    except (proceedings.ConverterMissing, proceedings.ConverterBusy) as exc:
        raise DomainError("unavailable", str(exc)) from exc


def front_matter(event: Event, sheet: ExportedSheet) -> dict:
    atelier = sheet.atelier
    return {
        "event": event.title,
        "event_slug": event.slug,
        "session": atelier.session.label if atelier.session else None,
        "session_time": atelier.session.time if atelier.session and atelier.session.time else None,
        "atelier": atelier.number,
        "title": atelier.title,
        "porteur": atelier.porteur_name or None,
        "version": sheet.version,
        "published": sheet.published_at.date().isoformat() if sheet.published_at else None,
    }


def event_zip(asking: access.Asking, event: Event, source: str = DRAFT, lang: str = "fr") -> bytes:
    """A zip of one markdown file per sheet, each with YAML front matter."""
    asking.require(event, "event.export")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        used = set()
        for n, sheet in enumerate(sheets(event, source), start=1):
            name = f"{n:03d}-atelier-{sheet.atelier.number}-{slugify(sheet.atelier.title)[:40]}.md"
            if name in used:
                name = f"{n:03d}-atelier-{sheet.atelier.id}.md"
            used.add(name)
            meta = front_matter(event, sheet)
            pictures = sheet.photos()
            if pictures:
                meta["photos"] = []
                for k, photo in enumerate(pictures, start=1):
                    picture = f"photos/{name[:-3]}-{k}.jpg"
                    archive.writestr(picture, photo.data)
                    meta["photos"].append({"file": picture, "caption": photo.caption})
            text = markdown.with_front_matter(meta, sheet_document(sheet, lang))
            archive.writestr(name, text.encode("utf-8"))
    return buffer.getvalue()


def file_stem(event: Event, source: str) -> str:
    return f"{event.slug}-{'publie' if source == PUBLISHED else 'brouillon'}"
