"""``roundtable serve``: upgrade the database, then replace this process with the server (roundtable/server.py)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from roundtable.application import current_roundtable
from roundtable.server import WORKERS, exec_server


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--max-connections", default=1000, show_default=True, type=click.IntRange(1, 20000),
              help="Live connections this process accepts; more are refused with a message.")
@click.option("--worker", type=click.Choice(WORKERS), default="gevent", show_default=True,
              help="gevent (greenlets, the default) or threads (gunicorn gthread, no monkey-patching).")
@with_appcontext
def serve_command(host, port, max_connections, worker):
    """Serve the app with gunicorn (the database is upgraded first)."""
    serve(host, port, max_connections, worker)


def serve(host: str, port: int, max_connections: int = 1000, worker: str = "gevent") -> None:
    database = current_roundtable().database
    database.upgrade()
    database.dispose()  # the server process builds its own app and connections
    click.echo(f"Roundtable on http://{host}:{port}/  (up to {max_connections} live connections, {worker}; "
               "Ctrl+C to stop)")
    exec_server(host, port, max_connections, worker)
