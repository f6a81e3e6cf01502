"""How many live chips a suggestion floor lets through, and how many of them are right.

The live page shows an author each codebook section's best theme for a note when its score reaches
``SUGGESTION_FLOOR``. Here every later note of a tuning set (dev, dev-extra; never the held-out set) gets
its per-section best, warm (sessions 1 and 2 coded, as in ``tagging_eval.py``) and cold, and each floor
reports chips shown and the share whose theme is the note's own coded theme (a note has one coded theme,
so a chip of its other section counts as wrong: the share is a lower bound on usefulness).

    python bench/suggestion_floor.py --sets dev,dev-extra [--json]
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
from roundtable.services.tagging import suggest_per_section  # noqa: E402

FLOORS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)


def chips(set_name: str, suggester, roundtable) -> dict[str, list[tuple[float, bool]]]:
    """(score, right) for every section's best theme of every later note, warm and cold."""
    found: dict[str, list[tuple[float, bool]]] = {"warm": [], "cold": []}
    for report, rows in tagging_eval.load_set(set_name).items():
        codebook = tagging_eval.load_codebook_file(tagging_eval.DATA / "codebooks" / f"{report}.yaml")
        coded = [r for r in rows if r["session"] in tagging_eval.CODED_SESSIONS]
        later = [r for r in rows if r["session"] not in tagging_eval.CODED_SESSIONS]
        examples = [Example(r["text"], r["theme"], r["session"]) for r in coded]
        for kind, given in (("warm", examples), ("cold", [])):
            per_note = suggest_per_section([r["text"] for r in later], codebook, suggester.name,
                                           examples=given, roundtable=roundtable)
            for row, sections in zip(later, per_note):
                found[kind].extend((s.score, s.theme == row["theme"]) for s in sections)
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="dev,dev-extra")
    parser.add_argument("--suggesters", default="semantic,lexical")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sets = args.sets.split(",")
    if "heldout" in sets:
        print("suggestion_floor: the held-out set is not for choosing a floor", file=sys.stderr)
        return 2
    result = []
    for name in args.suggesters.split(","):
        suggester, _ = tagging_eval.make_suggester(name, None)
        roundtable = tagging_eval.application_with(suggester)
        for set_name in sets:
            for kind, pairs in chips(set_name, suggester, roundtable).items():
                row = {"suggester": name, "set": set_name, "kind": kind, "chips": len(pairs), "floors": {}}
                for floor in FLOORS:
                    shown = [right for score, right in pairs if score >= floor]
                    row["floors"][floor] = {"shown": len(shown),
                                            "right": round(sum(shown) / len(shown), 2) if shown else None}
                result.append(row)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print("suggester  set        kind  chips  " + "  ".join(f"floor {f:<10}" for f in FLOORS))
    for row in result:
        cells = [f"{c['shown']:>4} {c['right'] if c['right'] is not None else '-':>5}" + " " * 7
                 for c in row["floors"].values()]
        print(f"{row['suggester']:<10} {row['set']:<10} {row['kind']:<5} {row['chips']:>5}  " + "  ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
