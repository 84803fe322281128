"""The ``synthese`` command: serve, export (and the same under ``flask --app synthese``).

This module imports nothing heavy at load time: ``serve`` must monkey-patch
for gevent before Flask, SQLAlchemy or sockets are imported.
"""
import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="synthese", description="Synthèse: live workshop syntheses.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument(
        "--async-mode",
        choices=["gevent", "threading"],
        default="gevent",
        help="gevent (default, measured in bench/) or threading (for comparison only)",
    )
    serve.add_argument("--no-demo", action="store_true", help="do not create the demo event")
    export = commands.add_parser("export", help="write an event's sheets as markdown")
    export.add_argument("slug")
    export.add_argument("-o", "--output", help="file to write (default: standard output)")
    export.add_argument("--published", action="store_true",
                        help="published versions only (default: the sheets as written now)")
    export.add_argument("--zip", action="store_true",
                        help="a zip of one file per sheet with YAML front matter (needs -o)")
    export.add_argument("--lang", choices=["fr", "en"], default="fr", help="language of the headings")
    imp = commands.add_parser("import", help="create sheets in an event from markdown or a zip of it")
    imp.add_argument("slug")
    imp.add_argument("file", help="a .md file (one sheet or a whole event) or a .zip of .md files")
    args = parser.parse_args(argv)

    if args.command == "serve" and args.async_mode == "gevent":
        from gevent import monkey

        monkey.patch_all()

    if args.command == "serve":
        import logging

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from . import create_app

    if args.command == "serve":
        overrides = {"SYNTHESE_ASYNC_MODE": args.async_mode}
        if args.no_demo:
            overrides["SYNTHESE_DEMO"] = False
        return serve_app(create_app(overrides), args.host, args.port)
    app = create_app()
    with app.app_context():
        if args.command == "import":
            return import_file(args.slug, args.file)
        return export_event(args.slug, args.output, args.published, args.zip, args.lang)


def serve_app(app, host: str, port: int) -> int:
    from flask_migrate import upgrade

    from . import demo, realtime

    with app.app_context():
        migrate_once(upgrade)
        saved = demo.ensure_demo() if app.config["SYNTHESE_DEMO"] else None
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"Synthèse on http://{shown}:{port}/", flush=True)
    if saved:
        for label, url in demo.links(saved, f"http://{shown}:{port}").items():
            print(f"  demo {label}: {url}", flush=True)
    realtime.serve(app, host, port)
    return 0


def migrate_once(upgrade) -> None:
    """Run the migrations; on PostgreSQL, one process at a time (several start together)."""
    from sqlalchemy import text

    from .extensions import db

    if db.engine.dialect.name != "postgresql":
        upgrade()
        return
    with db.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(7212001)"))
        try:
            upgrade()
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(7212001)"))
            conn.commit()


def export_event(slug: str, output: str | None, published: bool = False, as_zip: bool = False,
                 lang: str = "fr") -> int:
    from . import exporting
    from .access import OPERATOR
    from .events import event_by_slug

    event = event_by_slug(slug)
    if event is None:
        print(f"synthese: no event with slug {slug!r}", file=sys.stderr)
        return 1
    source = exporting.PUBLISHED if published else exporting.DRAFT
    if as_zip:
        if not output:
            print("synthese: --zip needs -o FILE", file=sys.stderr)
            return 2
        with open(output, "wb") as f:
            f.write(exporting.event_zip(OPERATOR, event, source, lang))
        return 0
    text = exporting.event_document(OPERATOR, event, source, lang)
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


def import_file(slug: str, path: str) -> int:
    from . import importing
    from .access import OPERATOR
    from .events import event_by_slug

    event = event_by_slug(slug)
    if event is None:
        print(f"synthese: no event with slug {slug!r}", file=sys.stderr)
        return 1
    with open(path, "rb") as f:
        data = f.read()
    if path.lower().endswith(".zip"):
        report = importing.import_zip(OPERATOR, event, data)
    else:
        report = importing.import_markdown(OPERATOR, event, data.decode("utf-8"), source=path)
    for created in report.created:
        session = f" ({created['session']})" if created["session"] else ""
        print(f"created: atelier {created['number']} - {created['title']}{session}")
    for problem in report.problems:
        print(f"not imported: {problem}", file=sys.stderr)
    return 0 if report.created or not report.problems else 1


def init_app(app) -> None:
    """``flask --app synthese export SLUG``."""
    import click

    @app.cli.command("export")
    @click.argument("slug")
    @click.option("-o", "--output", default=None)
    @click.option("--published", is_flag=True, help="Published versions only.")
    @click.option("--zip", "as_zip", is_flag=True, help="One file per sheet with front matter (needs -o).")
    @click.option("--lang", type=click.Choice(["fr", "en"]), default="fr")
    def export_command(slug, output, published, as_zip, lang):
        """Write an event's sheets as markdown."""
        sys.exit(export_event(slug, output, published, as_zip, lang))

    @app.cli.command("import")
    @click.argument("slug")
    @click.argument("path")
    def import_command(slug, path):
        """Create sheets in an event from markdown or a zip of it."""
        sys.exit(import_file(slug, path))


if __name__ == "__main__":
    sys.exit(main())
