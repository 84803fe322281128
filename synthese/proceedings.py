"""An event's proceedings as documents: PDF (WeasyPrint), ODT and DOCX (pandoc).

Pure: it takes the event's front page and its sheets by session
(markdown.Front, markdown.Part) and returns the file's bytes; exporting.py
brings the database and the rights. Both converters are kept away from the
network and the disk: WeasyPrint's fetcher refuses every URL, pandoc runs
with --sandbox and a filter that turns images into their description.
"""
import base64
import dataclasses
import functools
import io
import json
import re
import secrets
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import jinja2

from . import french, markdown
from .rendering import to_html
from .sheets import SECTIONS

DATA = Path(__file__).resolve().parent / "data"

#: Format -> media type.
FORMATS = {
    "pdf": "application/pdf",
    "odt": "application/vnd.oasis.opendocument.text",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
WORDS = {"fr": {"kind": "Actes", "contents": "Sommaire", "themes": "Les thèmes qui reviennent",
                "terms": "Mots-clés", "photos": "Photos des tableaux", "photo": "Photo des tableaux"},
         "en": {"kind": "Proceedings", "contents": "Contents", "themes": "Recurring themes", "terms": "Key terms",
                "photos": "Photos of the boards", "photo": "Photo of the boards"}}
LANG_TAGS = {"fr": "fr-FR", "en": "en-GB"}
#: A converter that runs longer than this is stopped (a pathological sheet
#: must not hold a worker); 100 sheets take 2-3 s (pandoc), 20 s (PDF).
TIMEOUT = 180
#: Conversions at once in one server process, and how long one waits for
#: its turn: each is a child process of up to 500 MiB on a 2-core machine
#: (SYNTHESE_CONVERSIONS, SYNTHESE_CONVERSION_WAIT; see configure()).
AT_ONCE = 2
WAIT = 60.0
_limits = {"wait": WAIT, "turns": threading.BoundedSemaphore(AT_ONCE)}


def configure(at_once: int = AT_ONCE, wait: float = WAIT) -> None:
    """Set the bound once, at start (the semaphore is gevent's under
    ``synthese serve``, which monkey-patches threading first)."""
    _limits.update(wait=wait, turns=threading.BoundedSemaphore(max(1, at_once)))


class ConverterBusy(RuntimeError):
    """Every conversion slot stayed taken while this one waited."""


def _run(args: list[str], data: bytes) -> subprocess.CompletedProcess:
    """A converter's child process, one of at most AT_ONCE."""
    turns = _limits["turns"]
    if not turns.acquire(timeout=_limits["wait"]):
        raise ConverterBusy("Other proceedings are being made: try again in a minute.")
    try:
        return subprocess.run(args, input=data, capture_output=True, timeout=TIMEOUT, check=False)
    finally:
        turns.release()


def _typeset(text: str, lang: str) -> str:
    return french.typography(text) if lang == "fr" else text


# -- what each document shows -------------------------------------------------------------


@dataclass
class Section:
    title: str
    body: str  # markdown


def sections(fields: dict[str, str], lang: str) -> list[Section]:
    """The sheet's sections that hold text (participants as a list)."""
    found = []
    for section in SECTIONS:
        body = markdown.section_body(section.key, fields.get(section.key, ""))
        if body.strip():
            found.append(Section(section.title(lang), _typeset(body, lang)))
    return found


class ConverterMissing(RuntimeError):
    """The machine lacks what a format needs (Pango for the PDF)."""


@dataclass
class ThemeShown:
    """A theme of the event (synthese/themes.py) as the proceedings show it."""

    label: str
    terms: list[str]
    #: (sheet title, the sentence that shows the theme).
    ateliers: list[tuple[str, str]]


@dataclass
class PhotoShown:
    """A photo of the boards, as the server re-encoded it (a JPEG)."""

    data: bytes
    caption: str
    width: int
    height: int

    def uri(self) -> str:
        return "data:image/jpeg;base64," + base64.b64encode(self.data).decode()


def build(fmt: str, front: markdown.Front, parts: list[markdown.Part], lang: str = "fr",
          themes: list[ThemeShown] | None = None, photos: dict[str, list[PhotoShown]] | None = None) -> bytes:
    """``photos``: by sheet title, the photos shown after its sections."""
    themes, photos = themes or [], photos or {}
    if fmt == "pdf":
        return pdf(front, parts, lang, themes, photos)
    if fmt in ("odt", "docx"):
        return pandoc(fmt, front, parts, lang, themes, photos)
    raise ValueError(f"unknown document format {fmt!r}")


# -- PDF ---------------------------------------------------------------------------------

_templates = jinja2.Environment(loader=jinja2.FileSystemLoader(DATA), autoescape=True)


def pdf(front: markdown.Front, parts: list[markdown.Part], lang: str = "fr",
        themes: list[ThemeShown] | None = None, photos: dict[str, list[PhotoShown]] | None = None) -> bytes:
    """The PDF, laid out in a child process: WeasyPrint is pure Python and
    slow (about 20 s and 500 MiB for 100 sheets, 300 pages); in the server's
    process it would hold the event loop, and every room with it."""
    job = json.dumps({"lang": lang, "front": dataclasses.asdict(front),
                      "parts": [dataclasses.asdict(part) for part in parts],
                      "themes": [dataclasses.asdict(theme) for theme in themes or []],
                      "photos": {title: [{"uri": p.uri(), "caption": p.caption, "width": p.width,
                                          "height": p.height} for p in shown]
                                 for title, shown in (photos or {}).items()}})
    done = _run([sys.executable, "-m", "synthese.proceedings", "pdf"], job.encode())
    if done.returncode == MISSING:
        raise ConverterMissing(done.stderr.decode(errors="replace").strip())
    if done.returncode != 0 or not done.stdout.startswith(b"%PDF"):
        raise RuntimeError(f"the PDF failed: {done.stderr.decode(errors='replace')[-500:]}")
    return done.stdout


#: The child's exit status when WeasyPrint cannot load Pango.
MISSING = 3


def _pdf_here(front: markdown.Front, parts: list[markdown.Part], lang: str, themes: list[ThemeShown],
              photos: dict[str, list[dict]]) -> bytes:
    try:
        from weasyprint import CSS, HTML  # loads Pango
        from weasyprint.urls import URLFetcher
    except OSError as exc:
        raise ConverterMissing("PDF needs the Pango library (apt-get install libpango-1.0-0 libpangoft2-1.0-0).") \
            from exc

    shown = []
    for n, part in enumerate(parts):
        sheets = [{"anchor": f"sheet-{n}-{i}", "title": _typeset(title, lang),
                   "sections": [{"title": s.title, "html": to_html(s.body)} for s in sections(fields, lang)],
                   "photos": photos.get(title, [])}
                  for i, (title, fields) in enumerate(part.sheets)]
        if sheets:
            shown.append({"heading": _typeset(part.heading, lang) if part.heading else None, "sheets": sheets})
    page = _templates.get_template("proceedings.html").render(
        lang=lang, words=WORDS[lang], parts=shown, themes=[_typeset_theme(t, lang) for t in themes],
        front=markdown.Front(_typeset(front.title, lang), front.when, _typeset(front.place, lang)),
        description=to_html(_typeset(front.description, lang)) if front.description.strip() else "",
    )
    # Nothing is loaded but the photos written into the page as data: URIs
    # (a sheet's text cannot hold an image: rendering.py drops them).
    only_data = URLFetcher(allowed_protocols={"data"}, allow_redirects=False)
    return HTML(string=page, url_fetcher=only_data).write_pdf(
        stylesheets=[CSS(filename=str(DATA / "proceedings.css"), url_fetcher=only_data)])


def _typeset_theme(theme: ThemeShown, lang: str) -> ThemeShown:
    return ThemeShown(_typeset(theme.label, lang), theme.terms,
                      [(_typeset(title, lang), _typeset(sentence, lang)) for title, sentence in theme.ateliers])


# -- ODT and DOCX ------------------------------------------------------------------------------


def document_markdown(front: markdown.Front, parts: list[markdown.Part], lang: str = "fr",
                      themes: list[ThemeShown] | None = None, photos: dict[str, list[PhotoShown]] | None = None,
                      photo_class: str = "") -> str:
    """The body pandoc reads: the event's description, the contents, then
    sessions '#', sheets '##', sections '###'; headings people wrote go
    below those. The contents are a list of links rather than pandoc's
    index field, which LibreOffice shows empty until someone updates it."""
    out = []
    if front.description.strip():
        out += [_typeset(front.description.strip("\n"), lang), ""]
    anchors = {}
    contents = []
    for part in parts:
        if not part.sheets:
            continue
        indent = ""
        if part.heading:
            contents.append(f"- {_escape(_typeset(part.heading, lang))}")
            indent = "  "
        for title, _fields in part.sheets:
            anchor = f"sheet-{len(anchors) + 1}"
            anchors[id(_fields)] = anchor
            contents.append(f"{indent}- [{_escape(_typeset(title, lang))}](#{anchor})")
    if themes:
        contents.insert(0, f"- [{WORDS[lang]['themes']}](#themes)")
    if contents:
        out += [f"# {WORDS[lang]['contents']}", "", *contents, ""]
    if themes:
        out += [f"# {WORDS[lang]['themes']} {{#themes}}", ""]
        for theme in (_typeset_theme(t, lang) for t in themes):
            out += [f"## {_escape(theme.label)}", "", f"*{WORDS[lang]['terms']} :* "
                    + _escape(", ".join(theme.terms)), ""]
            out += [f"- **{_escape(title)}** : « {_escape(sentence)} »" for title, sentence in theme.ateliers]
            out.append("")
    for part in parts:
        if not part.sheets:
            continue
        if part.heading:
            out += [f"# {_escape(_typeset(part.heading, lang))}", ""]
        for title, fields in part.sheets:
            out += [f"## {_escape(_typeset(title, lang))} {{#{anchors[id(fields)]}}}", ""]
            for section in sections(fields, lang):
                out += [f"### {section.title}", "", markdown.demote_headings(section.body, 3), ""]
            shown = (photos or {}).get(title, [])
            if shown and photo_class:
                out += [f"### {WORDS[lang]['photos']}", ""]
                for photo in shown:
                    alt = _escape(photo.caption or WORDS[lang]["photo"])
                    out += [f"![{alt}]({photo.uri()}){{.{photo_class} width=15cm}}", ""]
    return "\n".join(out)


def _escape(text: str) -> str:
    """Heading text taken literally by a CommonMark reader."""
    return re.sub(r"([\\`*_\[\]<>#!|~])", r"\\\1", text)


@functools.cache
def _pandoc_path() -> str:
    import pypandoc

    return pypandoc.get_pandoc_path()


@functools.cache
def _reference_docx() -> str:
    """pandoc's own reference.docx, with the page number in its footer
    (pandoc takes headers and footers from the reference document only)."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    default = subprocess.run([_pandoc_path(), "--print-default-data-file", "reference.docx"],
                             capture_output=True, check=True, timeout=TIMEOUT).stdout
    document = docx.Document(io.BytesIO(default))
    paragraph = document.sections[0].footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    # python-docx has no field API: a PAGE field is this one element (ECMA-376 §17.16.19).
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    paragraph._p.append(field)
    field.append(paragraph.add_run("1")._r)
    path = Path(tempfile.mkdtemp(prefix="synthese-")) / "reference.docx"
    document.save(path)
    return str(path)


def pandoc(fmt: str, front: markdown.Front, parts: list[markdown.Part], lang: str = "fr",
           themes: list[ThemeShown] | None = None, photos: dict[str, list[PhotoShown]] | None = None) -> bytes:
    # Metadata given with -M is a literal string (not markdown): a title
    # cannot inject anything into the document.
    args = [_pandoc_path(), "--from", "commonmark-raw_html+attributes", "--to", fmt, "--sandbox",
            "--lua-filter", str(DATA / "no-images.lua"),
            "-M", f"title={_typeset(front.title, lang)}", "-M", f"lang={LANG_TAGS[lang]}", "--output", "-"]
    photo_class = "photo-" + secrets.token_hex(8)
    args += ["-M", f"photo-class={photo_class}"]
    subtitle = " · ".join(front.lines())
    if subtitle:
        args += ["-M", f"subtitle={_typeset(subtitle, lang)}"]
    if fmt == "docx":
        args += ["--reference-doc", _reference_docx()]
    done = _run(args, document_markdown(front, parts, lang, themes, photos, photo_class).encode())
    if done.returncode != 0:
        raise RuntimeError(f"pandoc failed: {done.stderr.decode(errors='replace')[:500]}")
    return done.stdout


def _child() -> int:
    """``python -m synthese.proceedings pdf``: a job (JSON) in, the PDF out."""
    job = json.loads(sys.stdin.buffer.read())
    front = markdown.Front(**job["front"])
    parts = [markdown.Part(p["heading"], [(title, fields) for title, fields in p["sheets"]]) for p in job["parts"]]
    themes = [ThemeShown(t["label"], t["terms"], [tuple(a) for a in t["ateliers"]]) for t in job["themes"]]
    try:
        data = _pdf_here(front, parts, job["lang"], themes, job["photos"])
    except ConverterMissing as exc:
        print(exc, file=sys.stderr)
        return MISSING
    sys.stdout.buffer.write(data)
    return 0


if __name__ == "__main__" and sys.argv[1:] == ["pdf"]:
    sys.exit(_child())
