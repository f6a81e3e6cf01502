"""bench/live_latency.py's verdict over rounds and its note stages are what docs/performance.md reads them as."""

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


class _Server:
    def __init__(self, url, pids):
        self.url, self._pids = url, pids

    def pids(self):
        return self._pids


def test_a_note_stage_is_timed_from_the_typists_send_and_from_the_stage_it_follows(tmp_path):
    # Process 11 took the note; process 22 fanned it out from Redis. Times in seconds.
    trace = tmp_path / "trace.log"
    trace.write_text("\n".join([
        "100.010 11 n1 received", "100.011 11 n1 turn", "100.015 11 n1 checked", "100.020 11 n1 anonymized",
        "100.030 11 n1 stored", "100.031 11 n1 fan_out", "100.033 11 n1 queued", "100.040 11 n1 published",
        "100.041 11 n1 answered", "100.050 22 n1 fan_out", "100.052 22 n1 queued", "100.045 11 gc 2 0.250",
        "99.000 11 gc 0 0.001", "100.020 11 someone-elses-note received",
    ]) + "\n")
    servers = [_Server("http://a", [10, 11]), _Server("http://b", [20, 22])]
    viewers = [{"server": "http://a", "received": {"n1": 100.060}}, {"server": "http://b", "received": {"n1": 100.090}},
               {"server": "http://b", "received": {"n1": 100.070}}]
    stages = live_latency.note_stages(trace, {"n1": 100.000}, viewers, servers)
    per_stage = stages["per_stage"]
    assert per_stage["received"]["since_send_p50_ms"] == 10.0
    assert per_stage["stored"]["step_p50_ms"] == 10.0
    assert per_stage["published"]["step_p50_ms"] == 7.0  # after the local queueing
    assert per_stage["remote_fan_out"]["since_send_p50_ms"] == 50.0
    assert per_stage["remote_fan_out"]["step_p50_ms"] == 17.0  # from Redis, after the local queueing
    assert per_stage["last_local_viewer"]["since_send_p50_ms"] == 60.0
    assert per_stage["last_remote_viewer"]["since_send_p50_ms"] == 90.0
    assert per_stage["last_remote_viewer"]["step_p50_ms"] == 38.0
    # Only the collections while notes were on their way count.
    assert stages["garbage_collections"] == {"generation_2": {"count": 1, "total_ms": 250.0, "max_ms": 250.0}}
