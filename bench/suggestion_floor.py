"""How many live chips a suggestion floor lets through, and how many of them are right.

The live page shows an author each codebook section's best theme for a note when its score reaches
``SUGGESTION_FLOOR``. Here every later note of a tuning set (dev, dev-extra; never the held-out set) gets
its per-section best, warm (sessions 1 and 2 coded, as in ``tagging_eval.py``) and cold, and each floor
reports chips shown and the share whose theme is the note's own coded theme (a note has one coded theme,
so a chip of its other section counts as wrong: the share is a lower bound on usefulness).

It also reports the live rule (:mod:`roundtable.services.suggestion_floor`): each report (a series) gets its
own floor from its coded sessions, one left out at a time, and its later notes' warm chips are shown from
that floor up; beside it, the old fixed 0.35. Chips per note and share right, per set. Cold chips are not in
that table: a series with nothing coded gets the default floor (0.35), the old number.

    python bench/suggestion_floor.py --sets dev,dev-extra [--json]
    python bench/suggestion_floor.py --sets heldout --rule-only   (the live rule's figures, once, at the end)
    python bench/suggestion_floor.py --demo   (the demo series' floor per suggester, and the CPU it costs)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import tagging_eval  # noqa: E402  (its sets, codebooks and suggesters)

from roundtable import Example  # noqa: E402
from roundtable.services.suggestion_floor import DEFAULT_FLOOR, floor_from, left_out_chips  # noqa: E402
from roundtable.services.tagging import suggest_per_section  # noqa: E402

FLOORS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
OLD_FLOOR = 0.35


def chips(set_name: str, suggester, roundtable, kinds=("warm", "cold")) -> dict[str, dict[str, list]]:
    """Per kind (warm, cold) and report: (score, right) for every section's best theme of every later note."""
    found: dict[str, dict[str, list]] = {kind: {} for kind in kinds}
    for report, rows in tagging_eval.load_set(set_name).items():
        codebook = tagging_eval.load_codebook_file(tagging_eval.DATA / "codebooks" / f"{report}.yaml")
        coded = [r for r in rows if r["session"] in tagging_eval.CODED_SESSIONS]
        later = [r for r in rows if r["session"] not in tagging_eval.CODED_SESSIONS]
        examples = [Example(r["text"], r["theme"], r["session"]) for r in coded]
        for kind in kinds:
            per_note = suggest_per_section([r["text"] for r in later], codebook, suggester.name,
                                           examples=examples if kind == "warm" else [], roundtable=roundtable)
            found[kind][report] = [[(s.score, s.theme == row["theme"]) for s in sections]
                                   for row, sections in zip(later, per_note)]
    return found


def series_floors(set_name: str, suggester, roundtable) -> dict[str, float]:
    """Each report's floor by the live rule, from its coded sessions only (top-level themes, as coded)."""
    floors = {}
    for report, rows in tagging_eval.load_set(set_name).items():
        codebook = tagging_eval.load_codebook_file(tagging_eval.DATA / "codebooks" / f"{report}.yaml")
        coded = [(r["text"], r["session"], {r["theme"]}) for r in rows if r["session"] in tagging_eval.CODED_SESSIONS]
        floor = floor_from(left_out_chips(coded, codebook, suggester.name, roundtable=roundtable, level="top"))
        floors[report] = DEFAULT_FLOOR if floor is None else round(floor, 3)
    return floors


def shown_per_note(per_report: dict[str, list], floor_of) -> dict:
    """Chips shown per note and the share of them right, each report's chips from ``floor_of(report)`` up."""
    notes = shown = right = 0
    for report, per_note in per_report.items():
        floor = floor_of(report)
        for note in per_note:
            notes += 1
            for score, is_right in note:
                if score >= floor:
                    shown += 1
                    right += is_right
    return {"notes": notes, "chips_per_note": round(shown / notes, 2) if notes else None,
            "right": round(right / shown, 2) if shown else None}


def rule_rows(sets, suggester_names) -> list[dict]:
    """The live rule against the old fixed floor, warm, per suggester and set."""
    rows = []
    for name in suggester_names:
        suggester, _ = tagging_eval.make_suggester(name, None)
        roundtable = tagging_eval.application_with(suggester)
        for set_name in sets:
            floors = series_floors(set_name, suggester, roundtable)
            warm = chips(set_name, suggester, roundtable, kinds=("warm",))["warm"]
            rows.append({"suggester": name, "set": set_name, "floors": floors,
                         "fixed": shown_per_note(warm, lambda _r: OLD_FLOOR),
                         "series": shown_per_note(warm, floors.get)})
    return rows


def print_rule(rows) -> None:
    print(f"live rule, warm: chips shown per note / share right (old fixed floor {OLD_FLOOR} vs each series' floor)")
    for row in rows:
        fixed, series = row["fixed"], row["series"]
        floors = ", ".join(f"{r} {f}" for r, f in row["floors"].items())
        print(f"{row['suggester']:<10} {row['set']:<10} notes {fixed['notes']:>4}  fixed {fixed['chips_per_note']} / "
              f"{fixed['right']}  series {series['chips_per_note']} / {series['right']}  (floors: {floors})")


def demo_rows(suggester_names) -> list[dict]:
    """The demo series' floor per suggester as the worker computes it (its own coded notes, one session left
    out), the CPU seconds that took, and its left-out chips shown at the old 0.35 and at the floor (in-sample:
    the floor was fitted on these chips)."""
    import tempfile
    import time

    from sqlalchemy import select

    from roundtable.application import Roundtable
    from roundtable.cli.demo import load_demo
    from roundtable.models import Series
    from roundtable.services.suggestion_floor import calibration_chips

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        roundtable = Roundtable({"SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{folder}/demo.sqlite"})
        load_demo(roundtable)
        with roundtable.database.session() as db:
            series_id = db.scalar(select(Series.id))
            for name in suggester_names:
                calibration_chips(db, series_id, name, roundtable=roundtable)  # warm: the model loads once
                cpu, wall = time.process_time(), time.perf_counter()
                chips_ = calibration_chips(db, series_id, name, roundtable=roundtable)
                floor = floor_from(chips_)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                row = {"suggester": name, "chips": len(chips_), "floor": round(floor, 3), "cpu_s": round(cpu, 2),
                       "wall_s": round(wall, 2)}
                for label, at in (("fixed", OLD_FLOOR), ("series", floor)):
                    shown = [right for score, right in chips_ if score >= at]
                    row[label] = {"shown": len(shown), "right": round(sum(shown) / len(shown), 2) if shown else None}
                rows.append(row)
        roundtable.database.dispose()
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="dev,dev-extra")
    parser.add_argument("--suggesters", default="semantic,lexical")
    parser.add_argument("--rule-only", action="store_true",
                        help="only the live rule's table (the one run allowed on the held-out set)")
    parser.add_argument("--demo", action="store_true", help="only the demo series' floor per suggester")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.demo:
        rows = demo_rows(args.suggesters.split(","))
        if args.json:
            print(json.dumps(rows, indent=2))
        for row in rows if not args.json else ():
            print(f"demo {row['suggester']:<10} floor {row['floor']}  left-out chips {row['chips']}: at 0.35 "
                  f"{row['fixed']['shown']} shown / {row['fixed']['right']} right, at the floor {row['series']['shown']}"
                  f" / {row['series']['right']}  calibration {row['cpu_s']} s CPU, {row['wall_s']} s wall")
        return 0
    sets = args.sets.split(",")
    if "heldout" in sets and not args.rule_only:
        print("suggestion_floor: the held-out set is not for choosing a floor (--rule-only measures the rule)",
              file=sys.stderr)
        return 2
    rule = rule_rows(sets, args.suggesters.split(","))
    if args.rule_only:
        print(json.dumps(rule, indent=2)) if args.json else print_rule(rule)
        return 0
    result = []
    for name in args.suggesters.split(","):
        suggester, _ = tagging_eval.make_suggester(name, None)
        roundtable = tagging_eval.application_with(suggester)
        for set_name in sets:
            for kind, per_report in chips(set_name, suggester, roundtable).items():
                pairs = [pair for per_note in per_report.values() for note in per_note for pair in note]
                row = {"suggester": name, "set": set_name, "kind": kind, "chips": len(pairs), "floors": {}}
                for floor in FLOORS:
                    shown = [right for score, right in pairs if score >= floor]
                    row["floors"][floor] = {"shown": len(shown),
                                            "right": round(sum(shown) / len(shown), 2) if shown else None}
                result.append(row)
    if args.json:
        print(json.dumps({"floors": result, "rule": rule}, indent=2))
        return 0
    print("suggester  set        kind  chips  " + "  ".join(f"floor {f:<10}" for f in FLOORS))
    for row in result:
        cells = [f"{c['shown']:>4} {c['right'] if c['right'] is not None else '-':>5}" + " " * 7
                 for c in row["floors"].values()]
        print(f"{row['suggester']:<10} {row['set']:<10} {row['kind']:<5} {row['chips']:>5}  " + "  ".join(cells))
    print()
    print_rule(rule)
    return 0


if __name__ == "__main__":
    sys.exit(main())
