"""The doors: the JSON API and the HTML pages. They parse a request, call an
action, render its result; who is asking is ``asking``'s answer."""


from werkzeug.routing import IntegerConverter


class Identifier(IntegerConverter):
    """``<int:…>`` in every route: an id the databases can hold (1 to 2³¹-1,
    PostgreSQL's integer), so that /photos/9223372036854775808.jpg is a 404
    rather than an overflow in SQLite's driver."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def init_app(app) -> None:
    from ..extensions import csrf
    from . import api as api_views, errors, organise, pages, ratelimit, security

    app.url_map.converters["int"] = Identifier  # before any route is added
    api_views.rest.init_app(app)
    api_views.rest.register_blueprint(api_views.blp)
    # Every form post carries the browser's CSRF token; the API's changes
    # need a Bearer token, which no other site can make a browser send.
    csrf.init_app(app)
    csrf.exempt(api_views.blp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(organise.bp)
    errors.init_app(app)
    ratelimit.init_app(app)
    security.init_app(app)
