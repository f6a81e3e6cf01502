"""Round trips to PostgreSQL per live socket event, counted with libpq's trace.

Every message psycopg's libpq sends is traced; a round trip is one the client then waits on: a simple
``Query`` (``BEGIN``, ``COMMIT``, ``ROLLBACK``) or the ``Sync`` that ends a statement's Parse/Bind/Execute.
The events run through Flask-SocketIO's test client against the real handlers, access check included, on a
fresh schema of ``--database-url``; a warm-up note first, so the counts are a running server's. The rate
limit is off (it lives in the process or in Redis, never in PostgreSQL); the Redis hop of a broadcast is not
a PostgreSQL round trip and is not counted.

    python bench/round_trips.py --database-url postgresql://postgres@127.0.0.1:5432/roundtable_bench
    python bench/round_trips.py --database-url ... --notes 5 --show --json

Prints, per event kind, the round trips of one event (the median over ``--notes`` events: psycopg prepares
a statement on its fifth use on a connection, one round trip more in that event) and, with ``--show``, the
statements of the last one in order.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import event

from roundtable.live_clients import PASSWORD, SECRET_KEY, empty_schema, prepare_database


class Trace:
    """libpq's trace of every connection of ``engine``, into one file; ``events()`` reads what was sent since
    the last ``mark()``, one (kind, statement) per round trip."""

    def __init__(self, engine, path: Path):
        self.file = open(path, "w+b", buffering=0)
        self.start = 0

        @event.listens_for(engine.pool, "connect")
        def _trace(dbapi_conn, _record):
            from psycopg import pq

            dbapi_conn.pgconn.trace(self.file.fileno())
            dbapi_conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

    def mark(self) -> None:
        self.start = os.fstat(self.file.fileno()).st_size

    def round_trips(self) -> list[str]:
        self.file.seek(0)
        before = self.file.read(self.start).decode("utf-8", "replace").splitlines()
        lines = self.file.read().decode("utf-8", "replace").splitlines()
        # Statements psycopg prepared earlier, by name (for display only: names are per connection).
        prepared = {}
        for line in before:
            parts = line.split("\t")
            if len(parts) > 3 and parts[:1] == ["F"] and parts[2] == "Parse":
                prepared.setdefault(*parts[3].split('"', 4)[1::2][:2])
        trips, statement = [], ""
        for line in lines:
            parts = line.split("\t")  # direction, length, message, its arguments
            if len(parts) < 3 or parts[0] != "F":
                continue
            message, arguments = parts[2], parts[3] if len(parts) > 3 else ""
            if message == "Query":
                trips.append(arguments.strip().strip('"'))
            elif message == "Parse":  # "name" "statement" ...: a name when psycopg prepares it (one round trip)
                name, statement = arguments.split('"', 4)[1::2][:2]
                if name:
                    prepared[name] = statement
                    statement = "(preparing) " + statement
            elif message == "Bind":  # "portal" "name" ...
                name = arguments.split('"', 4)[3]
                if name:
                    statement = prepared.get(name, "(prepared before the trace) " + name)
            elif message == "Sync":
                trips.append(statement)
        return [" ".join(t.replace("\\x0a", " ").split())[:140] for t in trips]


def measure(database_url: str, notes: int, plugins: str, text: str = "the city should fund more legal aid") -> dict:
    from roundtable import create_app

    os.environ["ROUNDTABLE_LOAD_PLUGINS"] = plugins
    people = prepare_database(empty_schema(database_url), note_takers=1, viewers=0)
    with tempfile.TemporaryDirectory(prefix="rt-trips-") as tmp:
        app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY,
                          "INSTANCE_PATH": str(Path(tmp) / "instance"), "WTF_CSRF_ENABLED": False,
                          "RATELIMIT_ENABLED": False})
        engine = app.extensions["roundtable"].database.engine
        engine.dispose()  # connections made from here on are traced
        trace = Trace(engine, Path(tmp) / "libpq.trace")
        web = app.test_client()
        assert web.post("/auth/login", data={"email": people["note-takers"][0], "password": PASSWORD}).status_code == 302
        socket = app.extensions["socketio"].test_client(app, flask_test_client=web)
        session_id = people["session_id"]
        socket.emit("session:join", {"session_id": session_id, "after": 0}, callback=True)

        def add():
            reply = socket.emit("note:add", {"session_id": session_id, "uuid": str(uuid.uuid4()),
                                             "text": text}, callback=True)
            assert reply.get("ok"), reply
            return reply

        add()  # warm-up
        events = {"note:add": add,
                  "notes:since": lambda: socket.emit("notes:since", {"session_id": session_id, "after": 0},
                                                     callback=True),
                  "session:join (rejoin)": lambda: socket.emit("session:join", {"session_id": session_id,
                                                                                "after": 10**6}, callback=True)}
        result = {}
        for name, run in events.items():
            counts, last = [], []
            for _ in range(notes):
                trace.mark()
                run()
                last = trace.round_trips()
                counts.append(len(last))
            result[name] = {"round_trips": statistics.median(counts), "per_event": counts, "statements": last}
        socket.disconnect()
        app.extensions["roundtable"].database.dispose()
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL; its public schema is emptied first")
    parser.add_argument("--notes", type=int, default=5, help="events of each kind to count")
    parser.add_argument("--plugins", default="roster,contact_details", help="ROUNDTABLE_LOAD_PLUGINS")
    parser.add_argument("--text", default="the city should fund more legal aid",
                        help="each note's text (a full name in it: the session's memory of names is read and written)")
    parser.add_argument("--show", action="store_true", help="print the statements of one event of each kind")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be PostgreSQL (libpq's trace)")
    if not 1 <= args.notes <= 1000:
        parser.error("--notes must be between 1 and 1000")
    result = measure(args.database_url, args.notes, args.plugins, args.text)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name, figures in result.items():
        print(f"{name}: {figures['round_trips']:g} round trips (each event: {figures['per_event']})")
        if args.show:
            for n, statement in enumerate(figures["statements"], 1):
                print(f"  {n}. {statement}")


if __name__ == "__main__":
    main(sys.argv[1:])
