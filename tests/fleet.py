"""A fleet of producers routed over several sim arms, in simulated time (a discrete-event run).

Used by the routing tests and `benchmarks/routing.py`: it runs the real router, the real sim
replies to the real prompts, the real parser and the real duplicate signature (so it sits above
both the engine and the providers), but no threads, store or event loop, so that minutes of N
concurrent producers take a second of CPU and the same seed gives the same run. Each producer
starts a request as soon as its previous one has come back (plus the producer's backoff after a
failure, `backoff_s` in engine/failures.py, without its jitter); a reply counts at the simulated
time it arrives.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from igentai_tui.common.clock import Clock
from igentai_tui.engine.failures import backoff_s
from igentai_tui.engine.normalize import forms
from igentai_tui.engine.parsing import parse_reply
from igentai_tui.engine.prompts import SYSTEM, list_prompt
from igentai_tui.engine.routing import Outcome, Router
from igentai_tui.providers.base import (
    Completion,
    CompletionRequest,
    Overloaded,
    ProviderError,
    estimate_tokens,
)
from igentai_tui.providers.sim.params import PROFILES, SimParams
from igentai_tui.providers.sim.provider import SimProvider

# Three arms of different quality, for the routing tests and benchmark: `strong` knows the whole
# topic but is slow and dear, `fast` answers 6x faster and knows 60%, `cheap` costs 1/60 of
# `strong` and knows 15% (the weak profile).
# Recall is not limited by focus here: the fleet asks for the whole topic, and what it measures
# is how arms that know more or less compare.
_D = replace(PROFILES["default"], recall_depth=None)
_W = replace(PROFILES["weak"], recall_depth=None)
DEMO_ARMS: dict[str, SimParams] = {
    "sim:strong": replace(
        _D, rpm_limit=None, knowledge=1.0, honour=0.97, invent_rate=0.01,
        latency_base_s=1.2, latency_per_token_s=0.008, price_in=3.0, price_out=15.0,
    ),
    "sim:fast": replace(
        _D, rpm_limit=None, knowledge=0.6, latency_base_s=0.2, latency_per_token_s=0.001,
        price_in=0.5, price_out=2.0,
    ),
    "sim:cheap": replace(
        _W, rpm_limit=None, knowledge=0.15, latency_base_s=0.6, latency_per_token_s=0.004,
        price_in=0.05, price_out=0.2,
    ),
}  # fmt: skip


class _CallClock(Clock):
    """The fleet's clock: reads the simulated time; a provider's sleep adds to the call's
    latency instead of waiting."""

    def __init__(self) -> None:
        self.t = 0.0
        self.slept = 0.0

    def now(self) -> float:
        return 1_800_000_000.0 + self.t

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float, wake: object = None) -> None:
        self.slept += max(0.0, seconds)


@dataclass(slots=True)
class ArmTotals:
    requests: int = 0
    errors: int = 0
    new: int = 0
    tokens: int = 0
    dollars: float = 0.0
    seconds: float = 0.0


@dataclass(slots=True)
class FleetResult:
    """A fleet run's totals, per arm, and every decision as (start time, arm)."""

    elapsed_s: float = 0.0
    new: int = 0
    tokens: int = 0
    dollars: float = 0.0
    arms: dict[str, ArmTotals] = field(default_factory=dict)
    starts: list[tuple[float, str]] = field(default_factory=list)

    def share(self, arm: str, start: float = 0.0, end: float = float("inf")) -> float:
        """`arm`'s share of the requests started in [start, end)."""
        picked = [a for t, a in self.starts if start <= t < end]
        return picked.count(arm) / len(picked) if picked else 0.0

    def per(self, objective: str) -> float:
        """New entries per second, per 1k tokens or per dollar."""
        if objective == "speed":
            return self.new / self.elapsed_s if self.elapsed_s else 0.0
        if objective == "tokens":
            return 1000 * self.new / self.tokens if self.tokens else 0.0
        return self.new / self.dollars if self.dollars else 0.0


def run_fleet(
    topic: str,
    arms: Mapping[str, SimParams],
    router: Router,
    *,
    producers: int = 5,
    duration_s: float = 600.0,
    max_tokens: int | None = None,
    max_dollars: float | None = None,
    outages: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    seed: int = 0,
    request_size: int = 50,
    context_tokens: int = 3000,
) -> FleetResult:
    """Run `producers` producers on `arms` (label "sim:NAME" -> params) under `router` until
    `duration_s` of simulated time or a token or dollar budget; an arm fails with Overloaded
    during its `outages` (start, end) windows."""
    clock = _CallClock()
    providers = {
        label: SimProvider(label.split(":", 1)[1], seed=seed, clock=clock, params=params)
        for label, params in arms.items()
    }
    outages = outages or {}
    result = FleetResult(arms={a: ArmTotals() for a in arms})
    seen: set[str] = set()
    found: list[str] = []
    failures = dict.fromkeys(range(producers), 0)
    current: dict[int, str | None] = dict.fromkeys(range(producers))
    # (time, sequence, producer, what arrives then: (arm, outcome, texts, backoff) or None for
    # the producer's next start)
    Arrival = tuple[str, Outcome, list[str], float]
    queue: list[tuple[float, int, int, Arrival | None]] = [
        (0.0, p, p, None) for p in range(producers)
    ]
    seq = producers
    while queue:
        t, _, pid, arrived = heapq.heappop(queue)
        if arrived is not None:
            arm, outcome, got, wait = arrived
            new = 0
            for text in got:
                f = forms(text)
                if f is not None and f.loose not in seen:
                    seen.add(f.loose)
                    found.append(f.text)
                    new += 1
            outcome = Outcome(
                outcome.latency_s, outcome.tokens, outcome.cost_usd, new, outcome.error_kind
            )
            router.observe(arm, outcome, t)
            result.arms[arm].new += new
            result.new += new
            result.elapsed_s = max(result.elapsed_s, t)
            seq += 1
            heapq.heappush(queue, (t + wait, seq, pid, None))
            continue
        if t >= duration_s or (max_tokens is not None and result.tokens >= max_tokens):
            continue
        if max_dollars is not None and result.dollars >= max_dollars:
            continue
        arm = router.choose(current[pid], list(arms), t)
        current[pid] = arm
        result.starts.append((t, arm))
        clock.t, clock.slept = t, 0.0
        provider = providers[arm]
        model = arm.split(":", 1)[1]
        request = _request(topic, model, found, provider, request_size, context_tokens)
        down = any(a <= t < b for a, b in outages.get(arm, ()))
        texts: list[str] = []
        wait = 0.0
        try:
            if down:
                clock.sleep(provider.params.latency_base_s)
                raise Overloaded(f"{arm} is overloaded (simulated outage)")
            reply: Completion = provider.complete(request)
        except ProviderError as exc:
            outcome = Outcome(clock.slept, 0, 0.0, 0, exc.kind)
            failures[pid] += 1
            wait = backoff_s(failures[pid])
        else:
            price_in, price_out = provider.price(model)
            tokens = reply.input_tokens + reply.output_tokens
            cost = (reply.input_tokens * price_in + reply.output_tokens * price_out) / 1e6
            outcome = Outcome(clock.slept, tokens, cost, 0)
            texts = parse_reply(reply.text, truncated=reply.truncated).candidates
            failures[pid] = 0
        totals = result.arms[arm]
        totals.requests += 1
        totals.errors += outcome.error_kind is not None
        totals.tokens += outcome.tokens
        totals.dollars += outcome.cost_usd or 0.0
        totals.seconds += outcome.latency_s
        result.tokens += outcome.tokens
        result.dollars += outcome.cost_usd or 0.0
        seq += 1
        arrival = (arm, outcome, texts, wait)
        heapq.heappush(queue, (t + max(outcome.latency_s, 1e-3), seq, pid, arrival))
    return result


def _request(
    topic: str,
    model: str,
    found: list[str],
    provider: SimProvider,
    request_size: int,
    context_tokens: int,
) -> CompletionRequest:
    """The prompt the orchestrator would send: the newest entries that fit the budget."""
    budget = min(context_tokens, provider.context_window(model) // 4)
    shown: list[str] = []
    used = 0
    for text in reversed(found):
        used += estimate_tokens(text) + 1
        if used > budget:
            break
        shown.append(text)
    prompt = list_prompt(topic, request_size, shown)
    return CompletionRequest(
        model=model,
        system=SYSTEM,
        prompt=prompt,
        max_tokens=request_size * 20 + 200,
        temperature=1.0,
    )
