"""The realtime wing: the y-socket.io engine (contract section 3).

Rooms and their handlers (rooms), the group-commit pipeline (pipeline),
pre-built frames and the Redis manager (frames), presence (awareness,
roster), the WebSocket server (wsserver), the serving process's GC policy
(gc_policy) and every override of a socket library's internals (overrides).

This face is all that the actions, the doors and the CLI use.
"""
from .rooms import (close_credentials, close_room, disconnect_credential, init_app, people, photos_changed,
                    publication_changed, relay_edit, stalled)


def serve(app, host: str, port: int) -> None:
    """Serve the app and its sockets until SIGTERM (gevent), or on Werkzeug (threading, for bench/)."""
    from ..extensions import socketio
    from . import gc_policy

    gc_policy.apply(socketio.start_background_task)
    if socketio.async_mode == "gevent":
        from . import wsserver

        wsserver.serve(app, host, port)
    else:
        socketio.run(app, host=host, port=port, log_output=False, use_reloader=False,
                     allow_unsafe_werkzeug=True)


__all__ = ["close_credentials", "close_room", "disconnect_credential", "init_app", "people", "photos_changed",
           "publication_changed", "relay_edit", "serve", "stalled"]
