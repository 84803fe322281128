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
        return export_event(args.slug, args.output)


def serve_app(app, host: str, port: int) -> int:
    from flask_migrate import upgrade

    from . import demo, gc_policy
    from .extensions import socketio

    with app.app_context():
        upgrade()
        saved = demo.ensure_demo() if app.config["SYNTHESE_DEMO"] else None
    gc_policy.apply(socketio.start_background_task)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"Synthèse on http://{shown}:{port}/", flush=True)
    if saved:
        for label, url in demo.links(saved, f"http://{shown}:{port}").items():
            print(f"  demo {label}: {url}", flush=True)
    if socketio.async_mode == "gevent":
        from gevent import pywsgi

        pywsgi.WSGIServer((host, port), app, handler_class=_no_delay_handler(), log=None).serve_forever()
    else:
        # Threading mode runs on Werkzeug's server: kept only to compare in bench/.
        socketio.run(app, host=host, port=port, log_output=False, use_reloader=False,
                     allow_unsafe_werkzeug=True)
    return 0


def _no_delay_handler():
    """gevent-websocket's handler, with Nagle's algorithm off on every connection.

    A Socket.IO binary event leaves as two small WebSocket frames; with
    Nagle on, the second waits for the ACK of the first, which the peer
    delays by up to 40 ms. Node's servers set TCP_NODELAY too.
    """
    import socket

    from geventwebsocket.handler import WebSocketHandler

    class NoDelayHandler(WebSocketHandler):
        def handle(self):
            try:
                self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass  # not TCP (a Unix socket behind a proxy)
            return super().handle()

    return NoDelayHandler


def export_event(slug: str, output: str | None) -> int:
    from .events import event_by_slug
    from .markdown import event_markdown

    event = event_by_slug(slug)
    if event is None:
        print(f"synthese: no event with slug {slug!r}", file=sys.stderr)
        return 1
    text = event_markdown(event)
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


def init_app(app) -> None:
    """``flask --app synthese export SLUG``."""
    import click

    @app.cli.command("export")
    @click.argument("slug")
    @click.option("-o", "--output", default=None)
    def export_command(slug, output):
        """Write an event's sheets as markdown."""
        sys.exit(export_event(slug, output))


if __name__ == "__main__":
    sys.exit(main())
