"""Load: 64 producers until 1M stored entries; memory, throughput, export and the TUI meanwhile.

    python benchmarks/load.py [--producers 64] [--entries 1000000] [--exports 5]

The provider is the engine benchmark's `Instant` (answers at once: 90 fresh names, a few
repeats and variants a reply), so the ≈11,000 requests that store 1M entries — what 64
producers at one request every 3.5 s do in 10 minutes — run as fast as the engine goes.
Two phases, each in its own process so that each peak RSS is its own:

Each phase also prints the most threads its process had at once (`peak_threads`: producers,
the store's, the event loop's and what the front end adds).

1. headless: the orchestrator alone. Prints entries/s, RSS every 10% of the way and the peak,
   and runs `igentai export last` (a subprocess, read-only) at evenly spaced points: its exit
   status, how many lines it printed against the entries stored when it started, and its time.
2. tui: the same load inside the Textual app (headless driver), pressing down/up in the
   producers table every 50 ms: key-press-to-action latency (median, p95, worst) and the
   app's entries/s and peak RSS. The key goes in as a terminal's would (the driver's message),
   and the time runs until the table's cursor has moved. `--phase tui --sim` runs it on
   `sim:fast` instead: 64 producers at an LLM's pace, for the latency a real run sees.

`--phase headless --sim --seconds 20` runs the headless phase on `sim:fast` for 20 s: the
candidate rate 64 producers at an LLM's pace hand to the ingest (`candidates_per_s_peak`, the
highest over 5 s windows; benchmarks/ingest.py holds its own rate against it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import Instant  # the engine benchmark's provider

from igentai_tui.engine.orchestrator import Arm, Limits, Orchestrator, RunSettings
from igentai_tui.output import OutputFile
from igentai_tui.store import Store

ARM = Arm("instant", "x")


def rss_mb() -> float:
    """The current resident set size, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PeakThreads:
    """The most threads alive at once while it runs, sampled every 10 ms (itself not counted)."""

    def __init__(self) -> None:
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.wait(0.01):
            self.peak = max(self.peak, threading.active_count() - 1)

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.peak


class Exports:
    """Runs `igentai export last` in a thread whenever asked, one at a time; keeps the results."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.results: list[dict[str, float]] = []
        self._busy = threading.Lock()

    def start(self, stored: int) -> None:
        if self._busy.acquire(blocking=False):
            threading.Thread(target=self._run, args=(stored,), daemon=True).start()

    def _run(self, stored: int) -> None:
        try:
            t0 = time.perf_counter()
            r = subprocess.run(
                [sys.executable, "-m", "igentai_tui", "export", "last", "--db", str(self.db)],
                capture_output=True, timeout=300,
            )  # fmt: skip
            self.results.append({
                "stored_at_start": stored,
                "exit": r.returncode,
                "lines": r.stdout.count(b"\n"),
                "seconds": round(time.perf_counter() - t0, 2),
            })  # fmt: skip
        finally:
            self._busy.release()

    def wait(self) -> None:
        with self._busy:
            pass


async def headless(
    producers: int, entries: int, exports: int, tmp: Path, sim: bool = False,
    seconds: float | None = None,
) -> dict[str, object]:  # fmt: skip
    db = tmp / "load.db"
    store = await Store.open(db)
    output = OutputFile(tmp / "out.txt")
    limits = Limits(max_unique=entries, duration_s=seconds)
    if sim:
        from igentai_tui.common.clock import Clock
        from igentai_tui.providers import make_provider

        arm = Arm("sim", "fast")
        provider = make_provider("sim", "fast", seed=1, clock=Clock())
        settings = RunSettings("Stars (sim:200000)", [arm], producers=producers, limits=limits)
    else:
        arm, provider = ARM, Instant()
        settings = RunSettings("Stars", [arm], producers=producers, limits=limits)
    orc = Orchestrator(settings, store, {arm.label: provider}, output)
    returned: list[tuple[float, int]] = []  # (seconds, candidates handed over so far)
    ex = Exports(db)
    samples: list[tuple[int, float]] = []
    marks = iter(range(entries // 10, entries + 1, entries // 10))
    export_at = iter([entries * (k + 1) // (exports + 1) for k in range(exports)])
    next_mark, next_export = next(marks), next(export_at, None)
    loop_lag: list[float] = []

    async def watch() -> None:
        nonlocal next_mark, next_export
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(0.05)
            loop_lag.append(time.perf_counter() - t0 - 0.05)
            returned.append((time.perf_counter() - started, orc.metrics.total.returned))
            unique = orc.metrics.unique
            while next_mark is not None and unique >= next_mark:
                samples.append((next_mark, rss_mb()))
                next_mark = next(marks, None)
            if next_export is not None and unique >= next_export:
                ex.start(unique)
                next_export = next(export_at, None)

    watcher = asyncio.create_task(watch())
    threads = PeakThreads()
    t0 = started = time.perf_counter()
    result = await orc.run()
    elapsed = time.perf_counter() - t0
    watcher.cancel()
    candidates = result.snapshot.total.returned
    output.close()
    await store.close()
    ex.wait()
    return {
        "entries": result.snapshot.unique,
        "requests": result.snapshot.total.requests,
        "seconds": round(elapsed, 1),
        "entries_per_s": round(result.snapshot.unique / elapsed),
        "candidates": candidates,
        "candidates_per_s": round(candidates / elapsed),
        "candidates_per_s_peak": round(peak_rate(returned, 5.0)),
        "rss_mb_by_entries": [(n, round(mb)) for n, mb in samples],
        "peak_rss_mb": round(peak_rss_mb()),
        "peak_threads": threads.stop(),
        "loop_lag_ms": {
            "median": round(statistics.median(loop_lag) * 1000, 1),
            "max": round(max(loop_lag) * 1000, 1),
        },
        "exports": ex.results,
    }


def peak_rate(samples: list[tuple[float, int]], window: float) -> float:
    """The highest rate over `window` seconds in (seconds, running total) samples."""
    best, j = 0.0, 0
    for t, n in samples:
        while samples[j][0] < t - window:
            j += 1
        if t - samples[j][0] >= window * 0.8:
            best = max(best, (n - samples[j][1]) / (t - samples[j][0]))
    return best


async def tui(producers: int, entries: int, tmp: Path, sim: bool = False) -> dict[str, object]:
    from textual import events

    from igentai_tui.providers import make_provider
    from igentai_tui.request import build_parser, run_request
    from igentai_tui.tui.app import IgentaiApp
    from igentai_tui.tui.screens.run import RunScreen
    from igentai_tui.tui.widgets.producers import ProducersTable

    argv = ["-n", str(producers), "--max-unique", str(entries), "--providers", "sim:fast",
            "--db", str(tmp / "tui.db"), "--output", str(tmp / "tui.txt"), "--seed", "1",
            "--", "Stars (sim:1000000)"]  # fmt: skip
    args = build_parser().parse_args(argv)
    request = run_request(args)
    instant = Instant()
    factory = make_provider if sim else lambda *a, **k: instant
    app = IgentaiApp(args, request=request, provider_factory=factory, env={},
                     cursor_blink=False)  # type: ignore[arg-type]  # fmt: skip
    latencies: list[float] = []
    threads = PeakThreads()
    async with app.run_test(size=(120, 40)) as pilot:
        while not isinstance(app.screen, RunScreen) or app.model.run is None:
            await pilot.pause(0.02)
        t0 = time.perf_counter()
        table = app.screen.query_one(ProducersTable)
        while table.row_count < 2:
            await pilot.pause(0.02)
        keys = ("down", "up")
        while app.result is None:
            before = table.cursor_row
            key = keys[len(latencies) % 2]
            started = time.perf_counter()
            # As a terminal's key arrives (pilot.press would also wait for the CPU to idle).
            event = events.Key(key, None)
            event.set_sender(app)
            app._driver.send_message(event)  # type: ignore[union-attr]
            while table.cursor_row == before and app.result is None:
                await asyncio.sleep(0.001)
            if app.result is None:
                latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - t0
        while not app.run_closed:
            await pilot.pause(0.05)
        unique = app.result.snapshot.unique
    ms = sorted(round(t * 1000, 1) for t in latencies) or [float("nan")]
    return {
        "entries": unique,
        "seconds": round(elapsed, 1),
        "entries_per_s": round(unique / elapsed),
        "key_presses": len(latencies),
        "key_latency_ms": {
            "median": statistics.median(ms),
            "p95": ms[int(len(ms) * 0.95)],
            "max": ms[-1],
        },
        "peak_rss_mb": round(peak_rss_mb()),
        "peak_threads": threads.stop(),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--producers", type=int, default=64)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--exports", type=int, default=5)
    ap.add_argument("--phase", choices=("headless", "tui"), help="run one phase, print JSON")
    ap.add_argument(
        "--sim",
        action="store_true",
        help="run on sim:fast (an LLM's pace) instead of the instant provider",
    )
    ap.add_argument("--seconds", type=float, help="stop after this long (with --sim)")
    args = ap.parse_args()
    if args.phase:
        with tempfile.TemporaryDirectory() as tmp:
            if args.phase == "headless":
                run = headless(
                    args.producers, args.entries, args.exports, Path(tmp), args.sim, args.seconds
                )
                out = asyncio.run(run)
            else:
                out = asyncio.run(tui(args.producers, args.entries, Path(tmp), args.sim))
        print(json.dumps(out))
        return
    for phase in ("headless", "tui"):
        cmd = [sys.executable, __file__, "--phase", phase, "--producers", str(args.producers),
               "--entries", str(args.entries), "--exports", str(args.exports)]  # fmt: skip
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"{phase} phase failed:\n{r.stderr[-2000:]}")
        print(f"{phase}: {json.dumps(json.loads(r.stdout.splitlines()[-1]), indent=2)}")


if __name__ == "__main__":
    main()
