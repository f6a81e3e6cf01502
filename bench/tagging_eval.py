"""Evaluate the theme suggesters on published prose: accuracy cold and warm, and speed.

    python bench/tagging_eval.py [--set heldout|dev] [--suggesters lexical,semantic]
        [--model minilm|static|PATH] [--repeat 3] [--threads N] [--speed-only] [--json]

The sets (``bench/data/guides/``, built by ``bench/make_guides_set.py`` from
18F's public-domain guides) are reports whose two chapters are the two sections
of a codebook; each note is one of the report's own bullets or sentences,
labelled with the heading it was written under, in one of five sessions.

- cold: nothing coded. *names*: the codebook has the themes' names only; top-1 is
  right when the note's theme ranks first among its section's themes (and
  ``top1_all`` among all themes). *codebook*: the same with what the codebook
  gives (descriptions, sub-themes).
- warm: sessions 1-2 are coded (the codebook as given), sessions 3-5 predicted:
  top-1 within the note's section, and top-3 of all the report's themes.
- speed: notes/s on 2,000 distinct notes tagged in one call (batched), warm, the
  fastest of ``--repeat`` runs, in wall-clock time and in this process's CPU time
  (with the load average: on a shared machine the first depends on other jobs);
  the semantic figure uses the default encoder unless ``--model`` says otherwise,
  with its threads (``--threads``, default one per core) and the number format
  it computes in (int8 under ONNX Runtime; on PyTorch, bfloat16 where the CPU has
  it in hardware) printed beside it.
  On a loaded machine two threads waste CPU waiting for each other; a quiet
  machine shows what they gain.

Figures are per report and pooled over the set's notes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path


HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from roundtable import hookimpl  # noqa: E402
from roundtable.application import Roundtable  # noqa: E402
from roundtable.services.codebook import Codebook, load_codebook_file  # noqa: E402
from roundtable import Example  # noqa: E402
from roundtable.services.tagging import suggest_per_section, suggest_themes  # noqa: E402

DATA = HERE / "data" / "guides"
CODED_SESSIONS = (1, 2)
THROUGHPUT_NOTES = 2000


def load_set(name: str) -> dict[str, list[dict]]:
    reports: dict[str, list[dict]] = defaultdict(list)
    for line in (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            reports[row["report"]].append(row)
    return dict(reports)


def names_only(codebook: Codebook) -> Codebook:
    return Codebook([replace(t, description="", keywords=[], children=[]) for t in codebook.themes])


def make_suggester(name: str, model: str | None):
    """The suggester and its load time (a model is loaded by encoding one text)."""
    if name == "lexical":
        from roundtable_plugins.keyword_suggester import LexicalSuggester

        return LexicalSuggester(), 0.0
    if name == "semantic":
        from roundtable_plugins import embedding_suggester

        reason = embedding_suggester.model_status(model)
        if reason:
            raise RuntimeError(reason)
        started = time.perf_counter()
        suggester = embedding_suggester.SemanticSuggester(model)
        suggester.encoder.encode(["warm up"])
        return suggester, time.perf_counter() - started
    raise SystemExit(f"unknown suggester {name!r}")


def application_with(suggester) -> Roundtable:
    """An application object whose only plugin registers ``suggester``."""

    class Only:
        @hookimpl
        def register_suggesters(self, register):
            register(suggester)

    return Roundtable({"SECRET_KEY": "bench", "DATABASE_URL": "sqlite://"}, plugins=[Only()])


class Tally:
    """Hits per measure, pooled over reports."""

    def __init__(self):
        self.hits: dict[str, int] = defaultdict(int)
        self.n = 0

    def add(self, **hits: bool) -> None:
        for key, hit in hits.items():
            self.hits[key] += int(hit)

    def result(self) -> dict:
        return {"n": self.n, **{k: round(v / self.n, 3) if self.n else None for k, v in self.hits.items()}}


def score_cold(rows, codebook, name, roundtable, tally: Tally) -> None:
    texts = [r["text"] for r in rows]
    per_section = suggest_per_section(texts, codebook, name, roundtable=roundtable)
    ranked = suggest_themes(texts, codebook, name, top=1, roundtable=roundtable)
    tally.n += len(rows)
    for row, sections, best in zip(rows, per_section, ranked):
        mine = [s.theme for s in sections if s.section == row["section"]]
        tally.add(top1=bool(mine) and mine[0] == row["theme"], top1_all=bool(best) and best[0].theme == row["theme"])


def score_warm(rows, codebook, name, roundtable, tally: Tally) -> None:
    coded = [r for r in rows if r["session"] in CODED_SESSIONS]
    later = [r for r in rows if r["session"] not in CODED_SESSIONS]
    examples = [Example(r["text"], r["theme"], r["session"]) for r in coded]
    texts = [r["text"] for r in later]
    per_section = suggest_per_section(texts, codebook, name, examples=examples, roundtable=roundtable)
    ranked = suggest_themes(texts, codebook, name, examples=examples, top=3, roundtable=roundtable)
    tally.n += len(later)
    for row, sections, best in zip(later, per_section, ranked):
        mine = [s.theme for s in sections if s.section == row["section"]]
        tally.add(top1_in_section=bool(mine) and mine[0] == row["theme"],
                  top3_all=row["theme"] in [s.theme for s in best])


def throughput(reports, codebooks, name, roundtable, repeat: int) -> tuple[int, int]:
    """Notes per second of wall-clock time and per second of this process's CPU time (fastest runs).

    On a machine other jobs load, the CPU-time figure says what the code costs; the
    wall-clock figure what one saw.
    """
    report, rows = max(reports.items(), key=lambda item: len(item[1]))
    examples = [Example(r["text"], r["theme"], r["session"]) for r in rows if r["session"] in CODED_SESSIONS]
    # Distinct texts (a number appended), so that no cache helps.
    texts = [rows[i % len(rows)]["text"] + ("" if i < len(rows) else f" ({i})") for i in range(THROUGHPUT_NOTES)]
    elapsed, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        suggest_themes(texts, codebooks[report], name, examples=examples, top=3, roundtable=roundtable)
        elapsed.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return round(THROUGHPUT_NOTES / min(elapsed)), round(THROUGHPUT_NOTES / min(cpu))


def evaluate(name: str, set_name: str, model: str | None, repeat: int, speed_only: bool = False) -> dict:
    suggester, load_seconds = make_suggester(name, model)
    roundtable = application_with(suggester)
    reports = load_set(set_name)
    codebooks = {r: load_codebook_file(DATA / "codebooks" / f"{r}.yaml") for r in reports}
    result = {"suggester": name, "model": model if name == "semantic" else None, "set": set_name,
              "model_load_seconds": round(load_seconds, 2), "reports": {}}
    pooled = {key: Tally() for key in ("cold_names", "cold_codebook", "warm")}
    methods = {}
    for report, rows in ([] if speed_only else reports.items()):
        codebook = codebooks[report]
        tallies = {key: Tally() for key in pooled}
        score_cold(rows, names_only(codebook), suggester.name, roundtable, tallies["cold_names"])
        score_cold(rows, codebook, suggester.name, roundtable, tallies["cold_codebook"])
        score_warm(rows, codebook, suggester.name, roundtable, tallies["warm"])
        if getattr(suggester, "last_method", None):
            methods[report] = list(suggester.last_method)
        result["reports"][report] = {
            "themes": len(codebook.themes), "sections": len(codebook.sections()),
            **{key: tally.result() for key, tally in tallies.items()},
        }
        for key, tally in tallies.items():
            pooled[key].n += tally.n
            for measure, hits in tally.hits.items():
                pooled[key].hits[measure] += hits
    if not speed_only:
        result.update({key: tally.result() for key, tally in pooled.items()})
    if methods:
        result["warm_method_chosen"] = methods
    result["notes_per_s"], result["notes_per_cpu_s"] = throughput(reports, codebooks, suggester.name, roundtable, repeat)
    result["load_average"] = round(os.getloadavg()[0], 1)
    if name == "semantic":
        from roundtable_plugins import embedding_suggester

        result["threads"] = embedding_suggester._threads or os.cpu_count()
        result["precision"] = suggester.encoder.precision
    return result


def print_result(r: dict) -> None:
    model = f", model {r['model'] or 'minilm (default)'}" if r["suggester"] == "semantic" else ""
    print(f"== {r['suggester']}{model}: set {r['set']} (load {r['model_load_seconds']} s)")
    if "warm" not in r:
        print_speed(r)
        return
    rows = [("pooled", r)] + list(r["reports"].items())
    print(f"  {'report':<14} {'cold names top-1 (all)':<24} {'cold codebook top-1 (all)':<26} "
          f"{'warm top-1 in section / top-3':<30}")
    for label, x in rows:
        cn, cc, w = x["cold_names"], x["cold_codebook"], x["warm"]
        print(f"  {label:<14} {cn['top1']:.2f} ({cn['top1_all']:.2f}) n={cn['n']:<10} "
              f"{cc['top1']:.2f} ({cc['top1_all']:.2f}){'':<14} "
              f"{w['top1_in_section']:.2f} / {w['top3_all']:.2f} n={w['n']}")
    if r.get("warm_method_chosen"):
        print(f"  warm method chosen by leave-one-session-out: {r['warm_method_chosen']}")
    print_speed(r)


def print_speed(r: dict) -> None:
    encoder = f"; {r['threads']} threads, {r['precision']}" if "threads" in r else ""
    print(f"  speed: {r['notes_per_s']} notes/s, {r['notes_per_cpu_s']} notes per CPU-second "
          f"(2,000 notes in one call; load average {r['load_average']}{encoder})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="heldout", choices=("heldout", "dev"))
    parser.add_argument("--suggesters", default="lexical,semantic")
    parser.add_argument("--model", default=None, help="semantic encoder: minilm (default), static, or a folder")
    parser.add_argument("--repeat", type=int, default=3, help="throughput runs; the fastest counts (default 3)")
    parser.add_argument("--speed-only", action="store_true", help="measure notes/s only (a quick run)")
    parser.add_argument("--threads", type=int, default=None, help="PyTorch threads (default: one per core)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    args = parser.parse_args(argv)
    if args.threads is not None:
        from roundtable_plugins import embedding_suggester

        embedding_suggester.set_threads(args.threads)
    results, skipped = [], {}
    for name in args.suggesters.split(","):
        try:
            results.append(evaluate(name.strip(), args.set, args.model, max(1, args.repeat), args.speed_only))
        except RuntimeError as exc:
            skipped[name] = str(exc)
    if args.json:
        print(json.dumps({"results": results, "skipped": skipped}, indent=2))
    else:
        for r in results:
            print_result(r)
        for name, reason in skipped.items():
            print(f"== {name}: skipped ({reason})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
