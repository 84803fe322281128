"""Search across an event's sheets (contract section 6).

Organisers search the live sheets; anyone else, the published versions
only. Words match whatever their case, accents or number (synthese/french.py
folds them; PostgreSQL then stems them with its ``french`` configuration,
SQLite's FTS5 matches the stems folded here). The index is brought up to
date by the searches themselves: each compares every sheet's stamp (its log
head, or its public version) with what the index holds and re-reads the
sheets that moved, so an edit's commit never waits for the index.
"""
from dataclasses import dataclass

from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from . import access, french
from .events import DomainError
from .exporting import DRAFT, PUBLISHED, sheets, stamps
from .extensions import db
from .models import Atelier, Event, SearchSection, SearchStamp
from .sheets import SECTION_KEYS

#: A query's length and words at most; results at most.
MAX_QUERY = 200
MAX_TERMS = 12
LIMIT = 50
#: Characters of a snippet around its first match.
SNIPPET = 160


@dataclass
class Hit:
    atelier: Atelier
    title: str
    section: str
    snippet: str
    #: [start, end) of each matching word in ``snippet``.
    highlights: list[tuple[int, int]]


def search(asking: access.Asking, event: Event, query: str, section: str | None = None,
           limit: int = LIMIT) -> list[Hit]:
    role, _ = asking.on_event(event)
    asking.require(event, "event.read_public")
    if section is not None and section not in SECTION_KEYS:
        raise DomainError("invalid", "Unknown section (question, synthese, porteur, participants or discussion).")
    query = (query or "").strip()
    if len(query) > MAX_QUERY:
        raise DomainError("invalid", "A search is 200 characters at most.")
    terms = list(dict.fromkeys(french.stems(query)))[:MAX_TERMS]
    if not terms:
        return []
    source = DRAFT if access.can(role, "event.search_drafts") else PUBLISHED
    refresh(event, source)
    found = _match(event, source, terms, section, limit)
    ateliers = {a.id: a for a in event.ateliers}
    titles = {s.atelier.id: s.title for s in sheets(event, source, only={row.atelier_id for row in found},
                                                      texts=False)}
    hits = []
    for row in found:
        snippet, marks = make_snippet(row.body, set(terms))
        hits.append(Hit(ateliers[row.atelier_id], titles[row.atelier_id], row.section, snippet, marks))
    db.session.rollback()  # reads only: end the transaction refresh() may have left open
    return hits


# -- the index -----------------------------------------------------------------------


def refresh(event: Event, source: str) -> int:
    """Re-index the event's sheets whose stamp moved; how many were."""
    now = stamps(event, source)
    held = dict(db.session.execute(
        select(SearchStamp.atelier_id, SearchStamp.stamp)
        .where(SearchStamp.source == source, SearchStamp.atelier_id.in_(now))).all())
    stale = [atelier_id for atelier_id, stamp in now.items() if held.get(atelier_id) != stamp]
    if not stale:
        return 0
    # Read every stale sheet first: the document store's reads end the
    # session's transaction (they roll back what they read in). A sheet
    # that is not (or no longer) published has no text to index.
    texts = {s.atelier.id: s.fields for s in sheets(event, source, only=set(stale))}
    for atelier_id in stale:
        _index(atelier_id, source, texts.get(atelier_id, {}), now[atelier_id], atelier_id in held)
    try:
        db.session.commit()
    except (IntegrityError, OperationalError):
        # Another search indexed the same sheets meanwhile (a duplicate row
        # on PostgreSQL, a stale snapshot on SQLite): theirs stands.
        db.session.rollback()
    return len(stale)


def _index(atelier_id: int, source: str, fields: dict[str, str], stamp: int, known: bool) -> None:
    postgres = db.engine.dialect.name == "postgresql"
    if not postgres:
        old = db.session.scalars(select(SearchSection.id).where(SearchSection.atelier_id == atelier_id,
                                                                SearchSection.source == source)).all()
        for rowid in old:
            db.session.execute(text("DELETE FROM search_fts WHERE rowid = :id"), {"id": rowid})
    db.session.execute(delete(SearchSection).where(SearchSection.atelier_id == atelier_id,
                                                   SearchSection.source == source))
    for key, body in fields.items():
        if key not in SECTION_KEYS or not (body or "").strip():
            continue
        row = SearchSection(atelier_id=atelier_id, source=source, section=key, body=body)
        db.session.add(row)
        db.session.flush()
        folded = " ".join(french.fold(w) for w in french.stems(body))
        if postgres:
            db.session.execute(text("UPDATE search_sections SET tsv = to_tsvector('french', :folded) WHERE id = :id"),
                               {"folded": folded, "id": row.id})
        else:
            db.session.execute(text("INSERT INTO search_fts (rowid, terms) VALUES (:id, :folded)"),
                               {"folded": folded, "id": row.id})
    if known:
        db.session.execute(SearchStamp.__table__.update()
                           .where(SearchStamp.atelier_id == atelier_id, SearchStamp.source == source)
                           .values(stamp=stamp))
    else:
        db.session.add(SearchStamp(atelier_id=atelier_id, source=source, stamp=stamp))


def _match(event: Event, source: str, terms: list[str], section: str | None, limit: int):
    params = {"event": event.id, "source": source, "limit": limit, "section": section}
    where_section = "AND s.section = :section" if section else ""
    if db.engine.dialect.name == "postgresql":
        params["query"] = " & ".join(f"'{t}'" for t in terms)  # stems: letters and digits only
        sql = f"""
            SELECT s.id, s.atelier_id, s.section, s.body, ts_rank(s.tsv, q) AS rank
            FROM search_sections s JOIN ateliers a ON a.id = s.atelier_id,
                 to_tsquery('french', :query) q
            WHERE a.event_id = :event AND s.source = :source {where_section} AND s.tsv @@ q
            ORDER BY rank DESC, s.atelier_id, s.id LIMIT :limit"""
    else:
        params["query"] = " AND ".join(f'"{t}"' for t in terms)
        sql = f"""
            SELECT s.id, s.atelier_id, s.section, s.body, bm25(search_fts) AS rank
            FROM search_fts JOIN search_sections s ON s.id = search_fts.rowid
                 JOIN ateliers a ON a.id = s.atelier_id
            WHERE search_fts MATCH :query AND a.event_id = :event AND s.source = :source {where_section}
            ORDER BY rank, s.atelier_id, s.id LIMIT :limit"""
    return db.session.execute(text(sql), params).all()


# -- snippets ------------------------------------------------------------------------------


def make_snippet(body: str, terms: set[str]) -> tuple[str, list[tuple[int, int]]]:
    """A window of ``body`` around its first matching word, and where each
    match lies in it (the caller escapes and marks them)."""
    matches = [(w.start, w.end) for w in french.words(body) if w.stem in terms]
    first = matches[0][0] if matches else 0
    start = max(0, first - SNIPPET // 3)
    if start:
        space = body.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start - space < 20 else start
    end = min(len(body), start + SNIPPET)
    if end < len(body):
        space = body.find(" ", end)
        end = space if 0 <= space < end + 20 else end
    prefix = "…" if start else ""
    suffix = "…" if end < len(body) else ""
    window = " ".join(body[start:end].split("\n"))
    marks = [(a - start + len(prefix), b - start + len(prefix)) for a, b in matches if a >= start and b <= end]
    return prefix + window + suffix, marks
