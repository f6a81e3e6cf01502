"""``roundtable serve``: gunicorn's threaded worker (``gthread``) with Flask-SocketIO's threading mode.

Why this server (docs/deployment.md has the measurements):

* A production WSGI server that speaks WebSocket with ``simple-websocket`` in
  threading mode, so everything the live path touches (SQLAlchemy, psycopg,
  spaCy's native threads) runs as plain threads, without monkey-patching.
* One worker process (Socket.IO's long-polling needs a client to stay on one
  process); scale out with more ``roundtable serve`` processes over Redis.
* A WebSocket holds a thread for its whole life, so the thread count *is* the
  connection limit. ``--max-connections`` sets it (threads = connections plus
  a reserve for page requests), and a connection over the limit is refused
  with a message and a log line instead of hanging silently.
* Models load before the worker accepts its first connection: after a crash
  the first note does not wait for spaCy.
"""

from __future__ import annotations

import logging

from gunicorn.app.base import BaseApplication

# Threads kept for page loads and polling requests beyond the WebSocket connections.
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
    import sys

    if not any(isinstance(finder, KeepOutOfServer) for finder in sys.meta_path):
        sys.meta_path.insert(0, KeepOutOfServer())


def warm_up(app) -> None:
    """Load what the live path needs (the anonymizer's detectors and their models) and start the after-save
    worker, so that neither happens on the first note after a start or a crash."""
    from roundtable.services.anonymize import Roster

    roundtable = app.extensions["roundtable"]
    for detector in roundtable.collect("register_detectors"):
        try:
            detector.detect(["Warm-up: Maria Lopez met Ana in Lisbon."], Roster.from_rows([]))
        except Exception:  # a detector that fails here fails the same way, visibly, on a note
            app.logger.warning("detector %s did not warm up", getattr(detector, "name", detector), exc_info=True)
    if roundtable.pm.hook.note_saved.get_hookimpls():
        from roundtable.web.live.after_save import after_save_worker

        worker = after_save_worker(app)
        if hasattr(worker, "wait_until_ready") and not worker.wait_until_ready():
            app.logger.warning("the after-save worker is not ready yet; notes are served meanwhile")


class RoundtableServer(BaseApplication):
    """gunicorn run from Python: one ``gthread`` worker that builds (and warms) the app itself."""

    def __init__(self, host: str, port: int, max_connections: int, app_config: dict | None = None):
        self.options = {
            "bind": f"{host}:{port}",
            "workers": 1,
            "worker_class": "gthread",
            "threads": max_connections + REQUEST_THREADS,
            "worker_connections": max_connections + REQUEST_THREADS,
            "backlog": 2048,
            "graceful_timeout": 5,
            "keepalive": 5,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
        }
        self.max_connections = max_connections
        self.app_config = dict(app_config or {}, MAX_CONNECTIONS=max_connections)
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # Built in the worker process, after the fork: no database connection or thread crosses it.
        keep_heavy_libraries_out()
        from roundtable import create_app

        app = create_app(self.app_config)
        warm_up(app)
        logging.getLogger("roundtable").info("ready for up to %s connections", self.max_connections)
        return app
