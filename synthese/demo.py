"""The demo event that the quick start opens, and the links to it."""
import json
import os
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from . import ateliers, events
from .access import OPERATOR
from .extensions import db
from .models import Event

FILE = "demo.json"


def ensure_demo() -> dict | None:
    """Create the demo event once; return its links (kept in the instance folder).

    The instance folder is private to this installation: the demo's secret
    tokens are kept there so that every start can print the same links.
    """
    path = Path(current_app.instance_path) / FILE
    if path.exists():
        saved = json.loads(path.read_text())
        if db.session.execute(select(Event.id).where(Event.slug == saved["slug"])).first():
            return saved
    created = events.create_event(
        OPERATOR,
        "Forum de l'innovation publique (démo)",
        description="Un événement de démonstration : ouvrez un atelier et écrivez-en la synthèse à plusieurs.",
        place="En ligne",
        sessions=[{"label": "Session 1", "time": "10h-11h30"}, {"label": "Session 2", "time": "14h-15h30"}],
    )
    event = created.obj
    first = ateliers.create_atelier(
        OPERATOR, event, "Emergence", session="Session 1", number=1, porteur="Sophie Martin, Ville de Lyon",
        question="Comment accompagner les transformations dans les collectivités, avec les citoyens ?",
    )
    ateliers.create_atelier(OPERATOR, event, "Commande publique et innovation", session="Session 1", number=2,
                            question="Comment acheter de l'innovation sans prendre de risque juridique ?")
    ateliers.create_atelier(OPERATOR, event, "Participation citoyenne", session="Session 2", number=1)
    events.update_event(OPERATOR, event, current_session="Session 1")
    saved = {
        "slug": event.slug,
        "join_code": event.join_code,
        "organiser_token": created.token,
        "atelier_id": first.obj.id,
        "porteur_token": first.token,
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(saved, f)
    return saved


def links(saved: dict, base_url: str) -> dict[str, str]:
    base = base_url.rstrip("/")
    return {
        "organiser": f"{base}/t/{saved['organiser_token']}",
        "join": f"{base}/join/{saved['join_code']}",
        "atelier (porteur)": f"{base}/t/{saved['porteur_token']}",
    }
