"""Engine benchmark: what the whole engine costs, and whether it keeps slow producers busy.

    python benchmarks/engine.py [--entries 200000] [--seconds 15]

1. Overhead: a provider that answers at once (`Instant`: 100 lines, 90 fresh names, 5 repeats
   and 5 variants) runs the whole engine -- assignment and prompts, parsing, normalization, the
   store, output.txt, metrics, events -- at 1, 5 and 32 producers until `--entries` new
   entries. Each request's time is the engine's own, so the figures say how much engine a
   request costs and how many LLM-paced producers (one request every LLM_PACE_S, as the load
   benchmark assumes) one engine could keep fed: the headroom over the 64 of the load
   benchmark, at the producer count that goes fastest (target: >= HEADROOM_TARGET x, issue
   18's margin for the ingest).
2. Concurrency: 64 producers against `sim` with its latency fixed at 200 ms and no rate limit:
   requests/s against the ideal 64 / 0.2 s (target >= 85%), and what that leaves each request
   waiting outside the provider (assignment, its row's commit, its reply's ingest).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from igentai_tui.engine.orchestrator import Arm, Limits, Orchestrator, RunSettings
from igentai_tui.output import OutputFile
from igentai_tui.providers.base import Completion, CompletionRequest
from igentai_tui.providers.sim import PROFILES, SimProvider
from igentai_tui.store import Store


class Instant:
    """Answers at once: 100 lines, ~90 fresh names, a few repeats and variants."""

    name = "instant"

    def __init__(self) -> None:
        self._next = 0
        self._lock = threading.Lock()
        self.busy = 0.0

    def complete(self, request: CompletionRequest) -> Completion:
        t0 = time.perf_counter()
        with self._lock:
            start = self._next
            self._next += 90
        lines = [f"{i + 1}. Entry number {n}" for i, n in enumerate(range(start, start + 90))]
        lines += [f"- The Entry number {max(0, start - k)}" for k in range(1, 6)]
        lines += [f"Entry number {max(0, start - 50 - k)} (somewhere)" for k in range(5)]
        text = "\n".join(lines)
        reply = Completion(text, len(request.prompt) // 4, len(text) // 4)
        with self._lock:
            self.busy += time.perf_counter() - t0
        return reply

    def context_window(self, model: str) -> int:
        return 128_000


async def run(provider: object, arm: Arm, producers: int, limits: Limits) -> tuple[float, object]:
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp) / "b.db")
        output = OutputFile(Path(tmp) / "out.txt")
        settings = RunSettings("Benchmark topic", [arm], producers=producers, limits=limits)
        orc = Orchestrator(settings, store, {arm.label: provider}, output)  # type: ignore[dict-item]
        t0 = time.perf_counter()
        result = await orc.run()
        elapsed = time.perf_counter() - t0
        output.close()
        await store.close()
    return elapsed, result


LLM_PACE_S = 3.5  # seconds between one producer's requests at an LLM's pace (benchmarks/load.py)
LOAD_PRODUCERS = 64
HEADROOM_TARGET = 10
CONCURRENCY_TARGET = 0.85


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=200_000)
    ap.add_argument("--seconds", type=float, default=15.0, help="concurrency test length")
    args = ap.parse_args()

    print(f"1. engine overhead: instant provider, until {args.entries:,} new entries")
    print(f"{'producers':>9} {'new/s':>9} {'vs 1':>5} {'requests/s':>10} {'ms/request':>10} "
          f"{'in provider':>11} {'could feed':>10} {'headroom':>8}")  # fmt: skip
    first = None
    rows = []
    for n in (1, 5, 32):
        p = Instant()
        elapsed, result = asyncio.run(
            run(p, Arm("instant", "x"), n, Limits(max_unique=args.entries))
        )
        snap = result.snapshot  # type: ignore[attr-defined]
        rate = snap.unique / elapsed
        reqs = snap.total.requests / elapsed
        first = first or rate
        feeds = reqs * LLM_PACE_S  # producers at one request every LLM_PACE_S
        rows.append((n, feeds))
        print(
            f"{n:>9} {rate:>9,.0f} {rate / first:>5.2f} {reqs:>10,.0f} {1000 / reqs:>10.2f} "
            f"{p.busy / elapsed:>11.1%} {feeds:>10,.0f} {feeds / LOAD_PRODUCERS:>7.1f}x"
        )
    print(
        "   new/s: new entries stored a second, the whole engine; vs 1: against 1 producer "
        "(the GIL\n   serializes the threads: above 1.0 means bigger transactions, below, "
        "contention);\n   ms/request: engine time per request (every request's time is the "
        "engine's); in provider:\n   the share spent making the instant replies (the rest is the "
        f"engine);\n   could feed: producers at one request every {LLM_PACE_S} s this rate "
        f"would keep fed; headroom: that over\n   the load benchmark's {LOAD_PRODUCERS} "
        f"(target >= {HEADROOM_TARGET}x)"
    )
    n, feeds = max(rows, key=lambda r: r[1])  # the capacity: one producer waits on each step
    headroom = feeds / LOAD_PRODUCERS
    verdict = "met" if headroom >= HEADROOM_TARGET else "NOT MET"
    print(f"   headroom at the best producer count ({n}, the engine's capacity; fewer producers "
          f"leave it waiting on each hand-over): {headroom:.1f}x — {verdict}")  # fmt: skip

    print("\n2. concurrency: 64 producers, sim with 200 ms latency, no rate limit")
    params = dataclasses.replace(
        PROFILES["fast"],
        latency_base_s=0.2,
        latency_per_token_s=0.0,
        latency_jitter=0.0,
        rpm_limit=None,
    )
    sim = SimProvider("fast", seed=1, params=params)
    elapsed, result = asyncio.run(run(sim, Arm("sim", "fast"), 64, Limits(duration_s=args.seconds)))
    reqs = result.snapshot.total.requests  # type: ignore[attr-defined]
    ideal = 64 / 0.2
    achieved = reqs / elapsed / ideal
    outside = 64 / (reqs / elapsed) - 0.2  # a producer's cycle beyond the provider's 200 ms
    verdict = "met" if achieved >= CONCURRENCY_TARGET else "NOT MET"
    print(
        f"   requests {reqs:,} in {elapsed:.1f} s = {reqs / elapsed:.0f}/s against the ideal "
        f"{ideal:.0f}/s: {achieved:.1%} (target >= {CONCURRENCY_TARGET:.0%}) — {verdict}"
    )
    print(f"   each request waited {outside * 1000:.1f} ms outside the provider (assignment, "
          "its row's commit, its reply's ingest; sim's own CPU included)")  # fmt: skip


if __name__ == "__main__":
    main()
