"""Errors: JSON ``{"error": {"code", "message"}}`` under /api, HTML pages elsewhere."""
import logging

from flask import render_template, request
from werkzeug.exceptions import BadRequest, HTTPException

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
    500: "server_error",
}


class ApiError(HTTPException):
    """Raise from a view to answer with a specific status, code and message."""

    def __init__(self, status: int, code: str, message: str, details=None):
        super().__init__(message)
        self.code = status
        self.error_code = code
        self.description = message
        self.details = details


def json_error(error: HTTPException):
    payload = {
        "code": getattr(error, "error_code", None) or CODES.get(error.code, "error"),
        "message": error.description,
    }
    details = getattr(error, "details", None)
    data = getattr(error, "data", None)  # webargs validation messages
    if data and ("messages" in data or "errors" in data):
        details = data.get("errors") or data.get("messages")
        payload["code"] = "invalid"
        payload["message"] = "The request does not match what this endpoint expects."
    if details:
        payload["details"] = details
    headers = (data or {}).get("headers", {}) if isinstance(data, dict) else {}
    return {"error": payload}, error.code, headers


def handle_http_exception(error: HTTPException):
    if request.path.startswith("/api/") or request.path == "/api":
        return json_error(error)
    own = error.description != type(error).description
    return render_template("error.html", error=error, own_description=own), error.code


def handle_rate_limited(error):
    from ..i18n import gettext as _

    if request.path.startswith("/api/"):
        body, status, _headers = json_error(ApiError(429, "rate_limited", "Too many attempts; try again later."))
    else:
        refused = ApiError(429, "rate_limited", _("Trop de tentatives : réessayez dans un moment."))
        body, status = render_template("error.html", error=refused, own_description=True), 429
    return body, status, {"Retry-After": str(error.retry_after)}


def handle_database_unavailable(error):
    """The database is away (restart, network): say so, and when to try again."""
    from ..extensions import db
    from ..i18n import gettext as _

    logging.getLogger(__name__).error("database unavailable: %s", error.__class__.__name__)
    db.session.remove()
    if request.path.startswith("/api/"):
        body, status, _headers = json_error(ApiError(503, "unavailable", "The database is unavailable; try again."))
    else:
        down = ApiError(503, "unavailable", _("Le service reprend dans un instant : réessayez."))
        body, status = render_template("error.html", error=down, own_description=True), 503
    return body, status, {"Retry-After": "5"}


def handle_csrf_error(_error):
    """A form posted without this browser's token (expired session, or another site's page)."""
    return handle_http_exception(BadRequest(description="csrf"))


def init_app(app) -> None:
    from flask_wtf.csrf import CSRFError
    from sqlalchemy.exc import InterfaceError, OperationalError

    from .ratelimit import RateLimited

    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(RateLimited, handle_rate_limited)
    app.register_error_handler(CSRFError, handle_csrf_error)
    # Connection lost, server restarting, SQLite locked: not a bug, try again.
    # (An IntegrityError, say, stays a 500: that one is a bug.)
    for unavailable in (OperationalError, InterfaceError):
        app.register_error_handler(unavailable, handle_database_unavailable)
