"""Security headers on every response, and the session cookie's settings."""
import secrets

from flask import g, request
from flask.sessions import SecureCookieSessionInterface


def content_security_policy(style_nonce: str | None) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            # The editor inserts its own <style> element, marked with this nonce.
            "style-src 'self'" + (f" 'nonce-{style_nonce}'" if style_nonce else ""),
            # Remote cursors are coloured through style attributes.
            "style-src-attr 'unsafe-inline'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ]
    )


def csp_nonce() -> str:
    """A nonce for this response's Content-Security-Policy."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, whose cookie is Secure whenever the
    request came over https (directly, or through a trusted proxy)."""

    def get_cookie_secure(self, app) -> bool:
        return request.is_secure or super().get_cookie_secure(app)


def init_app(app) -> None:
    app.session_interface = SessionInterface()
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def headers(response):
        response.headers.setdefault(
            "Content-Security-Policy", content_security_policy(g.get("csp_nonce"))
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Secret links must not leak to other sites through the Referer header.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        # Pages and API answers carry secret links, tokens and people's text:
        # no cache (a shared computer's, a proxy's) keeps them.
        if not request.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
