"""The HTTP and WebSocket server under gevent: pywsgi with gevent-websocket, adjusted.

gevent-websocket serves the WebSockets, with these changes:

- Nagle's algorithm is off on every connection. A Socket.IO binary event
  leaves as two small frames; with Nagle on, the second waits for the ACK
  of the first, which the peer delays by up to 40 ms. Node's servers set
  TCP_NODELAY too.
- Reading a message: gevent-websocket unmasks client frames one byte at a
  time in Python (142 ms for a 512 KiB paste, while no room moves) and
  buffers a message of any size. Here frames are unmasked in one operation,
  and a message over the limit closes the connection (1009) before its
  payload is read.
- Closing: the status code goes into the close frame (1009, 1007, 1002...),
  which gevent-websocket leaves out.
- Writing: synthese.realtime.frames' pre-built frames are written as they are,
  in one call, and at once when the socket is idle (write_now) instead of
  through Engine.IO's writer task.

How: synthese.realtime.overrides (every change to those libraries is there).
"""
import os
import signal

import gevent
import gevent.event

from . import overrides

#: Longest wait, when stopping, for the accepted updates to be committed.
SHUTDOWN_TIMEOUT = 5.0


def serve(app, host: str, port: int) -> None:
    """Serve ``app`` (HTTP and its Socket.IO WebSockets) until SIGTERM or SIGINT.

    Stopping is orderly: no new connections, the accepted updates committed,
    and this process's people taken out of every room (see Realtime.shutdown).
    """
    from gevent import pywsgi

    from ..extensions import socketio

    overrides.install(socketio.server)
    server = pywsgi.WSGIServer((host, port), app, log=None,
                               handler_class=overrides.handler_class(socketio.server.eio.max_http_buffer_size,
                                                           app.config.get("SYNTHESE_HTTP_TIMEOUT", overrides.HTTP_TIMEOUT)))

    stopped = gevent.event.Event()

    def stop(signum):
        if server.closed:
            os._exit(128 + signum)  # asked again while stopping: stop now
        server.close()  # no new connections
        app.extensions["synthese.realtime"].shutdown(SHUTDOWN_TIMEOUT)
        stopped.set()  # the process exits, closing its clients' sockets: they reconnect elsewhere

    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, stop, signum)
    server.start()
    stopped.wait()

