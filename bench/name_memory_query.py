"""The cost of the session memory of names on the live path: its one query per note, timed.

    python bench/name_memory_query.py --database-url postgresql://postgres@127.0.0.1:5432/roundtable_bench
    python bench/name_memory_query.py --database-url sqlite:////tmp/memory.sqlite

Fills one session's memory with ``--remembered`` digests, then times ``remembered_digests`` (the ``SELECT digest
FROM name_memory WHERE session_id = ? AND digest IN (...)`` a note with capitalised words costs) ``--queries``
times, each for ``--words`` random digests, on one connection, as a server process does. A PostgreSQL database's
public schema is emptied first.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import time

from sqlalchemy import select


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--remembered", type=int, default=200, help="digests in the session's memory")
    parser.add_argument("--words", type=int, default=6, help="capitalised words per note")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from roundtable.db import Database
    from roundtable.live_clients import empty_schema, make_series
    from roundtable.models import Session
    from roundtable.services.anonymize.name_memory import remember_statement, remembered_digests

    if args.database_url.startswith("postgresql"):
        empty_schema(args.database_url)
    database = Database(args.database_url, secret_key="bench")
    database.upgrade()
    with database.session() as db:
        series = make_series(db)
        session_id = db.scalar(select(Session.id).where(Session.series_id == series.id, Session.number == 1))
        db.execute(remember_statement(db, session_id, series.id,
                                      [secrets.token_bytes(32) for _ in range(args.remembered)]))
    times = []
    load_before = os.getloadavg()[0]
    with database.session() as db:
        for _ in range(args.queries):
            wanted = [secrets.token_bytes(32) for _ in range(args.words)]
            started = time.perf_counter()
            remembered_digests(db, session_id, wanted)
            times.append((time.perf_counter() - started) * 1000)
    database.dispose()
    times.sort()
    result = {"median_ms": round(statistics.median(times), 3), "p95_ms": round(times[int(0.95 * len(times)) - 1], 3),
              "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)]}
    if args.json:
        print(json.dumps(result))
        return
    print(f"memory query: median {result['median_ms']:.3f} ms, p95 {result['p95_ms']:.3f} ms "
          f"(load average {result['load_average'][0]} / {result['load_average'][1]})")


if __name__ == "__main__":
    main()
