"""Sheets as markdown (contract section 4)."""
from .events import full_title
from .models import Atelier
from .sheets import SECTIONS, participant_names


def sheet_markdown(atelier: Atelier, fields: dict[str, str], level: int = 1, lang: str = "fr") -> str:
    """One sheet: its title, then each section under its heading."""
    lines = [f"{'#' * level} {full_title(atelier)}", ""]
    for section in SECTIONS:
        lines += [f"{'#' * (level + 1)} {section.title(lang)}", ""]
        text = fields.get(section.key, "")
        if section.key == "participants":
            body = "\n".join(f"- {name}" for name in participant_names(text))
        else:
            body = text.strip("\n")
        if body:
            lines += [body, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def heading_anchor(title: str) -> str:
    """The anchor markdown renderers (GitHub style) give a heading."""
    kept = "".join(ch for ch in title.lower() if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


def event_markdown(event, lang: str = "fr") -> str:
    """Every sheet of an event in one document, with a table of contents."""
    from .documents import current_store
    from .events import ordered_ateliers

    store = current_store()
    ateliers = ordered_ateliers(event)
    parts = [f"# {event.title}", ""]
    if ateliers:
        parts += ["## Sommaire" if lang == "fr" else "## Contents", ""]
        parts += [f"- [{full_title(a)}](#{heading_anchor(full_title(a))})" for a in ateliers]
        parts.append("")
    for atelier in ateliers:
        parts.append(sheet_markdown(atelier, store.fields(atelier.id), level=2, lang=lang))
    return "\n".join(parts).rstrip("\n") + "\n"
