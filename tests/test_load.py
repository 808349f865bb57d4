"""Load smoke test: benchmarks/load.py at a small size (the full run is in docs/reliability.md).

It checks what the benchmark measures still works, not how fast: the run stores every entry it
was asked for, `igentai export` succeeds while it writes and prints at least what was stored
when it started, and the TUI acts on keys under the load; and a thread per producer, plus a
few (the loop's, the store's, an export's), is all the threads a run has.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

LOAD = Path(__file__).resolve().parent.parent / "benchmarks" / "load.py"
PRODUCERS = 16


def phase(name: str, *args: str) -> dict:
    r = subprocess.run(
        [sys.executable, str(LOAD), "--phase", name, "--producers", str(PRODUCERS), *args],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.splitlines()[-1])


def test_headless_load_with_exports_during_the_run() -> None:
    out = phase("headless", "--entries", "30000", "--exports", "2")
    assert out["entries"] == 30000
    assert out["peak_threads"] <= PRODUCERS + 8
    assert len(out["rss_mb_by_entries"]) >= 5  # sampled at each tenth; a fast run skips some
    assert len(out["exports"]) >= 1
    for e in out["exports"]:
        assert e["exit"] == 0 and e["lines"] >= e["stored_at_start"] > 0


def test_tui_acts_on_keys_under_load() -> None:
    out = phase("tui", "--entries", "40000")
    assert out["entries"] == 40000
    assert out["peak_threads"] <= PRODUCERS + 8
    assert out["key_presses"] >= 1
