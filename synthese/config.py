"""Configuration defaults, overridden by SYNTHESE_* environment variables."""
import os
import secrets
from pathlib import Path

#: Largest Yjs update (document or awareness) accepted from one client message.
MAX_UPDATE_BYTES = 512 * 1024
#: Largest awareness (presence) update accepted from one client message.
MAX_AWARENESS_BYTES = 4 * 1024
#: Updates waiting for their commit, at most; beyond, updates are refused and
#: pulled again from their senders once the queue has room.
UPDATE_QUEUE = 20_000
#: Fold a sheet's update log into its snapshot once it holds this many updates.
COMPACT_AFTER = 500
#: A sheet's quota: structs (runs of characters) and bytes of text it may hold.
#: A day's workshop sheet typed by a dozen people holds a few thousand; a
#: fresh load of 100,000 scattered one-character structs took 91 ms.
MAX_SHEET_STRUCTS = 50_000
MAX_SHEET_BYTES = 4 * 1024 * 1024
#: Per socket: sustained rate and burst of each realtime event, and bytes per
#: second of document updates (a paste of a page is about 10 KB).
SOCKET_LIMITS = {
    "sync-update": (30, 300),
    "update-bytes": (256 * 1024, 4 * 1024 * 1024),
    # Structs checked and integrated: the CPU a socket may make the server spend.
    "update-structs": (2_000, 10_000),
    "awareness-update": (20, 60),
    "sync-step-1": (0.5, 5),
}
#: Open sockets at most per credential, and per client address.
MAX_SOCKETS_PER_CREDENTIAL = 20
MAX_SOCKETS_PER_ADDRESS = 400


def from_environment(instance_path: str) -> dict:
    """Return the configuration read from the environment."""
    env = os.environ
    return {
        "SQLALCHEMY_DATABASE_URI": env.get("SYNTHESE_DATABASE_URL")
        or f"sqlite:///{Path(instance_path) / 'synthese.db'}",
        "SYNTHESE_REDIS_URL": env.get("SYNTHESE_REDIS_URL") or None,
        "SECRET_KEY": env.get("SYNTHESE_SECRET_KEY") or _instance_secret(instance_path),
        # The time zone pages show times in (an event's people are in one place).
        "SYNTHESE_TIMEZONE": env.get("SYNTHESE_TIMEZONE") or "Europe/Paris",
        # "open": anyone may create an event; otherwise the value is a key that
        # POST /api/events must present as a Bearer token.
        "SYNTHESE_EVENT_CREATION": env.get("SYNTHESE_EVENT_CREATION", "open"),
        "SYNTHESE_DEMO": env.get("SYNTHESE_DEMO", "1") not in ("0", "false", "no"),
        "SYNTHESE_UPDATE_QUEUE": int(env.get("SYNTHESE_UPDATE_QUEUE", UPDATE_QUEUE)),
        # Seconds a group commit stays open for more updates (realtime/pipeline.py):
        # forum, 3 rounds alternating, 7 % server CPU at 0.1 against 7-11 % at 0.05.
        "SYNTHESE_COMMIT_WINDOW": float(env.get("SYNTHESE_COMMIT_WINDOW", 0.1)),
        "SYNTHESE_MAX_SHEET_STRUCTS": int(env.get("SYNTHESE_MAX_SHEET_STRUCTS", MAX_SHEET_STRUCTS)),
        "SYNTHESE_MAX_SHEET_BYTES": int(env.get("SYNTHESE_MAX_SHEET_BYTES", MAX_SHEET_BYTES)),
        "SYNTHESE_HTTP_TIMEOUT": float(env.get("SYNTHESE_HTTP_TIMEOUT", 20)),
        # Proceedings (PDF, ODT, DOCX) made at once by one process, and how long
        # a request waits for its turn before a 503 (synthese/proceedings.py).
        "SYNTHESE_CONVERSIONS": int(env.get("SYNTHESE_CONVERSIONS", 2)),
        "SYNTHESE_CONVERSION_WAIT": float(env.get("SYNTHESE_CONVERSION_WAIT", 60)),
        "SYNTHESE_MAX_SOCKETS_PER_CREDENTIAL": int(env.get("SYNTHESE_MAX_SOCKETS_PER_CREDENTIAL",
                                                           MAX_SOCKETS_PER_CREDENTIAL)),
        # Behind a venue's NAT, one address is the whole room: keep it generous.
        "SYNTHESE_MAX_SOCKETS_PER_ADDRESS": int(env.get("SYNTHESE_MAX_SOCKETS_PER_ADDRESS",
                                                        MAX_SOCKETS_PER_ADDRESS)),
        # Origins (scheme://host[:port]) allowed to open the realtime socket, comma
        # separated; by default only the origin the request was addressed to.
        # "off", or overrides of ratelimit.DEFAULT_RULES: "join_ip=300/60,bad_code_ip=20/600".
        "SYNTHESE_RATE_LIMITS": env.get("SYNTHESE_RATE_LIMITS", ""),
        # Reverse proxies in front of the server whose X-Forwarded-* headers to trust.
        "SYNTHESE_PROXIES": int(env.get("SYNTHESE_PROXIES", "0")),
        "SYNTHESE_ALLOWED_ORIGINS": [o.strip() for o in env.get("SYNTHESE_ALLOWED_ORIGINS", "").split(",")
                                     if o.strip()] or None,
    }


DEFAULTS = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    # Largest HTTP request body: an import (5 MiB) and its form wrapping.
    "MAX_CONTENT_LENGTH": 6 * 1024 * 1024,
    "SYNTHESE_MAX_UPDATE_BYTES": MAX_UPDATE_BYTES,
    "SYNTHESE_MAX_AWARENESS_BYTES": MAX_AWARENESS_BYTES,
    "SYNTHESE_COMPACT_AFTER": COMPACT_AFTER,
    "SYNTHESE_SOCKET_LIMITS": SOCKET_LIMITS,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # Send the session cookie only when it changes: fewer responses racing to set it.
    "SESSION_REFRESH_EACH_REQUEST": False,
    "PERMANENT_SESSION_LIFETIME": 60 * 60 * 24 * 60,
    # Flask-WTF's CSRF protection of every form post. The token lives as long
    # as the session: a porteur's page stays open all the workshop before
    # "Publier". No Referer check: our pages send none (Referrer-Policy).
    "WTF_CSRF_FIELD_NAME": "csrf",
    "WTF_CSRF_TIME_LIMIT": None,
    "WTF_CSRF_SSL_STRICT": False,
    "API_TITLE": "Synthèse",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
}


def _instance_secret(instance_path: str) -> str:
    """A secret key kept in the instance folder, so sessions survive restarts."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()
