"""Security headers on every response, and CSRF tokens for browser forms."""
import secrets

from flask import abort, g, request, session


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


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    """Refuse a form post that does not carry this browser's CSRF token."""
    sent = request.form.get("csrf", "")
    expected = session.get("csrf", "")
    if not expected or not secrets.compare_digest(sent.encode(), expected.encode()):
        abort(400, description="csrf")


def init_app(app) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token
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
        return response
