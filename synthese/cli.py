"""The ``synthese`` command: serve, export, import.

One click group: the console script ``synthese`` runs it, and ``flask --app
synthese export|import`` finds the same commands on the app's own group.

``serve`` must monkey-patch for gevent before Flask, SQLAlchemy or sockets
are imported, so ``main`` does that before anything else is loaded.
"""
import sys


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"] and _async_mode(argv) == "gevent":
        from gevent import monkey

        monkey.patch_all()
    return cli().main(argv, prog_name="synthese")


def _async_mode(argv: list[str]) -> str:
    for i, arg in enumerate(argv):
        if arg.startswith("--async-mode="):
            return arg.partition("=")[2]
        if arg == "--async-mode" and i + 1 < len(argv):
            return argv[i + 1]
    return "gevent"


def cli():
    """The command group (built on demand: importing it imports Flask)."""
    import click
    from flask.cli import FlaskGroup

    @click.group(cls=FlaskGroup, create_app=_app, add_default_commands=False, add_version_option=False,
                 load_dotenv=False, set_debug_flag=False)
    def synthese():
        """Synthèse: live workshop syntheses."""

    synthese.add_command(serve_command())
    for command in commands():
        synthese.add_command(command)
    return synthese


def _app():
    from . import create_app

    return create_app()


def serve_command():
    import click

    @click.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", type=int, default=5000, show_default=True)
    @click.option("--async-mode", type=click.Choice(["gevent", "threading"]), default="gevent",
                  help="gevent (default, measured in bench/) or threading (for comparison only)")
    @click.option("--no-demo", is_flag=True, help="Do not create the demo event.")
    def serve(host, port, async_mode, no_demo):
        """Start the server."""
        import logging
        import os

        from . import create_app

        # Set by click's FlaskGroup; Flask would then ignore app.run(), which
        # the threading mode's server is.
        os.environ.pop("FLASK_RUN_FROM_CLI", None)

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        overrides = {"SYNTHESE_ASYNC_MODE": async_mode}
        if no_demo:
            overrides["SYNTHESE_DEMO"] = False
        sys.exit(serve_app(create_app(overrides), host, port))

    return serve


def commands() -> list:
    """The commands that need the app: on ``synthese`` and on ``flask --app synthese``."""
    import click
    from flask.cli import with_appcontext

    @click.command("export")
    @click.argument("slug")
    @click.option("-o", "--output", default=None, help="File to write (default: standard output).")
    @click.option("--published", is_flag=True, help="Published versions only (default: the sheets as written now).")
    @click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default=None,
                  help="md (default), zip (one markdown file per sheet), or the proceedings as pdf, odt or docx; "
                       "by default, the output file's extension.")
    @click.option("--zip", "as_zip", is_flag=True, help="Same as --format zip.")
    @click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", help="Language of the headings.")
    @with_appcontext
    def export_command(slug, output, published, fmt, as_zip, lang):
        """Write an event's sheets: markdown, a zip, or the proceedings as a document."""
        if as_zip:
            fmt = "zip"
        elif fmt is None:
            suffix = output.rsplit(".", 1)[-1].lower() if output and "." in output else "md"
            fmt = suffix if suffix in EXPORT_FORMATS else "md"
        sys.exit(export_event(slug, output, published, fmt, lang))

    @click.command("import")
    @click.argument("slug")
    @click.argument("path")
    @with_appcontext
    def import_command(slug, path):
        """Create sheets in an event from markdown (one sheet or a whole event) or a zip of it."""
        sys.exit(import_file(slug, path))

    return [export_command, import_command]


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


EXPORT_FORMATS = ("md", "zip", "pdf", "odt", "docx")


def export_event(slug: str, output: str | None, published: bool = False, fmt: str = "md",
                 lang: str = "fr") -> int:
    from . import exporting
    from .access import OPERATOR
    from .events import DomainError, event_by_slug

    event = event_by_slug(slug)
    if event is None:
        print(f"synthese: no event with slug {slug!r}", file=sys.stderr)
        return 1
    source = exporting.PUBLISHED if published else exporting.DRAFT
    if fmt != "md":
        if not output:
            print(f"synthese: --format {fmt} needs -o FILE", file=sys.stderr)
            return 2
        try:
            data = (exporting.event_zip(OPERATOR, event, source, lang) if fmt == "zip"
                    else exporting.event_proceedings(OPERATOR, event, fmt, source, lang))
        except DomainError as exc:
            print(f"synthese: {exc.message}", file=sys.stderr)
            return 1
        with open(output, "wb") as f:
            f.write(data)
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
    """``flask --app synthese export|import``: the same commands."""
    for command in commands():
        app.cli.add_command(command)


if __name__ == "__main__":
    sys.exit(main())
