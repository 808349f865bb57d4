"""Benchmark smoke tests: benchmarks/ingest.py and engine.py at tiny sizes.

They check that the benchmarks run from the checkout and print every figure and target line,
not how fast anything is (the figures are in docs/benchmarks.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def bench(name: str, *args: str) -> str:
    r = subprocess.run(
        [sys.executable, str(BENCH / name), *args], capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def test_ingest_runs_through_the_orchestrator_and_prints_its_targets() -> None:
    args = ("--sizes", "2000,4000", "--producers", "4", "--load-seconds", "0", "--repeat", "2")
    out = bench("ingest.py", *args)
    lines = [line for line in out.splitlines() if line.strip().startswith(("2,000", "4,000"))]
    rows = [line.split() for line in lines if "CPU" not in line]
    assert [r[0] for r in rows] == ["2,000", "4,000"]  # every candidate went through the engine
    assert all(int(r[9].replace(",", "")) > 0 for r in rows)  # new entries stored
    assert "per-candidate cost growth 2,000 → 4,000" in out
    assert "peak RSS at 1M: not measured" in out


def test_engine_benchmark_prints_what_each_figure_is_held_to() -> None:
    out = bench("engine.py", "--entries", "2000", "--seconds", "2")
    assert "headroom at the best producer count" in out
    assert "against the ideal 320/s" in out and "outside the provider" in out
