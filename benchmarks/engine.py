"""Engine benchmark: throughput with an instant provider, and concurrency with a slow one.

    python benchmarks/engine.py [--entries 200000]

1. Overhead: a provider that answers at once with 100 fresh names (a few repeats and variants
   among them) runs the whole engine — prompt building, parsing, normalization, the store, the
   output file, metrics — at 1, 5 and 32 producers; prints new entries/s and the share of the
   producers' time spent outside the provider call.
2. Concurrency: 64 producers against `sim` with its latency fixed at 200 ms and no rate limit;
   prints the achieved request rate against the ideal 64 / 0.2 s = 320 requests/s.
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=200_000)
    ap.add_argument("--seconds", type=float, default=15.0, help="concurrency test length")
    args = ap.parse_args()

    print("1. engine overhead, instant provider")
    print(f"{'producers':>9} {'new':>9} {'seconds':>8} {'new/s':>9} {'outside provider':>17}")
    for n in (1, 5, 32):
        p = Instant()
        elapsed, result = asyncio.run(
            run(p, Arm("instant", "x"), n, Limits(max_unique=args.entries))
        )
        snap = result.snapshot  # type: ignore[attr-defined]
        outside = 1 - p.busy / elapsed  # the GIL serializes: busy is CPU spent in the provider
        print(
            f"{n:>9} {snap.unique:>9,} {elapsed:>8.2f} {snap.unique / elapsed:>9,.0f} "
            f"{outside:>16.1%}"
        )

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
    print(f"requests {reqs:,} in {elapsed:.1f} s = {reqs / elapsed:.0f}/s; ideal {ideal:.0f}/s; "
          f"achieved {reqs / elapsed / ideal:.1%}")  # fmt: skip


if __name__ == "__main__":
    main()
