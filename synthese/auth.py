"""Browser sign-in: a secret link stores its credential in the signed session."""
from sqlalchemy import select

from .extensions import db
from .models import Credential
from .security import csrf_token

#: A browser may hold several credentials (organiser of one event, participant of another).
MAX_CREDENTIALS = 20


def sign_in(session, credential: Credential) -> None:
    """Add a credential to the browser's; past MAX_CREDENTIALS the oldest
    goes, never an organiser's (a page of links must not push it out)."""
    ids = [credential.id] + [i for i in session.get("credentials", []) if isinstance(i, int) and i != credential.id]
    if len(ids) > MAX_CREDENTIALS:
        organisers = set(db.session.execute(
            select(Credential.id).where(Credential.id.in_(ids), Credential.role == "organiser")).scalars())
        while len(ids) > MAX_CREDENTIALS:
            dropped = next((i for i in reversed(ids) if i not in organisers and i != credential.id), None)
            ids.remove(dropped if dropped is not None else ids[-1])
    session["credentials"] = ids
    session.permanent = True
    # The CSRF token goes into the same cookie now: were it added later by a
    # page, a response to a request still in flight (the dashboard's polling)
    # could put back a cookie without it, and the page's forms would fail.
    csrf_token()


def session_credentials(session) -> list[Credential]:
    """The credentials this browser signed in with that still exist and are not revoked."""
    ids = session.get("credentials") or []
    if not isinstance(ids, list) or not ids:
        return []
    ids = [i for i in ids if isinstance(i, int)][:MAX_CREDENTIALS]
    return list(db.session.execute(
        select(Credential).where(Credential.id.in_(ids), Credential.revoked_at.is_(None))
    ).scalars())
