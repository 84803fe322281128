"""Who is asking, for every door: a Bearer token (the API), or the
credentials a browser signed in with (pages, and the API's reads)."""
from flask import request, session
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from .. import access, tokens
from ..extensions import db
from ..models import Credential
from . import ratelimit

MAX_CREDENTIALS = tokens.MAX_SESSION_CREDENTIALS
#: Where a request keeps its answer (once per request, not per app context).
KEY = "synthese.asking"


class BadToken(Exception):
    """A Bearer token was given and opens nothing: the API answers 401."""


def api() -> access.Asking:
    """Who is asking the API: the Bearer token's credential; for reads, a
    signed-in browser's too.

    Only safe methods accept the session cookie: changes need a token, so a
    page of another site cannot make a signed-in browser change anything.
    """
    if KEY not in request.environ:
        credential = bearer()
        if credential is not None:
            request.environ[KEY] = access.asking(credential)
        elif request.method in ("GET", "HEAD"):
            request.environ[KEY] = access.asking(*tokens.from_session(session))
        else:
            request.environ[KEY] = access.PUBLIC_ASKING
    return request.environ[KEY]


def page() -> access.Asking:
    """Who is asking for a page: the credentials this browser signed in with."""
    if KEY not in request.environ:
        request.environ[KEY] = access.asking(*tokens.from_session(session))
    return request.environ[KEY]


def bearer() -> Credential | None:
    """The credential of the request's Bearer token; BadToken if a bad one is given."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    credential = tokens.find(token.strip()) if scheme.lower() == "bearer" else None
    if credential is None:
        junk_token()
        raise BadToken
    return credential


def junk_token() -> None:
    """Counted and limited after the lookup: a valid token is never refused
    because others sent junk from the same address (a venue's NAT)."""
    ratelimit.hit("bad_token_ip")


def sign_in(credential: Credential) -> None:
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
    request.environ.pop(KEY, None)
    # The CSRF token goes into the same cookie now: were it added later by a
    # page, a response to a request still in flight (the dashboard's polling)
    # could put back a cookie without it, and the page's forms would fail.
    generate_csrf()
