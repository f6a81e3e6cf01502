"""``roundtable serve``: gunicorn with gevent (or, as a fallback, its threaded worker) and Flask-SocketIO.

Why this server (docs/deployment.md has the measurements):

* **gevent** (the default): one greenlet per connection. A note is sent to
  every viewer by waking that viewer's writer; with greenlets a wake-up is a
  cheap switch inside one OS thread, with threads it is a context switch and a
  fight for the GIL. At 500 viewers that cut the server's CPU per note about
  three times and moved the cliff past 1,000 viewers (docs/performance.md).
  WebSockets through ``simple-websocket``; psycopg 3 waits cooperatively once
  gevent has patched the standard library, SQLite calls are short.
* **threads** (``--worker threads``): gunicorn's ``gthread`` worker and
  Flask-SocketIO's threading mode, no monkey-patching. A WebSocket holds a
  thread for its whole life, so the thread count is the connection limit.
* One worker process either way (Socket.IO's long-polling needs a client to
  stay on one process); scale out with more ``roundtable serve`` processes
  over Redis. ``--max-connections`` is a stated limit: a connection over it
  is refused with a message and a log line instead of hanging silently.
* The server runs in a fresh interpreter (``python -m roundtable.server``) so
  that gevent patches the standard library before any Roundtable module
  creates a lock; the worker builds and warms the app after that.
* Models load before the worker accepts its first connection: after a crash
  the first note does not wait for spaCy. Under gevent, name detection runs in
  a native thread beside the hub (``roundtable/off_hub.py``): a slow note does
  not stall every socket.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys

from gunicorn.app.base import BaseApplication

# No Roundtable module is imported up here: the worker imports them after gevent has patched the standard
# library (imports marked "lazy: after gevent's patching").

WORKERS = ("gevent", "threads")
# Connections kept for page loads and polling requests beyond the live (WebSocket) ones.
REQUEST_THREADS = 32
# spaCy's thinc imports PyTorch (and through it transformers) whenever they are installed, about 300 MB,
# although the name model the live path uses runs without them; only the after-save worker needs them.
KEPT_OUT_OF_SERVER = ("torch", "transformers")


class KeepOutOfServer:
    """An import hook that makes ``KEPT_OUT_OF_SERVER`` look not installed in this process.

    A finder, not ``sys.modules[name] = None``: SciPy (under scikit-learn) looks modules up in
    ``sys.modules`` and breaks on a ``None`` it finds there.
    """

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".", 1)[0] in KEPT_OUT_OF_SERVER:
            raise ModuleNotFoundError(f"{fullname} is kept out of the web server process", name=fullname)
        return None


def keep_heavy_libraries_out() -> None:
    """Refuse imports of ``KEPT_OUT_OF_SERVER`` from now on in this process (idempotent)."""
    if not any(isinstance(finder, KeepOutOfServer) for finder in sys.meta_path):
        sys.meta_path.insert(0, KeepOutOfServer())


def warm_up(app) -> None:
    """Load what the live path needs (the anonymizer's detectors and their models) and start the after-save
    worker, so that neither happens on the first note after a start or a crash."""
    from roundtable import off_hub  # lazy: after gevent's patching
    from roundtable.services.anonymize import Roster  # lazy: after gevent's patching

    if app.config["SOCKETIO_ASYNC_MODE"] == "gevent":
        off_hub.start()  # name detection in a real OS thread: a slow note must not stall every socket
    roundtable = app.extensions["roundtable"]
    for detector in roundtable.collect("register_detectors"):
        try:
            off_hub.call(detector.detect, ["Warm-up: Maria Lopez met Ana in Lisbon."], Roster.from_rows([]))
        except Exception:  # a detector that fails here fails the same way, visibly, on a note
            app.logger.warning("detector %s did not warm up", getattr(detector, "name", detector), exc_info=True)
    if roundtable.pm.hook.note_saved.get_hookimpls():
        from roundtable.web.live.after_save import after_save_worker  # lazy: after gevent's patching

        worker = after_save_worker(app)
        if hasattr(worker, "wait_until_ready") and not worker.wait_until_ready():
            app.logger.warning("the after-save worker is not ready yet; notes are served meanwhile")


class RoundtableServer(BaseApplication):
    """gunicorn run from Python: one worker (gevent or gthread) that builds (and warms) the app itself."""

    def __init__(self, host: str, port: int, max_connections: int, worker: str = "gevent"):
        if worker not in WORKERS:
            raise ValueError(f"worker must be one of {', '.join(WORKERS)}")
        connections = max_connections + REQUEST_THREADS
        self.options = {
            "bind": f"{host}:{port}",
            "workers": 1,
            "worker_class": "gevent" if worker == "gevent" else "gthread",
            "worker_connections": connections,
            "backlog": 2048,
            "graceful_timeout": 5,
            "keepalive": 5,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
        }
        if worker == "threads":
            self.options["threads"] = connections
        self.max_connections = max_connections
        self.app_config = {"MAX_CONNECTIONS": max_connections, "SERVES_WEB": True,
                           "SOCKETIO_ASYNC_MODE": "gevent" if worker == "gevent" else "threading"}
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # Built in the worker process, after the fork (and after gevent's patching): no database
        # connection, thread or lock crosses it.
        keep_heavy_libraries_out()
        from roundtable import create_app, note_trace  # lazy: after gevent's patching
        from roundtable.extensions import socketio  # lazy: after gevent's patching

        app = create_app(self.app_config)
        warm_up(app)
        note_trace.watch_server(socketio)
        # What start-up built (modules, the app, the models) lives as long as the process: keep it out of the
        # collector's full passes, which it made about twice as long at 1,000 viewers (docs/performance.md).
        gc.freeze()
        logging.getLogger("roundtable").info("ready for up to %s connections", self.max_connections)
        return app


def exec_server(host: str, port: int, max_connections: int, worker: str = "gevent") -> None:
    """Replace this process with a fresh interpreter running the server (same process id, same environment)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "roundtable.server", "--host", host, "--port", str(port),
                              "--max-connections", str(max_connections), "--worker", worker])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m roundtable.server", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--max-connections", type=int, default=1000)
    parser.add_argument("--worker", choices=WORKERS, default="gevent")
    args = parser.parse_args(argv)
    RoundtableServer(args.host, args.port, args.max_connections, args.worker).run()


if __name__ == "__main__":
    main()
