"""Smoke test of benchmarks/bench_live.py: it runs end to end with tiny counts, sees the sockets
it opened, and returns a well-formed result (never a check on time)."""

from __future__ import annotations

import importlib
import json
import math
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sock_diag and /proc")
def test_bench_live_runs_and_sees_its_sockets():
    bench_live = importlib.import_module("bench_live")
    run = importlib.import_module("run")
    assert run._modules()["live"] is bench_live
    result = bench_live.run(pairs=8, repeats=2, rounds=1)
    assert result.name == "live" and not result.skipped
    labels = {r.label for r in result.rows}
    assert {bench_live.SOCK_DIAG, bench_live.PROC, bench_live.WHOLE_OWNERS} <= labels
    for r in result.rows:
        assert r.n == 2 and math.isfinite(r.median_ms) and r.p95_ms >= r.median_ms > 0
    seen = next(c for c in result.checks if c.name == "every socket opened here is seen")
    assert seen.ok, seen  # 6 held pairs and the listener, at least
    assert all(math.isfinite(v) and v > 0 for v in result.ratios.values())
    json.dumps(result.as_dict())
    assert bench_live.SOCK_DIAG in run.format_results([result])
