"""Rate limits: fixed-window counters (the ``limits`` library), in Redis
when configured (shared by every process), else in this process.

Limits are per event code and per token wherever those exist, and per IP
address only as a generous backstop, so that a whole venue behind one NAT
address can join at once while someone scripting the join form cannot.
"""
import time
from dataclasses import dataclass

import limits
from flask import current_app, request
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import FixedWindowRateLimiter

from ..events import DomainError


@dataclass(frozen=True)
class Rule:
    limit: int
    #: Window length, seconds.
    window: int


#: name -> rule; ``SYNTHESE_RATE_LIMITS`` overrides entries, or is "off".
DEFAULT_RULES = {
    # Creating events: per IP (there is no token yet). Generous: scripts and
    # test suites of API clients create many; it bounds a flood, no more.
    "event_create_ip": Rule(300, 600),
    # Joining: per event code, then per IP as a backstop (a venue NAT).
    "join_code": Rule(1000, 60),
    "join_ip": Rule(600, 60),
    # Wrong codes: guessing attempts, per IP (codes have 31^6 values).
    "bad_code_ip": Rule(50, 600),
    # Invalid tokens: 256-bit tokens cannot be guessed; this bounds a flood.
    "bad_token_ip": Rule(300, 60),
    # Open-space proposals: per participant token.
    "propose_token": Rule(20, 3600),
    # Searching an event: per IP, generous (a room behind one NAT).
    "search_ip": Rule(600, 60),
    # Photos of the boards: per token (each is decoded and re-encoded).
    "photo_token": Rule(60, 3600),
}


class RateLimited(Exception):
    def __init__(self, rule: str, retry_after: int):
        super().__init__(f"rate limit {rule}")
        self.rule = rule
        self.retry_after = retry_after


class Limiter:
    """The ``limits`` library's fixed windows, in Redis when configured (shared
    by every process), else in this process; in this process too while Redis
    is away, rather than not at all."""

    def __init__(self, rules: dict[str, Rule] | None, redis_url: str | None = None):
        #: None: limits are off.
        self.rules = rules
        self._items = {name: limits.RateLimitItemPerSecond(rule.limit, rule.window)
                       for name, rule in (rules or {}).items()}
        self._local = FixedWindowRateLimiter(MemoryStorage())
        self._shared = None
        if redis_url and rules is not None:
            self._shared = FixedWindowRateLimiter(
                RedisStorage(redis_url, socket_timeout=1, socket_connect_timeout=1))

    def hit(self, name: str, key: object) -> None:
        """Count one attempt; raise RateLimited past the rule's limit."""
        if self.rules is None:
            return
        item = self._items[name]
        limiter = self._shared or self._local
        try:
            allowed = limiter.hit(item, "synthese", name, str(key))
        except Exception:
            if limiter is self._local:
                raise
            limiter = self._local  # Redis away
            allowed = limiter.hit(item, "synthese", name, str(key))
        if not allowed:
            reset = limiter.get_window_stats(item, "synthese", name, str(key)).reset_time
            raise RateLimited(name, max(1, int(reset - time.time())))


def rules_from(setting) -> dict[str, Rule] | None:
    """``SYNTHESE_RATE_LIMITS``: "off", or "name=limit/seconds,..." overriding the defaults."""
    if setting in ("off", "0", "false"):
        return None
    rules = dict(DEFAULT_RULES)
    if isinstance(setting, dict):
        rules.update(setting)
    elif setting:
        for item in str(setting).split(","):
            name, _, spec = item.strip().partition("=")
            limit, _, window = spec.partition("/")
            if name not in rules:
                raise ValueError(f"unknown rate limit {name!r}")
            rules[name] = Rule(int(limit), int(window or 60))
    return rules


def init_app(app) -> None:
    app.extensions["synthese.limiter"] = Limiter(
        rules_from(app.config.get("SYNTHESE_RATE_LIMITS")), app.config.get("SYNTHESE_REDIS_URL")
    )


def photo_upload(who, atelier) -> tuple[bytes, str]:
    """A photo form's file and caption, counted against its sender's token
    (each photo is decoded and re-encoded); both doors read it so."""
    _role, credential = who.on_atelier(atelier)
    if credential is not None:
        hit("photo_token", credential.id)
    upload = request.files.get("photo")
    return (upload.read() if upload else b""), request.form.get("caption", "")


def hit(name: str, key: object = None) -> None:
    """Count an attempt of the current request (keyed by client IP when no key is given)."""
    current_app.extensions["synthese.limiter"].hit(name, request.remote_addr if key is None else key)


def joining(event, attempt):
    """A join attempt, counted: per address and per event code, and wrong
    codes once known wrong, so that a right code is never refused for
    others' mistakes (a venue's NAT). ``event`` None: no event has that code."""
    hit("join_ip")
    if event is None:
        hit("bad_code_ip")
        return None
    hit("join_code", event.id)
    try:
        return attempt()
    except DomainError as exc:
        if exc.code == "bad_code":
            hit("bad_code_ip")
        raise
