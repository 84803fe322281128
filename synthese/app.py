"""The application factory: configuration, extensions, blueprints, CLI."""
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from . import config
from .extensions import api, db, migrate, socketio

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config=None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(config.DEFAULTS)
    if test_config is None or "SQLALCHEMY_DATABASE_URI" not in test_config:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(config.from_environment(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    api.init_app(app)

    from . import api as api_views, errors, i18n, pages, realtime, security
    from .documents import DocumentStore

    app.extensions["synthese.documents"] = DocumentStore(app.config["SYNTHESE_COMPACT_AFTER"])

    api.register_blueprint(api_views.blp)
    app.register_blueprint(pages.bp)
    errors.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    realtime.init_app(app)

    from . import cli

    cli.init_app(app)
    return app


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL lets readers run beside the writer; FULL makes each commit durable."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
