"""Import sheets written elsewhere (a pad, an earlier export) into an event.

Markdown in the export format (one sheet, a whole event, or a zip of sheets
with front matter) becomes new ateliers whose sheets hold the text; the
report says what was created and what could not be read.
"""
import io
import time
import zipfile
import zlib
from dataclasses import dataclass, field

from sqlalchemy import select

from . import access, markdown
from .markdown import Line
from .ateliers import NUMBERS, new_atelier
from .database import gevent_patched
from .extensions import db
from .models import Atelier, Event, EventSession
from .sheets import SECTION_KEYS

#: Most text one imported sheet may hold (characters, all sections together).
MAX_SHEET_CHARS = 200_000
MAX_FILES = 500
#: Most sheets one import creates: a forum's proceedings hold a hundred.
MAX_SHEETS = 500
#: Largest import (a markdown file or a zip of them).
MAX_IMPORT_BYTES = 5 * 1024 * 1024
#: Longest an import's reading may take, in seconds (it runs off the event loop).
PARSE_BUDGET = 10.0
#: What a damaged or hostile zip member can raise while it is read.
_UNREADABLE = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError,
               OSError, ValueError, zlib.error)


@dataclass
class Report:
    created: list[dict] = field(default_factory=list)
    #: Lines (markdown.Line), or text already in the reader's language.
    problems: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"created": self.created, "problems": [str(problem) for problem in self.problems]}


def import_markdown(asking: access.Asking, event: Event, text: str, source: str = "") -> Report:
    """Create the sheets that ``text`` holds in ``event``."""
    asking.require(event, "event.import")
    report = Report()
    parsed = _parse(text, source, report)
    if parsed is not None:
        _import_parsed(event, parsed, source, report)
    return report


def import_zip(asking: access.Asking, event: Event, data: bytes) -> Report:
    """Create the sheets of a zip of markdown files (as exported)."""
    asking.require(event, "event.import")
    report = Report()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _UNREADABLE:
        report.problems.append(Line("This file is not a zip archive."))
        return report
    names = sorted(n for n in archive.namelist() if n.lower().endswith(".md") and not n.endswith("/"))
    if len(names) > MAX_FILES:
        report.problems.append(Line("Only the first %(read)d of %(files)d files were read.",
                                    {"read": MAX_FILES, "files": len(names)}))
    for name in names[:MAX_FILES]:
        info = archive.getinfo(name)
        if info.file_size > 4 * MAX_SHEET_CHARS:
            report.problems.append(Line("too large, not imported.", where=f"{name}: "))
            continue
        try:
            text = archive.read(name).decode("utf-8")
        except UnicodeDecodeError:
            report.problems.append(Line("not UTF-8 text, not imported.", where=f"{name}: "))
            continue
        except _UNREADABLE as exc:
            report.problems.append(Line("could not be read from the archive (%(error)s), not imported.",
                                        {"error": exc.__class__.__name__}, f"{name}: "))
            continue
        parsed = _parse(text, name, report)
        if parsed is not None:
            _import_parsed(event, parsed, name, report)
    if not names:
        report.problems.append(Line("The archive holds no markdown (.md) file."))
    return report


def _parse(text: str, source: str, report: Report) -> markdown.Parsed | None:
    """Read markdown off the event loop, within the budget; None (and a line
    of the report) if it takes longer."""
    try:
        return _off_the_loop(markdown.parse, text, timeout=PARSE_BUDGET)
    except TimeoutError:
        where = f"{source}: " if source else ""
        report.problems.append(Line("reading it took longer than %(seconds)d s; not imported.",
                                    {"seconds": PARSE_BUDGET}, where))
        return None


def _off_the_loop(fn, *args, timeout: float):
    """Under gevent, run pure work in a native thread (the other greenlets
    keep running meanwhile); elsewhere, here. TimeoutError past ``timeout``."""
    if not gevent_patched():
        return fn(*args)
    import gevent

    job = gevent.get_hub().threadpool.spawn(fn, *args)
    try:
        return job.get(timeout=timeout)
    except gevent.Timeout:
        raise TimeoutError from None


def _import_parsed(event: Event, parsed: markdown.Parsed, source: str, report: Report) -> None:
    where = f"{source}: " if source else ""
    report.problems += [p.at(where) for p in parsed.problems]
    for sheet in parsed.sheets:
        if len(report.created) >= MAX_SHEETS:
            report.problems.append(Line("only %(most)d sheets are imported at once; the sheets from line "
                                        "%(line)d on were not.", {"most": MAX_SHEETS, "line": sheet.line}, where))
            return
        # Each sheet is its own commit: let the other requests and rooms run between them.
        time.sleep(0)
        atelier, problem = _import_sheet(event, sheet)
        if atelier is None:
            about = Line("line %(line)d: “%(title)s”: ", {"line": sheet.line, "title": sheet.title[:80]})
            report.problems.append(Line(problem.text, problem.args, where, about))
            continue
        report.created.append({
            "id": atelier.id,
            "number": atelier.number,
            "title": atelier.title,
            "session": atelier.session.label if atelier.session else None,
            "source": source or None,
        })


def _import_sheet(event: Event, sheet: markdown.ParsedSheet) -> tuple[Atelier | None, Line | None]:
    """Create one sheet: (the atelier, None) or (None, why it could not be)."""
    number, theme, session = markdown.parse_title(sheet.title)
    meta = sheet.meta
    if isinstance(meta.get("atelier"), int) and meta["atelier"] in NUMBERS:
        number = meta["atelier"]
    if isinstance(meta.get("title"), str) and meta["title"].strip():
        theme = meta["title"].strip()
    if "session" in meta and (meta["session"] is None or isinstance(meta["session"], str)):
        session = meta["session"]
    if number not in NUMBERS:
        number = None
    fields = {key: sheet.fields.get(key, "") for key in SECTION_KEYS}
    if sum(len(text) for text in fields.values()) > MAX_SHEET_CHARS:
        return None, Line("longer than %(most)d characters, not imported.", {"most": MAX_SHEET_CHARS})
    if not theme:
        return None, Line("it has no title, not imported.")
    if len(theme) > 200 or (session and len(session) > 120):
        return None, Line("its title is too long (200 characters at most), not imported.")
    if number is not None and _exists(event, number, session):
        return None, Line("this atelier already exists in this event, not imported again.")
    porteur = meta.get("porteur") if isinstance(meta.get("porteur"), str) else None
    if porteur is None:
        porteur = next((line.strip() for line in fields["porteur"].splitlines() if line.strip()), "")
    created = new_atelier(event, theme, session=session, number=number, porteur=porteur[:200],
                             fields=fields)
    return created.obj, None


def _exists(event: Event, number: int, session: str | None) -> bool:
    query = select(Atelier.id).where(Atelier.event_id == event.id, Atelier.number == number)
    if session:
        query = query.join(EventSession, Atelier.session_id == EventSession.id).where(EventSession.label == session)
    else:
        query = query.where(Atelier.session_id.is_(None))
    return db.session.execute(query.limit(1)).first() is not None
