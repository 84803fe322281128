"""Synthèse: co-write the synthesis of a live workshop, together, in the browser."""


def create_app(test_config=None):
    """Build the Flask application (see synthese.app).

    Kept lazy so that ``synthese serve`` can monkey-patch for gevent before
    Flask, SQLAlchemy or the socket modules are imported.
    """
    from .app import create_app as _create_app

    return _create_app(test_config)
