"""Secret tokens: generated unguessable, stored only as a hash."""
import hashlib
import secrets

from sqlalchemy import select

from .extensions import db
from .models import Credential


def new_token() -> str:
    """A fresh 256-bit URL-safe token."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(**fields) -> tuple[Credential, str]:
    """Create a credential (role, event, ...) and return it with its token."""
    token = new_token()
    credential = Credential(token_hash=hash_token(token), **fields)
    db.session.add(credential)
    return credential, token


def find(token: object) -> Credential | None:
    """The credential a presented token belongs to, if any and not revoked."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    # Looking up the hash leaks at most timing about the hash, never the token.
    return db.session.execute(
        select(Credential).where(Credential.token_hash == hash_token(token), Credential.revoked_at.is_(None))
    ).scalar_one_or_none()


#: A browser may hold several credentials (organiser of one event, participant of another).
MAX_SESSION_CREDENTIALS = 20


def from_session(session) -> list[Credential]:
    """The credentials a browser signed in with that still exist and are not revoked."""
    ids = session.get("credentials") or []
    if not isinstance(ids, list) or not ids:
        return []
    ids = [i for i in ids if isinstance(i, int)][:MAX_SESSION_CREDENTIALS]
    return list(db.session.execute(
        select(Credential).where(Credential.id.in_(ids), Credential.revoked_at.is_(None))
    ).scalars())
