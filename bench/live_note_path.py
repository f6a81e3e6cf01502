"""Benchmark: the server's work per live note, in process, without sockets.

Measures, on a SQLite file with a roster of ``--people`` participants:
- ``anonymize``: ``anonymizer_for_series(db, series, roundtable).anonymize(text)`` as the live path
  calls it (reads the roster and kept terms, finds the cached anonymizer, anonymizes);
- ``add_note``: ``NoteStream.add_note`` end to end (anonymize, sequence number, insert, commit).

    python bench/live_note_path.py [--people 30] [--notes 300] [--plugins roster,patterns] [--json]

Target (anonymization issue): at most 10 ms added to a live note without ner.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=30)
    parser.add_argument("--notes", type=int, default=300)
    parser.add_argument("--plugins", default="roster,contact_details", help="ROUNDTABLE_LOAD_PLUGINS for the run")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    os.environ["ROUNDTABLE_LOAD_PLUGINS"] = args.plugins

    from roundtable.application import Roundtable
    from roundtable.models import Participant, Series, Session, SessionState
    from roundtable.services.anonymize import anonymizer_for_series
    from roundtable.services.notes import NoteStream

    with tempfile.TemporaryDirectory() as tmp:
        roundtable = Roundtable({"SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.sqlite'}"})
        database = roundtable.database
        database.upgrade()
        with database.session() as db:
            series = Series(slug="bench", title="Bench")
            db.add(series)
            db.flush()
            for i in range(args.people):
                db.add(Participant(series_id=series.id, name=f"Person{i} Family{i}", aliases=[f"P{i}"],
                                   affiliation=f"Agency {i}", role_label="scholar"))
            meeting = Session(series_id=series.id, number=1, state=SessionState.LIVE)
            db.add(meeting)
            db.flush()
            series_id, session_id = series.id, meeting.id
        texts = [f"Person{i % args.people} said the county shares data with agency {i}; call +1 415 555 01{i % 90:02d}"
                 for i in range(args.notes)]

        anonymize_ms = []
        with database.session() as db:
            series = db.get(Series, series_id)
            anonymizer_for_series(db, series, roundtable).anonymize(texts[0])  # compile once, as a server does
            for text in texts:
                started = time.perf_counter()
                anonymizer_for_series(db, series, roundtable).anonymize(text)
                anonymize_ms.append((time.perf_counter() - started) * 1000)

        add_ms = []
        for text in texts:
            with database.session() as db:
                started = time.perf_counter()
                NoteStream(db, roundtable).add_note(session_id, str(uuid.uuid4()), text, commit_alone=True)
                add_ms.append((time.perf_counter() - started) * 1000)
        database.dispose()

    def summary(values):
        ordered = sorted(values)
        return {"mean_ms": round(statistics.fmean(values), 3), "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3)}

    result = {"people": args.people, "notes": args.notes, "plugins": args.plugins,
              "anonymize": summary(anonymize_ms), "add_note": summary(add_ms)}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.notes} notes, roster of {args.people}, plugins {args.plugins}")
    for stage in ("anonymize", "add_note"):
        print(f"  {stage:<10} mean {result[stage]['mean_ms']:.3f} ms   p95 {result[stage]['p95_ms']:.3f} ms")


if __name__ == "__main__":
    main()
