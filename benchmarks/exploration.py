"""Exploration benchmark: igentai's strategy against the naive loop, on `sim`, same budget.

    python benchmarks/exploration.py [--budget 1000000] [--profile default] [--seed 1]

For each topic (a small real one, ~250 entries, and a large synthetic one with natural
subtopics, >= 4,000 entries):

- naive: one producer asks "Generate 100 new entries about TOPIC ... Previous entries: <all of
  them>" again and again, deduplicating with the same normalization the engine uses, until the
  token budget is spent or the prompt no longer fits the model;
- igentai: the real engine (orchestrator, partitions, store) with 5 producers and
  `--max-tokens` = the budget;
- igentai --until-saturated: the same, stopping itself (the budget is only a safety cap).

Both use the same sim model (the profile's behaviour, with latency and rate limit off so the
run takes seconds). Coverage is measured against the sim's true universe: an entry counts when
`Universe.lookup` finds it; invented entries are those it does not. Prints coverage, covered
entries per 100k tokens, duplicates by kind, invented entries, tokens to reach 50/80/90/95%
coverage, and a text chart of coverage against tokens.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sqlite3
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from igentai_tui.engine.normalize import forms
from igentai_tui.engine.orchestrator import Arm, Limits, Orchestrator, RunSettings
from igentai_tui.engine.parsing import parse_reply
from igentai_tui.engine.prompts import SYSTEM
from igentai_tui.output import OutputFile
from igentai_tui.providers.base import CompletionRequest, ContextTooLong
from igentai_tui.providers.sim import PROFILES, SimProvider, universe_for
from igentai_tui.store import Store

TOPICS = ("Dog breeds", "Castles and fortresses of Europe (sim:5000/30)")
MARKS = (0.5, 0.8, 0.9, 0.95)
NAIVE_COUNT = 100


@dataclass
class Outcome:
    name: str
    tokens: int = 0
    requests: int = 0
    new: int = 0
    dup_exact: int = 0
    dup_variant: int = 0
    invented: int = 0
    covered: int = 0
    stop: str = ""
    curve: list[tuple[int, int]] = field(default_factory=list)  # (tokens, covered) per step
    found: list[int] = field(default_factory=list)  # new entries (true or not) per step
    missed: list[int] = field(default_factory=list)  # universe indices never found

    def tokens_to(self, share: float, size: int) -> int | None:
        for tokens, covered in self.curve:
            if covered >= share * size:
                return tokens
        return None


def sim_for(profile: str, seed: int) -> SimProvider:
    params = dataclasses.replace(
        PROFILES[profile], rpm_limit=None, latency_base_s=0.0, latency_per_token_s=0.0
    )
    return SimProvider(profile, seed=seed, params=params)


def naive(topic: str, budget: int, profile: str, seed: int) -> Outcome:
    """The loop users write first: everything found, in every prompt."""
    universe = universe_for(topic)
    sim = sim_for(profile, seed)
    out = Outcome("naive")
    found: dict[str, str] = {}  # loose -> text
    covered: set[int] = set()
    while out.tokens < budget:
        prompt = (
            f"Topic: {topic}\nGenerate {NAIVE_COUNT} new entries about this topic. "
            "One entry per line.\nPrevious entries:\n" + "\n".join(found.values())
        )
        request = CompletionRequest(
            model=profile, system=SYSTEM, prompt=prompt, max_tokens=NAIVE_COUNT * 20 + 200
        )
        try:
            reply = sim.complete(request)
        except ContextTooLong:
            out.stop = f"prompt no longer fits the context window ({len(found)} entries listed)"
            break
        out.requests += 1
        out.tokens += reply.input_tokens + reply.output_tokens
        for text in parse_reply(reply.text, truncated=reply.truncated).candidates:
            f = forms(text)
            if f is None:
                continue
            if f.loose in found:
                if forms(found[f.loose]).key == f.key:  # type: ignore[union-attr]
                    out.dup_exact += 1
                else:
                    out.dup_variant += 1
                continue
            found[f.loose] = f.text
            out.new += 1
            i = universe.lookup(f.text)
            if i is None:
                out.invented += 1
            else:
                covered.add(i)
        out.curve.append((out.tokens, len(covered)))
    out.covered = len(covered)
    out.stop = out.stop or "token budget spent"
    return out


async def engine(
    topic: str,
    limits: Limits,
    profile: str,
    seed: int,
    producers: int,
    name: str,
    context_tokens: int | None = None,
) -> Outcome:
    """The real engine on the same sim model; figures read back from its database."""
    universe = universe_for(topic)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        store = await Store.open(db)
        output = OutputFile(Path(tmp) / "output.txt")
        arms = [Arm("sim", profile)]
        settings = RunSettings(topic, arms, producers=producers, limits=limits, seed=seed)
        if context_tokens is not None:
            settings.context_tokens = context_tokens
        orc = Orchestrator(settings, store, {arms[0].label: sim_for(profile, seed)}, output)
        result = await orc.run()
        output.close()
        await store.close()
        con = sqlite3.connect(db)
        calls = con.execute(
            "SELECT id, input_tokens + output_tokens, dup_exact, dup_variant FROM calls ORDER BY id"
        ).fetchall()
        entries = con.execute("SELECT text, first_call_id FROM entries ORDER BY id").fetchall()
        con.close()
    out = Outcome(name, stop=result.reason)
    out.requests = len(calls)
    first: dict[int, list[int | None]] = {}
    for text, call_id in entries:
        first.setdefault(call_id, []).append(universe.lookup(text))
    covered: set[int] = set()
    for call_id, tokens, dup_exact, dup_variant in calls:
        out.tokens += tokens
        out.dup_exact += dup_exact
        out.dup_variant += dup_variant
        for i in first.get(call_id, ()):
            out.new += 1
            if i is None:
                out.invented += 1
            else:
                covered.add(i)
        out.curve.append((out.tokens, len(covered)))
        out.found.append(out.new)
    out.covered = len(covered)
    out.missed = sorted(set(range(len(universe))) - covered)
    return out


def chart(outcomes: list[Outcome], size: int, width: int = 60, height: int = 12) -> str:
    """Coverage (%) against tokens, one letter per run: n(aive), i(gentai), s(aturated)."""
    top = max(o.tokens for o in outcomes) or 1
    grid = [[" "] * width for _ in range(height)]
    for o in outcomes:
        mark = o.name[0] if o.name != "until-saturated" else "s"
        for tokens, covered in o.curve:
            x = min(width - 1, tokens * width // top)
            y = min(height - 1, covered * height // max(1, size))
            grid[height - 1 - y][x] = mark
    rows = [f"{100 * (height - r) // height:>4}% |" + "".join(line) for r, line in enumerate(grid)]
    rows.append("      +" + "-" * width)
    rows.append(f"       0 tokens{' ' * (width - 22)}{top:>9,}")
    return "\n".join(rows)


def report(topic: str, size: int, outcomes: list[Outcome]) -> None:
    print(f"\n## {topic}: {size:,} true entries\n")
    head = "| run | tokens | requests | covered | coverage | covered/100k tok | new/100k tok |"
    print(
        head
        + " dup exact | dup variant | invented | "
        + " | ".join(f"tokens to {int(m * 100)}%" for m in MARKS)
        + " | stop |"
    )
    print("|" + "---|" * (11 + len(MARKS)))
    for o in outcomes:
        per = 1e5 / o.tokens if o.tokens else 0.0
        marks = [o.tokens_to(m, size) for m in MARKS]
        print(
            f"| {o.name} | {o.tokens:,} | {o.requests:,} | {o.covered:,} | "
            f"{100 * o.covered / size:.1f}% | {o.covered * per:,.0f} | {o.new * per:,.0f} | "
            f"{o.dup_exact:,} | {o.dup_variant:,} | {o.invented:,} | "
            + " | ".join(f"{t:,}" if t is not None else "—" for t in marks)
            + f" | {o.stop} |"
        )
    naive_o = outcomes[0]
    n_rate = naive_o.covered / naive_o.tokens if naive_o.tokens else 0.0
    print()
    for o in outcomes[1:]:
        rate = o.covered / o.tokens if o.tokens else 0.0
        ratio = rate / n_rate if n_rate else float("inf")
        same = o.tokens_to(naive_o.covered / size, size)
        reach = f"{naive_o.tokens / same:.1f}x fewer" if same else "not reached"
        print(
            f"{o.name}: covered entries per 100k tokens {ratio:.1f}x the naive loop's; tokens to "
            f"the naive loop's final coverage ({100 * naive_o.covered / size:.1f}%): {reach}"
        )
    if len(outcomes) > 2:
        sat = outcomes[2]
        t90 = sat.tokens_to(0.9, size)
        if t90:
            print(
                f"until-saturated: stopped at {100 * sat.covered / size:.1f}% coverage after "
                f"{sat.tokens:,} tokens = {sat.tokens / t90:.2f}x the tokens it needed for 90%"
            )
        else:
            print(f"until-saturated: stopped at {100 * sat.covered / size:.1f}%, below 90%")
    print("\n```\n" + chart(outcomes, size) + "\n```")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=1_000_000, help="tokens per run")
    ap.add_argument("--profile", default="default", choices=sorted(PROFILES))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--producers", type=int, default=5)
    ap.add_argument("--topic", action="append", help="topics (default: a small and a large)")
    ap.add_argument("--no-saturation", action="store_true", help="skip the --until-saturated run")
    ap.add_argument(
        "--context-tokens", type=int, help="igentai's context budget (default: the engine's)"
    )
    args = ap.parse_args()
    ctx = args.context_tokens
    for topic in args.topic or TOPICS:
        size = len(universe_for(topic))
        outcomes = [naive(topic, args.budget, args.profile, args.seed)]
        runs = [("igentai", False)] + ([] if args.no_saturation else [("until-saturated", True)])
        for name, until in runs:
            limits = Limits(max_tokens=args.budget, until_saturated=until)
            run = engine(topic, limits, args.profile, args.seed, args.producers, name, ctx)
            outcomes.append(await run)
        report(topic, size, outcomes)


if __name__ == "__main__":
    asyncio.run(main())
