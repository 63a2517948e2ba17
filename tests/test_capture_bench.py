"""Smoke test of benchmarks/bench_replay.py: a small synthetic capture, every row measured.

Checks behaviour, never time: the capture it writes is what it says (every packet TCP, the
connections it made), tcpviz and the bare dpkt loop read the same packets, and the result has
the rows, the ratio and the target check that run.py prints.
"""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))
bench_replay = importlib.import_module("bench_replay")


def test_synthetic_capture_replays_completely(tmp_path):
    from tcpviz.traffic import replay

    path = tmp_path / "synthetic.pcap"
    made = bench_replay.make_capture(path, 3000)
    assert made["packets"] == 3000
    result = replay(path)
    assert not result.problems
    assert result.tcp == 3000 == bench_replay.bare_loop(path)
    assert len(result.connections) == made["connections"]
    assert any(":" in c.addresses[0] for c in result.connections)  # some IPv6
    summaries = {c.conn_state for c in result.connections}
    assert {"SF", "REJ"} <= summaries


def test_benchmark_result_is_well_formed():
    result = bench_replay.run(packets=2000, rounds=1)
    assert not result.skipped
    labels = [r.label for r in result.rows]
    assert labels == [
        bench_replay.TCPVIZ,
        bench_replay.BARE,
        bench_replay.CLI,
        bench_replay.BARE_CLI,
    ]
    for r in result.rows:
        assert math.isfinite(r.median_ms) and r.median_ms > 0 and "packets/s" in r.note
    assert all(math.isfinite(v) and v > 0 for v in result.ratios.values())
    (check,) = result.checks
    assert check.target == "<= 2.0x" and isinstance(check.ok, bool)
