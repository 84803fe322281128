"""The markdown format of sheets (contract section 4): writing and reading it.

Pure functions on text; exporting.py and importing.py bring the database.
"""
import re
from dataclasses import dataclass, field

import yaml

from .sheets import SECTIONS, participant_names

#: Section heading text (French or English) -> section key.
SECTION_BY_TITLE = {title: s.key for s in SECTIONS for title in (s.title_fr, s.title_en)}
SECTION_ORDER = [s.key for s in SECTIONS]
CONTENTS_TITLES = ("Sommaire", "Contents")


def section_body(key: str, text: str) -> str:
    """A section's markdown: participants as a list, any other text as written."""
    if key == "participants":
        return "\n".join(f"- {name}" for name in participant_names(text))
    return (text or "").strip("\n")


def sheet_markdown(title: str, fields: dict[str, str], level: int = 1, lang: str = "fr",
                   empty_headings: bool = True) -> str:
    """One sheet: its title, then each section under its heading (empty
    sections keep theirs, as in the contract's shape, unless told not to;
    a sheet with no text at all keeps them all, so that it reads back)."""
    keep_empty = empty_headings or not any(section_body(s.key, fields.get(s.key, "")) for s in SECTIONS)
    lines = [f"{'#' * level} {title}", ""]
    for section in SECTIONS:
        body = section_body(section.key, fields.get(section.key, ""))
        if body or keep_empty:
            lines += [f"{'#' * (level + 1)} {section.title(lang)}", ""]
        if body:
            lines += [body, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


@dataclass
class Front:
    """What opens the proceedings: the event's title and what a reader needs
    to place it (dates and place already written in words)."""

    title: str
    when: str = ""
    place: str = ""
    description: str = ""

    def lines(self) -> list[str]:
        """The line under the title: « 3 et 4 décembre 2026 · Lyon »."""
        return [" · ".join(part for part in (self.when, self.place) if part)] if self.when or self.place else []


@dataclass
class Part:
    """A session of the programme and its sheets (heading None: the sheets of no session)."""

    heading: str | None
    sheets: list[tuple[str, dict[str, str]]]


def session_heading(label: str, time: str = "") -> str:
    """« Session 1 — 10h-11h30 »: parse() knows it by the label its sheets' titles end with."""
    return f"{label} — {time}" if time else label


def event_markdown(front: Front, parts: list[Part], lang: str = "fr") -> str:
    """Several sheets in one document: the event's title, when and where,
    its description, a table of contents, then the sessions, each heading
    its sheets, every sheet with its headings one level down; sections
    left empty have no heading."""
    out = [f"# {front.title}", ""]
    for line in front.lines():
        out += [line, ""]
    if front.description.strip():
        out += [front.description.strip("\n"), ""]
    if any(part.sheets for part in parts):
        out += [f"## {CONTENTS_TITLES[lang == 'en']}", ""]
        for part in parts:
            indent = ""
            if part.heading and part.sheets:
                out.append(f"- {part.heading}")
                indent = "  "
            out += [f"{indent}- [{_link_text(t)}](#{heading_anchor(t)})" for t, _ in part.sheets]
        out.append("")
    for part in parts:
        if not part.sheets:
            continue
        if part.heading:
            out += [f"## {part.heading}", ""]
        for sheet_title, fields in part.sheets:
            out.append(sheet_markdown(sheet_title, fields, level=2, lang=lang, empty_headings=False))
    return "\n".join(out).rstrip("\n") + "\n"


def demote_headings(text: str, by: int) -> str:
    """Headings someone wrote, ``by`` levels down (at most 6), code left alone."""
    lines = text.split("\n")
    for i, level, _title in _headings(lines):
        lines[i] = "#" * min(6, level + by) + lines[i][level:]
    return "\n".join(lines)


def _link_text(title: str) -> str:
    return re.sub(r"([\[\]\\])", r"\\\1", title)


def heading_anchor(title: str) -> str:
    """The anchor markdown renderers (GitHub style) give a heading."""
    kept = "".join(ch for ch in title.lower() if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


def with_front_matter(meta: dict, body: str) -> str:
    """A markdown file opened by YAML front matter, for static-site generators."""
    head = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1_000_000)
    return f"---\n{head}---\n\n{body}"


# -- reading -------------------------------------------------------------------


TITLE = re.compile(r"^Atelier\s+(\d{1,4})\s+-\s+(.+)$")


def parse_title(title: str) -> tuple[int | None, str, str | None]:
    """'Atelier 2 - Emergence - Session 1' -> (2, 'Emergence', 'Session 1').

    Without the 'Atelier N - ' prefix the whole title is the theme. The
    last ' - ' part is the session, as sheets are titled on export.
    """
    match = TITLE.match(title.strip())
    if not match:
        return None, title.strip(), None
    number, rest = int(match[1]), match[2].strip()
    theme, sep, session = rest.rpartition(" - ")
    if not sep or not theme.strip():
        return number, rest, None
    return number, theme.strip(), session.strip()


@dataclass(frozen=True)
class Line:
    """One line of an import report: English, with %(name)s fields; the
    pages show it in the reader's language (i18n.translated), the API as is."""

    text: str
    args: dict = field(default_factory=dict)
    #: Which file, when the import held several.
    where: str = ""
    #: Which sheet of it ("line 12: “Emergence”: ").
    about: "Line | None" = None

    def __str__(self) -> str:
        return self.where + (str(self.about) if self.about else "") + self.text % self.args

    def at(self, where: str) -> "Line":
        return Line(self.text, self.args, where + self.where, self.about)


@dataclass
class ParsedSheet:
    title: str
    fields: dict[str, str]
    #: Line (1-based) of the sheet's heading, for reports.
    line: int
    #: Front matter, when the file had one.
    meta: dict = field(default_factory=dict)


@dataclass
class Parsed:
    event_title: str | None = None
    sheets: list[ParsedSheet] = field(default_factory=list)
    #: What could not be read, as sentences for the person importing.
    problems: list["Line"] = field(default_factory=list)


#: An ATX heading's marks and the rest of its line; the closing #s are
#: stripped in _heading (a lazy group before them backtracked: a line of
#: 1,300 spaces took seconds).
HEADING = re.compile(r"^(#{1,6})[ \t]+(.*)$")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def parse(text: str) -> Parsed:
    """Read sheets out of markdown: one sheet, or an event document.

    A sheet is a heading followed by headings one level down titled with the
    sheet's sections (French or English). Anything else that looks like a
    heading inside a section is text of that section, so what people wrote
    comes back verbatim.
    """
    result = Parsed()
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    meta, text, offset = _split_front_matter(text, result)
    lines = text.split("\n")
    headings = _headings(lines)
    starts = [
        i for i, (ln, level, title) in enumerate(headings)
        if i + 1 < len(headings)
        and headings[i + 1][1] == level + 1
        and headings[i + 1][2] in SECTION_BY_TITLE
        and not _has_text(lines, ln + 1, headings[i + 1][0])
    ]
    if not starts:
        result.problems.append(Line("No sheet found: a sheet is a heading followed by its sections "
                                    "(## Question, ## Synthèse, ...)."))
        return result
    sessions = _session_headings(lines, headings, starts)
    first_line = headings[starts[0]][0]
    for ln, level, title in headings:
        if ln >= first_line:
            break
        if level == 1 and result.event_title is None:
            result.event_title = title
    for n, start in enumerate(starts):
        ln, level, title = headings[start]
        end_line = headings[starts[n + 1]][0] if n + 1 < len(starts) else len(lines)
        if n + 1 < len(starts) and starts[n + 1] - 1 in sessions:
            end_line = headings[starts[n + 1] - 1][0]
        sheet = ParsedSheet(title=title, fields={}, line=ln + 1 + offset, meta=meta if len(starts) == 1 else {})
        _read_sections(lines, [h for h in headings if ln < h[0] < end_line], level + 1, end_line, sheet)
        result.sheets.append(sheet)
    _report_outside(lines, headings, starts, sessions, result, offset)
    return result


def _session_headings(lines, headings, starts) -> set[int]:
    """Indexes of the session headings of an event document: a heading right
    above a sheet, at the sheet's level, named by the session that sheet's
    title ends with (so a heading someone wrote in a section stays text)."""
    found = set()
    for start in starts:
        i = start - 1
        if i < 0 or _has_text(lines, headings[i][0] + 1, headings[start][0]):
            continue
        _, level, title = headings[i]
        session = parse_title(headings[start][2])[2]
        if level == headings[start][1] and session and (title == session or title.startswith(session + " — ")):
            found.add(i)
    return found


#: Front matter holds a few short fields (event, session, atelier, porteur,
#: version, date): PyYAML is pure Python, and 4 MB of it took seconds.
MAX_FRONT_MATTER = 8 * 1024


def _split_front_matter(text: str, result: Parsed) -> tuple[dict, str, int]:
    if not text.startswith("---\n"):
        return {}, text, 0
    end = text.find("\n---\n", 4)
    if end < 0:
        return {}, text, 0
    head, body = text[4:end], text[end + 5:]
    lines = head.count("\n") + 2
    if len(head) > MAX_FRONT_MATTER:
        result.problems.append(Line("The front matter is longer than %(kb)d KB; it was ignored.",
                                    {"kb": MAX_FRONT_MATTER // 1024}))
        return {}, body, lines
    try:
        meta = yaml.safe_load(head) or {}
        if not isinstance(meta, dict):
            raise ValueError("not a mapping")
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        # RecursionError: collections nested thousands deep.
        result.problems.append(Line("The front matter could not be read (%(error)s); it was ignored.",
                                    {"error": exc.__class__.__name__}))
        meta = {}
    return meta, body, lines


def _headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line index, level, text) of ATX headings outside fenced code."""
    found, fence = [], None
    for i, line in enumerate(lines):
        m = FENCE.match(line)
        if m:
            if fence is None:
                fence = m[1][0]
            elif m[1][0] == fence:
                fence = None
            continue
        if fence is None:
            h = HEADING.match(line)
            if h:
                found.append((i, len(h[1]), h[2].rstrip(" \t").rstrip("#").rstrip(" \t")))
    return found


def _has_text(lines, start: int, end: int) -> bool:
    return any(line.strip() for line in lines[start:end])


def _read_sections(lines, headings, level, end_line, sheet) -> None:
    """Split a sheet's lines by its section headings, in the sheet's order."""
    position = -1
    marks = []
    for ln, lvl, title in headings:
        key = SECTION_BY_TITLE.get(title) if lvl == level else None
        if key is not None and SECTION_ORDER.index(key) > position:
            position = SECTION_ORDER.index(key)
            marks.append((ln, key))
    for n, (ln, key) in enumerate(marks):
        stop = marks[n + 1][0] if n + 1 < len(marks) else end_line
        body = "\n".join(lines[ln + 1:stop]).strip("\n")
        if key == "participants":
            names = []
            for line in body.split("\n"):
                name = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", line).strip()
                if name:
                    names.append(name)
            body = "\n".join(names)
        sheet.fields[key] = body


def _report_outside(lines, headings, starts, sessions, result, offset) -> None:
    """Report text that belongs to no sheet. Expected: the contents list,
    the session headings and, in an event document (one with contents), the
    event's dates, place and description under its title."""
    first = headings[starts[0]][0]
    event_document = any(title in CONTENTS_TITLES for ln, _, title in headings if ln < first)
    blocks = []
    for i, (ln, level, title) in enumerate(headings):
        if ln >= first:
            break
        stop = headings[i + 1][0] if i + 1 < len(headings) else first
        if title in CONTENTS_TITLES or i in sessions:
            continue
        if level == 1 and title == result.event_title:
            if not event_document and _has_text(lines, ln + 1, stop):
                result.problems.append(Line("Line %(line)d: the text under the title “%(title)s” belongs to no "
                                            "sheet; it was not imported.", {"line": ln + 1 + offset, "title": title[:80]}))
            continue
        blocks.append((ln, title))
    for ln, title in blocks:
        result.problems.append(Line("Line %(line)d: “%(title)s” is not a sheet (no section follows); it was not "
                                    "imported.", {"line": ln + 1 + offset, "title": title[:80]}))
    if _has_text(lines, 0, headings[0][0]):
        result.problems.append(Line("The text before the first heading was not imported."))
