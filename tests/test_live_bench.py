"""bench/live_latency.py's verdict over rounds is what docs/performance.md reads it as."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("live_latency", ROOT / "bench" / "live_latency.py")
live_latency = importlib.util.module_from_spec(spec)
spec.loader.exec_module(live_latency)


def _round(ours_p99, bare_p99, ours_cpu, bare_cpu, lost=0, duplicated=0):
    return {"roundtable": {"p99_ms": ours_p99, "server_cpu_ms_per_note": ours_cpu, "lost": lost,
                           "duplicated": duplicated},
            "bare_socketio": {"p99_ms": bare_p99, "server_cpu_ms_per_note": bare_cpu},
            "p99_ratio": round(ours_p99 / bare_p99, 2), "cpu_ratio": round(ours_cpu / bare_cpu, 2)}


def test_the_verdict_over_rounds_is_the_median_ratio_with_its_spread_and_the_totals_lost():
    rounds = [_round(976, 543, 49.95, 45.35), _round(1966, 212, 49.2, 45.2, lost=1),
              _round(660, 194, 48.6, 44.5, duplicated=2)]
    summary = live_latency.summarize(rounds)
    assert summary["p99_ratio"] == {"median": 3.4, "min": 1.8, "max": 9.27}
    assert summary["cpu_ratio"] == {"median": 1.09, "min": 1.09, "max": 1.1}
    assert (summary["lost"], summary["duplicated"]) == (1, 2)
    line = live_latency.summary_line(summary)
    assert "p99 ratio median 3.4x (min 1.8x, max 9.27x)" in line
    assert "lost 1, duplicated 2" in line


def test_a_run_without_the_floor_has_no_ratio_but_still_counts_lost_notes():
    rounds = [{"roundtable": {"p99_ms": 300.0, "server_cpu_ms_per_note": 40.0, "lost": 0, "duplicated": 0}}]
    summary = live_latency.summarize(rounds)
    assert summary["p99_ratio"] is None and summary["cpu_ratio"] is None
    assert "p99 ratio -" in live_latency.summary_line(summary)
