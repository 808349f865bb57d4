"""Exploration benchmark: igentai against the naive loop, at the same token budget, on a family
of generated worlds it was not tuned on.

    python benchmarks/exploration.py                      # the held-out worlds (the report)
    python benchmarks/exploration.py --set tuning         # the worlds constants are chosen on
    python benchmarks/exploration.py --worlds flat:7,groups:3 --verbose
    python benchmarks/exploration.py --topic "Dog breeds" # a demo topic, the default sim model

Each world (`igentai_tui/providers/sim/worlds.py`) is a shape and a seed; the seed also draws
the model's behaviour (recall depth, subtopics per answer, inventions, variants, beliefs). The
tuning set is seeds 1-3 of every shape, the held-out set seeds 101-103: nothing in the strategy
may be chosen by looking at the held-out figures.

For each world:
- igentai: the real engine (orchestrator, partitions, verification, store) with 5 producers and
  `--until-saturated` (a token cap as a safety net) on the world's model;
- naive: one producer asking "Generate 100 new entries about TOPIC ... Previous entries: <all of
  them>" again and again on the same model, deduplicated with the engine's normalization,
  until it has spent as many tokens as igentai did (or its prompt no longer fits);

and the figures, against the world's truth (`Universe.lookup`): coverage of output.txt (what
users get), tokens to 50/80/90/95% coverage, the stop against the tokens it needed for 90%,
precision (invented entries and entries written twice under two names, as shares of
output.txt), the tokens spent on verification, and the run's own completeness estimate
against the truth. Worlds run two at a time (the machine's two cores).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from igentai_tui.engine.normalize import forms
from igentai_tui.engine.orchestrator import Arm, Limits, Orchestrator, RunSettings
from igentai_tui.engine.parsing import parse_reply
from igentai_tui.engine.prompts import SYSTEM
from igentai_tui.output import OutputFile
from igentai_tui.providers.base import (
    CompletionRequest,
    ContextTooLong,
    estimate_tokens,
)
from igentai_tui.providers.sim import PROFILES, SimParams, SimProvider, universe_for
from igentai_tui.providers.sim.worlds import SHAPES, world_params, world_topic
from igentai_tui.store import Store

SETS = {"tuning": (1, 2, 3), "held-out": (101, 102, 103)}
MARKS = (0.5, 0.8, 0.9, 0.95)
NAIVE_COUNT = 100
CAP = 3_000_000  # tokens: a safety net for the until-saturated run


@dataclass
class Result:
    """One world's figures."""

    world: str
    size: int
    tokens: int = 0
    requests: int = 0
    coverage: float = 0.0  # of the world, by output.txt
    found: float = 0.0  # of the world, by the entries stored in any state
    marks: dict[str, int | None] = field(default_factory=dict)  # "90" -> tokens to 90%
    stop: str = ""
    invented: float = 0.0  # share of output.txt not in the world
    leaks: float = 0.0  # share of output.txt naming an entry an earlier line already names
    verify_share: float = 0.0  # share of tokens spent on verification requests
    estimate: float | None = None  # the run's completeness estimate at the stop
    pending: int = 0
    held_real: float = 0.0  # of the world, by the real entries still pending at the stop
    rejected_real: float = 0.0  # share of the real entries found that were rejected
    naive_coverage: float = 0.0  # the naive loop's coverage at igentai's token count
    naive_stop: str = ""
    perfect: int = 0  # tokens a perfect lister needs (entries x tokens per entry)
    seconds: float = 0.0

    @property
    def over90(self) -> float | None:
        t90 = self.marks.get("90")
        return self.tokens / t90 if t90 else None


def sim_for(params: SimParams, seed: int) -> SimProvider:
    return SimProvider("sim", seed=seed, params=params)


def naive(topic: str, budget: int, params: SimParams, seed: int) -> tuple[float, str]:
    """The loop users write first: everything found, in every prompt, until `budget`."""
    universe = universe_for(topic)
    sim = sim_for(params, seed)
    found: dict[str, str] = {}  # loose -> text
    covered: set[int] = set()
    tokens = 0
    stop = "token budget spent"
    while tokens < budget:
        prompt = (
            f"Topic: {topic}\nGenerate {NAIVE_COUNT} new entries about this topic. "
            "One entry per line.\nPrevious entries:\n" + "\n".join(found.values())
        )
        request = CompletionRequest(
            model="sim", system=SYSTEM, prompt=prompt, max_tokens=NAIVE_COUNT * 20 + 200
        )
        try:
            reply = sim.complete(request)
        except ContextTooLong:
            stop = f"prompt no longer fits ({len(found)} entries listed)"
            break
        tokens += reply.input_tokens + reply.output_tokens
        for text in parse_reply(reply.text, truncated=reply.truncated).candidates:
            f = forms(text)
            if f is None or f.loose in found:
                continue
            found[f.loose] = f.text
            i = universe.lookup(f.text)
            if i is not None:
                covered.add(i)
    return len(covered) / len(universe), stop


async def engine(
    topic: str,
    params: SimParams,
    seed: int,
    producers: int,
    context: int | None = None,
    models: int = 1,
) -> tuple:
    """The real engine until saturated; returns (result, calls, entries, output lines). With
    `models` > 1, as many sim models with minds of their own (their inventions and beliefs
    independent), the engine spreading requests over them."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        store = await Store.open(db)
        output = OutputFile(Path(tmp) / "output.txt")
        names = [chr(ord("a") + k) for k in range(models)] if models > 1 else ["sim"]
        arms = [Arm("sim", n) for n in names]
        providers = {
            a.label: sim_for(dataclasses.replace(params, mind=a.model), seed + k)
            for k, a in enumerate(arms)
        }
        limits = Limits(max_tokens=CAP, until_saturated=True)
        settings = RunSettings(topic, arms, producers=producers, limits=limits, seed=seed)
        if context is not None:
            settings.context_tokens = context
        orc = Orchestrator(settings, store, providers, output)
        result = await orc.run()
        output.close()
        await store.close()
        lines = (Path(tmp) / "output.txt").read_text(encoding="utf-8").splitlines()
        con = sqlite3.connect(db)
        calls = con.execute(
            "SELECT id, input_tokens + output_tokens, prompt_version FROM calls ORDER BY id"
        ).fetchall()
        cols = {r[1] for r in con.execute("PRAGMA table_info(entries)")}
        decided = "decided_call_id" if "decided_call_id" in cols else "first_call_id"
        status = "status" if "status" in cols else "'confirmed'"
        entries = con.execute(
            f"SELECT text, first_call_id, {decided}, {status} FROM entries ORDER BY id"
        ).fetchall()
        con.close()
    return result, calls, entries, lines


def measure(
    world: str, producers: int = 5, seed: int = 1, context: int | None = None, models: int = 1
) -> Result:
    """Run igentai and the naive loop on one world (or demo topic) and measure both."""
    t0 = time.monotonic()
    if ":" in world and world.split(":")[0] in SHAPES:
        shape, n = world.split(":")
        topic, params = world_topic(shape, int(n)), world_params(shape, int(n))
    else:
        topic = world
        params = dataclasses.replace(
            PROFILES["default"], rpm_limit=None, latency_base_s=0.0, latency_per_token_s=0.0
        )
    universe = universe_for(topic)
    size = len(universe)
    out = Result(world, size)
    result, calls, entries, lines = asyncio.run(
        engine(topic, params, seed, producers, context, models)
    )
    out.stop = result.reason
    out.requests = len(calls)
    # Coverage of output.txt along the run: an entry counts from the call that confirmed it.
    shown_at: dict[int, list[int | None]] = {}
    real_found: set[int] = set()
    real_rejected: set[int] = set()
    real_pending: set[int] = set()
    for text, first, decided, status in entries:
        i = universe.lookup(text)
        if status == "confirmed":
            shown_at.setdefault(decided or first, []).append(i)
        if i is not None:
            real_found.add(i)
            if status == "rejected":
                real_rejected.add(i)
            elif status == "pending":
                real_pending.add(i)
    covered: set[int] = set()
    verify = 0
    for call_id, tokens, version in calls:
        out.tokens += tokens
        verify += tokens if (version or "").startswith("verify") else 0
        for i in shown_at.get(call_id, ()):
            if i is not None:
                covered.add(i)
        for m in MARKS:
            key = str(round(m * 100))
            if key not in out.marks and len(covered) >= m * size:
                out.marks[key] = out.tokens
    for m in MARKS:
        out.marks.setdefault(str(round(m * 100)), None)
    seen: set[int] = set()
    invented = leaks = 0
    for line in lines:
        i = universe.lookup(line)
        if i is None:
            invented += 1
        elif i in seen:
            leaks += 1
        else:
            seen.add(i)
    out.coverage = len(seen) / size
    out.found = len(real_found) / size
    out.invented = invented / len(lines) if lines else 0.0
    out.leaks = leaks / len(lines) if lines else 0.0
    out.verify_share = verify / out.tokens if out.tokens else 0.0
    cov = result.snapshot.coverage
    out.estimate = cov.completeness
    out.pending = sum(1 for e in entries if e[3] == "pending")
    out.held_real = len(real_pending - seen) / size
    out.rejected_real = len(real_rejected) / len(real_found) if real_found else 0.0
    out.naive_coverage, out.naive_stop = naive(topic, out.tokens, params, seed)
    per_entry = statistics.mean(estimate_tokens(e.name + "\n") for e in universe.entries)
    out.perfect = round(size * per_entry)
    out.seconds = time.monotonic() - t0
    return out


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _num(x: int | None) -> str:
    return "—" if x is None else f"{x:,}"


def report(results: list[Result]) -> None:
    print(
        "| world | entries | tokens | coverage | to 50% | to 80% | to 90% | to 95% | stop / "
        "to-90% | naive, same tokens | × naive | invented | leaks | verify tokens | "
        "estimate | stop |"
    )
    print("|" + "---|" * 16)
    for r in results:
        ratio = r.coverage / r.naive_coverage if r.naive_coverage else float("inf")
        over = f"{r.over90:.2f}" if r.over90 else "—"
        print(
            f"| {r.world} | {r.size:,} | {r.tokens:,} | {_pct(r.coverage)} | "
            + " | ".join(_num(r.marks[k]) for k in ("50", "80", "90", "95"))
            + f" | {over} | {_pct(r.naive_coverage)} | {ratio:.1f} | {_pct(r.invented)} | "
            f"{_pct(r.leaks)} | {_pct(r.verify_share)} | {_pct(r.estimate)} | {r.stop} |"
        )
    print()
    summary(results)


def summary(results: list[Result]) -> None:
    """Median and worst case of each target's figure."""

    def line(name: str, values: list[float], worst: str, fmt: str = "{:.1%}") -> None:
        if not values:
            return
        pick = min(values) if worst == "min" else max(values)
        med = statistics.median(values)
        print(f"- {name}: median {fmt.format(med)}, worst {fmt.format(pick)} ({len(values)})")

    line("coverage at the stop", [r.coverage for r in results], "min")
    line("stop / tokens to 90%", [r.over90 for r in results if r.over90], "max", "{:.2f}")
    big = [r for r in results if r.size >= 2_000]
    line(
        "× naive at the same tokens (>= 2,000 entries)",
        [r.coverage / max(r.naive_coverage, 1e-9) for r in big],
        "min",
        "{:.1f}",
    )
    small = [r for r in results if r.size <= 300]
    line("coverage, <= 300 entries", [r.coverage for r in small], "min")
    line("tokens / perfect lister, <= 300 entries", [r.tokens / r.perfect for r in small], "max",
         "{:.2f}")  # fmt: skip
    line("invented share of output.txt", [r.invented for r in results], "max")
    line("leaks (one entry twice)", [r.leaks for r in results], "max")
    line("real entries found, in any state", [r.found for r in results], "min")
    line("... of them still pending at the stop (held)", [r.held_real for r in results], "max")
    line("real entries rejected", [r.rejected_real for r in results], "max")
    line("verification tokens", [r.verify_share for r in results], "max")
    errs = [abs(r.estimate - r.coverage) for r in results if r.estimate is not None]
    line("|estimate - truth| at the stop", errs, "max")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", choices=sorted(SETS), default="held-out")
    ap.add_argument("--worlds", help="comma-separated SHAPE:SEED (default: the set's worlds)")
    ap.add_argument("--topic", action="append", help="a demo topic instead of worlds")
    ap.add_argument("--shapes", default=",".join(SHAPES))
    ap.add_argument("--producers", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2, help="worlds run at once (processes)")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--seed", type=int, default=1, help="the sim's seed (runs differ)")
    ap.add_argument("--context-tokens", type=int, help="igentai's context budget")
    ap.add_argument(
        "--models", type=int, default=1, help="sim models with minds of their own (default 1)"
    )
    args = ap.parse_args()
    if args.topic:
        worlds = args.topic
    elif args.worlds:
        worlds = args.worlds.split(",")
    else:
        worlds = [f"{s}:{n}" for s in args.shapes.split(",") for n in SETS[args.set]]
    t0 = time.monotonic()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [
            pool.submit(measure, w, args.producers, args.seed, args.context_tokens, args.models)
            for w in worlds
        ]
        results = []
        for f in futures:
            r = f.result()
            print(f"  {r.world}: {_pct(r.coverage)} at {r.tokens:,} tokens ({r.seconds:.0f} s)",
                  file=sys.stderr, flush=True)  # fmt: skip
            results.append(r)
    print(f"\n{len(results)} worlds in {time.monotonic() - t0:.0f} s\n")
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps([dataclasses.asdict(r) for r in results], indent=1))


if __name__ == "__main__":
    main()
