"""Evaluate the theme suggesters on a labelled set: accuracy, confusion, speed.

    python bench/tagging_eval.py [--data bench/data/tagging_eval.jsonl]
        [--codebook bench/data/tagging_codebook.yaml] [--suggesters lexical,semantic:minilm,semantic:static]
        [--repeat 3] [--json]

The set has short notes (``kind: note``, with the session they were taken in)
and longer report-style paragraphs (``kind: paragraph``), each with its main
``theme`` and any other themes it touches (``also``). Two situations:

- cold: the codebook alone (names and one-sentence descriptions), nothing coded;
- warm: the notes of the first 40% of sessions are coded (their main and other
  themes become examples, as accepted tags do on the live page) and the notes of
  the remaining sessions are predicted.

Top-1 counts the main theme only; ``top1_any`` also accepts one of the other
themes a note touches. Throughput is measured on the notes repeated to 2,000
(distinct texts, warm situation), the fastest of ``--repeat`` runs; the model load
time is the first load in the process (loading and encoding one text).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from pathlib import Path

import pluggy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from roundtable import hookimpl, hookspecs  # noqa: E402
from roundtable.services.codebook import load_codebook_file  # noqa: E402
from roundtable.services.tagging import Example, suggest_themes  # noqa: E402

WARM_FRACTION = 0.4
THROUGHPUT_NOTES = 2000


def load_set(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def make_suggester(spec: str):
    """``lexical``, ``semantic`` or ``semantic:MODEL``; returns (suggester, load seconds)."""
    name, _, model = spec.partition(":")
    if name == "lexical":
        from roundtable_plugins.lexical import LexicalSuggester

        return LexicalSuggester(), 0.0
    if name == "semantic":
        from roundtable_plugins import semantic

        reason = semantic.plugin_status(model or None)
        if reason:
            raise RuntimeError(reason)
        started = time.perf_counter()
        suggester = semantic.SemanticSuggester(model or None)
        suggester.encoder.encode(["warm up"])
        return suggester, time.perf_counter() - started
    raise SystemExit(f"unknown suggester {spec!r}")


def plugin_manager_with(suggester) -> pluggy.PluginManager:
    pm = pluggy.PluginManager("roundtable")
    pm.add_hookspecs(hookspecs)

    class Only:
        @hookimpl
        def register_suggesters(self, register):
            register(suggester)

    pm.register(Only(), name="eval")
    return pm


def score(rows, ranked) -> dict:
    n = len(rows)
    if not n:
        return {"n": 0, "top1": None, "top3": None, "top1_any": None}
    top1 = sum(1 for r, s in zip(rows, ranked) if s and s[0].theme == r["theme"])
    top1_any = sum(1 for r, s in zip(rows, ranked) if s and s[0].theme in {r["theme"], *r.get("also", [])})
    top3 = sum(1 for r, s in zip(rows, ranked) if r["theme"] in [x.theme for x in s[:3]])
    return {
        "n": n, "top1": round(top1 / n, 3), "top3": round(top3 / n, 3), "top1_any": round(top1_any / n, 3),
    }


def confusions(rows, ranked, limit=8) -> list[dict]:
    pairs = Counter(
        (r["theme"], s[0].theme if s else "(none)") for r, s in zip(rows, ranked) if not s or s[0].theme != r["theme"]
    )
    return [{"true": t, "predicted": p, "count": c} for (t, p), c in pairs.most_common(limit)]


def per_theme(rows, ranked) -> dict:
    totals, hits = Counter(), Counter()
    for r, s in zip(rows, ranked):
        totals[r["theme"]] += 1
        hits[r["theme"]] += bool(s and s[0].theme == r["theme"])
    return {t: round(hits[t] / totals[t], 2) for t in sorted(totals)}


def evaluate(spec: str, data: list[dict], codebook, repeat: int = 1) -> dict:
    suggester, load_seconds = make_suggester(spec)
    pm = plugin_manager_with(suggester)
    name = suggester.name
    notes = [r for r in data if r["kind"] == "note"]
    paragraphs = [r for r in data if r["kind"] == "paragraph"]
    sessions = sorted({r["session"] for r in notes})
    cutoff = sessions[max(1, math.floor(len(sessions) * WARM_FRACTION)) - 1]
    coded = [r for r in notes if r["session"] <= cutoff]
    later = [r for r in notes if r["session"] > cutoff]
    examples = [Example(r["text"], t) for r in coded for t in [r["theme"], *r.get("also", [])]]

    def run(rows, ex=()):
        return suggest_themes([r["text"] for r in rows], codebook, name, examples=ex, top=3, pm=pm)

    result = {"suggester": spec, "themes": len(codebook.themes), "model_load_seconds": round(load_seconds, 2)}
    ranked = run(notes)
    result["cold_notes"] = score(notes, ranked)
    result["cold_notes_confusions"] = confusions(notes, ranked)
    result["cold_notes_per_theme"] = per_theme(notes, ranked)
    result["cold_paragraphs"] = score(paragraphs, run(paragraphs) if paragraphs else [])
    result["cold_later_notes"] = score(later, run(later))
    ranked = run(later, examples)
    result["warm"] = {
        "coded_sessions": f"1-{cutoff}", "examples": len(examples), **score(later, ranked),
    }
    result["warm_confusions"] = confusions(later, ranked)
    result["warm_per_theme"] = per_theme(later, ranked)
    # Distinct texts (a number appended), so that no cache helps; the fastest of `repeat` runs.
    texts = [notes[i % len(notes)]["text"] + ("" if i < len(notes) else f" {i}") for i in range(THROUGHPUT_NOTES)]
    elapsed = []
    for _ in range(repeat):
        started = time.perf_counter()
        suggest_themes(texts, codebook, name, examples=examples, top=3, pm=pm)
        elapsed.append(time.perf_counter() - started)
    result["throughput_notes_per_s"] = round(THROUGHPUT_NOTES / min(elapsed))
    return result


def print_result(r: dict) -> None:
    print(f"== {r['suggester']} ({r['themes']} themes, chance top-1 {1 / r['themes']:.2f}, "
          f"model load {r['model_load_seconds']} s)")
    for key in ("cold_notes", "cold_paragraphs", "cold_later_notes", "warm"):
        s = r[key]
        if not s["n"]:
            continue
        extra = f"  [examples from sessions {s['coded_sessions']}: {s['examples']}]" if key == "warm" else ""
        print(f"  {key:<17} n={s['n']:<4} top-1 {s['top1']:.2f}  top-3 {s['top3']:.2f}  "
              f"top-1 any label {s['top1_any']:.2f}{extra}")
    print(f"  throughput        {r['throughput_notes_per_s']} notes/s")
    for key in ("cold_notes_confusions", "warm_confusions"):
        print(f"  {key.replace('_', ' ')}:")
        for c in r[key][:5]:
            print(f"    {c['count']:>3}  {c['true']} -> {c['predicted']}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE / "data" / "tagging_eval.jsonl")
    parser.add_argument("--codebook", type=Path, default=HERE / "data" / "tagging_codebook.yaml")
    parser.add_argument("--suggesters", default="lexical,semantic:minilm,semantic:static")
    parser.add_argument("--repeat", type=int, default=3, help="throughput runs; the fastest counts (default 3)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    args = parser.parse_args(argv)
    data = load_set(args.data)
    codebook = load_codebook_file(args.codebook)
    results, skipped = [], {}
    for spec in args.suggesters.split(","):
        try:
            results.append(evaluate(spec.strip(), data, codebook, repeat=max(1, args.repeat)))
        except RuntimeError as exc:
            skipped[spec] = str(exc)
    if args.json:
        print(json.dumps({"results": results, "skipped": skipped}, indent=2))
    else:
        for r in results:
            print_result(r)
        for spec, reason in skipped.items():
            print(f"== {spec}: skipped ({reason})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
