"""The application factory: configuration, extensions, blueprints, CLI."""
from pathlib import Path

from flask import Flask

from . import config, database  # noqa: F401  (database registers the SQLite settings)
from .extensions import db, migrate

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

    if app.config.get("SYNTHESE_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["SYNTHESE_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))

    from . import i18n, proceedings, realtime, web
    from .web import assets
    from .documents import DocumentStore

    with app.app_context():
        app.extensions["synthese.documents"] = DocumentStore(
            db.engine, app.config["SYNTHESE_COMPACT_AFTER"],
            app.config["SYNTHESE_MAX_SHEET_STRUCTS"], app.config["SYNTHESE_MAX_SHEET_BYTES"])

    proceedings.configure(app.config["SYNTHESE_CONVERSIONS"], app.config["SYNTHESE_CONVERSION_WAIT"])
    web.init_app(app)
    i18n.init_app(app)
    realtime.init_app(app)
    # After the socket middleware: static files are served before it.
    assets.init_app(app, ROOT)

    from . import cli

    cli.init_app(app)
    return app
