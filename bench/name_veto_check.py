"""Check that ``ROUNDTABLE_NAME_VETO=batch`` removes at least what ``everywhere`` removes, text by text.

    python bench/name_veto_check.py [--part tune|heldout|fresh|all] [--json] [--show]

The medium model's veto only drops the small model's guesses, so a web server run with ``batch`` (no veto)
should remove every letter the veto run removes, and may remove more (words a place or a work that the veto
would have kept). The code suggests it; this checks it on data: every text of the evaluation sets of
``bench/anonymize_eval.py`` is anonymized by two anonymizers built as the server and the batch commands
build them (roster, contact details and the name model; the same roster as the evaluation), and the letters
each removes are compared.

Per set it prints the texts, how many texts had a letter removed **only with the veto** (a name the live
path would have kept: must be 0), and how many lost letters only without it (words kept with the veto).
``--show`` prints those texts, for the tuning part only: held-out and fresh sets are counted, never read.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import anonymize_eval  # noqa: E402  (the sets, their rosters and their loader)


def anonymizer(roster_path: Path | None, veto_setting: str):
    """An anonymizer whose name model runs as in a web server with ``ROUNDTABLE_NAME_VETO=veto_setting``."""
    from roundtable.application import Roundtable
    from roundtable.services.anonymize import Anonymizer, Roster, load_detectors, load_roster_csv

    roundtable = Roundtable({"SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": "sqlite://",
                             "NAME_VETO": veto_setting, "SERVES_WEB": True})
    roster = load_roster_csv(roster_path) if roster_path else Roster()
    return Anonymizer(roster, "role", load_detectors(roundtable, ner=True), salt=roundtable.pseudonym_salt("files"))


def removed_letters(spans) -> set[int]:
    return {i for span in spans for i in range(span.start, span.end)}


def compare(path: Path, show: bool) -> dict:
    records = anonymize_eval.load(path)
    texts = [r["text"] for r in records]
    roster = anonymize_eval.roster_beside(path)
    with_veto = anonymizer(roster, "everywhere").detect_many(texts)
    without_veto = anonymizer(roster, "batch").detect_many(texts)
    only_with, only_without = [], []
    for text, a, b in zip(texts, with_veto, without_veto):
        letters_with, letters_without = removed_letters(a), removed_letters(b)
        if letters_with - letters_without:
            only_with.append(text)
        if letters_without - letters_with:
            only_without.append((text, sorted({text[s.start:s.end] for s in b}
                                              - {text[s.start:s.end] for s in a})))
    if show:
        for text in only_with:
            print(f"  removed only with the veto: {text[:300]!r}")
        for text, extra in only_without:
            print(f"  removed only without it {extra}: {text[:200]!r}")
    return {"data": str(path), "texts": len(texts), "removed_only_with_veto": len(only_with),
            "removed_only_without_veto": len(only_without)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=[*anonymize_eval.PARTS, "all"], default="all")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--show", action="store_true", help="print the texts that differ (tuning part only)")
    args = parser.parse_args(argv)
    if args.show and args.part != "tune":
        print("error: --show reads texts: only with --part tune (held-out and fresh sets are counted, never read)",
              file=sys.stderr)
        return 2
    from roundtable_plugins.ner import available, veto_available

    if not (available() and veto_available()):
        print("error: needs the name model and the medium veto model (README: the ner extra)", file=sys.stderr)
        return 2
    parts = list(anonymize_eval.PARTS) if args.part == "all" else [args.part]
    paths = [(part, path) for part in parts for path in anonymize_eval.PARTS[part]]
    missing = [str(p) for _, p in paths if not p.exists()]
    if missing:
        print(f"error: no such data file: {missing[0]} (external sets: run bench/make_eval_sets.py)", file=sys.stderr)
        return 2
    started, cpu = time.perf_counter(), time.process_time()
    sets = [{"part": part, **compare(path, args.show)} for part, path in paths]
    totals = {key: sum(s[key] for s in sets) for key in ("texts", "removed_only_with_veto", "removed_only_without_veto")}
    report = {"sets": sets, "total": totals, "load_average": round(os.getloadavg()[0], 2),
              "wall_s": round(time.perf_counter() - started, 1), "cpu_s": round(time.process_time() - cpu, 1)}
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        for s in sets:
            print(f"{s['part']:<8} {Path(s['data']).name:<32} {s['texts']:>5} texts: removed only with the veto "
                  f"{s['removed_only_with_veto']}, only without it {s['removed_only_without_veto']}")
        print(f"total {totals['texts']} texts: removed only with the veto {totals['removed_only_with_veto']} "
              f"(must be 0), only without it {totals['removed_only_without_veto']}; "
              f"{report['wall_s']} s wall, {report['cpu_s']} s CPU, load {report['load_average']}")
    return 1 if totals["removed_only_with_veto"] else 0


if __name__ == "__main__":
    sys.exit(main())
