"""Browser sign-in: a secret link stores its credential in the signed session."""
from sqlalchemy import select

from ..extensions import db
from ..models import Credential
from ..tokens import MAX_SESSION_CREDENTIALS as MAX_CREDENTIALS, from_session
from .security import csrf_token

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
    return from_session(session)
