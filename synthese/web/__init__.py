"""The doors: the JSON API and the HTML pages. They parse a request, call an
action, render its result; who is asking is ``asking``'s answer."""


def init_app(app) -> None:
    from ..extensions import csrf
    from . import api as api_views, errors, organise, pages, ratelimit, security

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
