"""Live metrics: totals, 60 s windows, per provider:model and per producer, coverage.

`Metrics` is fed by the orchestrator (one thread) and read through `snapshot()`, which returns
plain frozen data that front ends render and the headless runner prints as JSON.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

WINDOW_S = 60.0


class Window:
    """Events counted over the last WINDOW_S seconds."""

    __slots__ = ("_events", "_total")

    def __init__(self) -> None:
        self._events: deque[tuple[float, int]] = deque()
        self._total = 0

    def add(self, t: float, n: int) -> None:
        if n:
            self._events.append((t, n))
            self._total += n

    def count(self, now: float) -> int:
        ev = self._events
        while ev and ev[0][0] <= now - WINDOW_S:
            self._total -= ev.popleft()[1]
        return self._total


@dataclass(slots=True)
class Tally:
    """Counters kept for the whole run and for each provider:model and producer."""

    requests: int = 0
    errors: int = 0
    returned: int = 0
    new: int = 0
    dup_exact: int = 0
    dup_variant: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    cost_known: bool = True
    confirmed: int = 0  # of its new entries, those confirmed
    errors_by_kind: Counter[str] = field(default_factory=Counter)
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=2048))
    window: Window = field(default_factory=Window)  # new entries
    calls: Window = field(default_factory=Window)  # requests


@dataclass(frozen=True, slots=True)
class TallyView:
    """A frozen view of a Tally, as front ends and the JSON summary see it."""

    requests: int
    errors: int
    returned: int
    new: int
    dup_exact: int
    dup_variant: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    unique_per_min: int
    requests_per_min: int
    yield_: float | None
    tokens_per_new: float | None
    cost_per_new: float | None
    latency_p50: float | None
    latency_p95: float | None
    errors_by_kind: dict[str, int]
    confirmed: int = 0

    def as_dict(self) -> dict[str, object]:
        d = {k: getattr(self, k) for k in self.__slots__}
        d["yield"] = d.pop("yield_")
        return d


@dataclass(frozen=True, slots=True)
class Coverage:
    """Estimates from proposal counts (see docs/metrics.md)."""

    observed: int  # distinct entries
    proposals: int  # candidates counted as proposals of an entry
    f1: int  # entries proposed exactly once
    f2: int  # entries proposed exactly twice
    good_turing: float | None  # share of proposals that hit an already seen entry
    chao1: float | None  # total number of entries, estimated from proposal counts alone
    chao1_sd: float | None
    confirmed: int = 0  # entries confirmed real (all of them, without verification)
    estimated_total: float | None = None  # confirmed + what is estimated left (real only)
    estimated_band: tuple[float, float] | None = None  # nothing left .. twice what is left

    @property
    def completeness(self) -> float | None:
        """confirmed / estimated total: the estimated share of the topic found so far."""
        if not self.estimated_total:
            return None
        return min(1.0, self.confirmed / self.estimated_total)

    def as_dict(self) -> dict[str, object]:
        d: dict[str, object] = {k: getattr(self, k) for k in self.__slots__}
        d["completeness"] = self.completeness
        return d


@dataclass(frozen=True, slots=True)
class ContextLag:
    """How stale a producer's context was by the time its reply was stored (mean of last 200)."""

    entries: float
    seconds: float


@dataclass(frozen=True, slots=True)
class Snapshot:
    elapsed_s: float
    unique: int  # distinct entries, whatever their state
    confirmed: int
    pending: int
    rejected: int
    merged: int
    total: TallyView
    arms: dict[str, TallyView]
    producers: dict[int, TallyView]
    coverage: Coverage
    context_lag: ContextLag
    asked: int = 0  # requests for entries or subtopics; the rest of total.requests verified


def coverage(observed: int, proposals: int, f1: int, f2: int) -> Coverage:
    """Good-Turing sample coverage and the bias-corrected Chao1 richness with its s.d."""
    if proposals == 0:
        return Coverage(observed, proposals, f1, f2, None, None, None)
    gt = 1.0 - f1 / proposals
    # Bias-corrected Chao1 and its variance (Chao 2005), defined for any f2 including 0.
    g = f2 + 1
    chao = observed + f1 * (f1 - 1) / (2 * g)
    var = (
        f1 * (f1 - 1) / (2 * g)
        + f1 * (2 * f1 - 1) ** 2 / (4 * g * g)
        + f1 * f1 * f2 * (f1 - 1) ** 2 / (4 * g**4)
    )
    return Coverage(observed, proposals, f1, f2, gt, chao, math.sqrt(max(var, 0.0)))


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values.sort()
    return values[min(len(values) - 1, int(q * len(values)))]


def _view(t: Tally, now: float) -> TallyView:
    lat = list(t.latencies)
    return TallyView(
        requests=t.requests,
        errors=t.errors,
        returned=t.returned,
        new=t.new,
        dup_exact=t.dup_exact,
        dup_variant=t.dup_variant,
        input_tokens=t.input_tokens,
        output_tokens=t.output_tokens,
        cost_usd=t.cost_usd if t.cost_known else None,
        unique_per_min=t.window.count(now),
        requests_per_min=t.calls.count(now),
        yield_=t.new / t.returned if t.returned else None,
        tokens_per_new=(t.input_tokens + t.output_tokens) / t.new if t.new else None,
        cost_per_new=t.cost_usd / t.new if t.new and t.cost_known else None,
        latency_p50=_percentile(lat, 0.5),
        latency_p95=_percentile(lat, 0.95),
        errors_by_kind=dict(t.errors_by_kind),
        confirmed=t.confirmed,
    )


class Metrics:
    """The run's counters. Not thread-safe: the orchestrator alone writes and snapshots."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.total = Tally()
        self.arms: dict[str, Tally] = {}
        self.producers: dict[int, Tally] = {}
        self.unique = 0
        self.confirmed = 0
        self.asked = 0  # requests for entries or subtopics, not verification (--max-requests)
        self.rejected = 0
        self.merged = 0
        self.estimated_total: float | None = None  # set by the run (partitions.py estimates)
        self.estimated_band: tuple[float, float] | None = None
        self.proposals = 0
        self.freq: Counter[int] = Counter()  # times proposed -> number of entries
        self._lag: deque[tuple[int, float]] = deque(maxlen=200)

    def restore(
        self,
        proposal_counts: Iterable[tuple[int, int]],
        requests: int,
        input_tokens: int,
        output_tokens: int,
        cost_usd: float,
        states: Iterable[tuple[str, int]] = (),
    ) -> None:
        """Continue from a stored run: (times proposed, entries) pairs, its call totals and
        how many entries have each state."""
        counts = dict(states)
        self.confirmed = self.total.confirmed = counts.get("confirmed", 0)
        self.rejected = counts.get("rejected", 0)
        self.merged = counts.get("merged", 0)
        for times, n in proposal_counts:
            self.freq[times] += n
            self.proposals += times * n
            self.unique += n
        t = self.total
        t.requests, t.input_tokens, t.output_tokens = requests, input_tokens, output_tokens
        t.cost_usd = cost_usd

    def record_call(
        self,
        now: float,
        producer: int,
        arm: str,
        *,
        latency_s: float | None,
        input_tokens: int,
        output_tokens: int,
        cost_usd: float | None,
        returned: int,
        new: int,
        dup_exact: int,
        dup_variant: int,
        error_kind: str | None,
    ) -> None:
        scopes = (
            self.total,
            self.arms.setdefault(arm, Tally()),
            self.producers.setdefault(producer, Tally()),
        )
        for t in scopes:
            t.requests += 1
            t.input_tokens += input_tokens
            t.output_tokens += output_tokens
            if cost_usd is None:
                t.cost_known = t.cost_known and input_tokens + output_tokens == 0
            else:
                t.cost_usd += cost_usd
            if error_kind:
                t.errors += 1
                t.errors_by_kind[error_kind] += 1
            elif latency_s is not None:
                t.latencies.append(latency_s)
            t.returned += returned
            t.new += new
            t.dup_exact += dup_exact
            t.dup_variant += dup_variant
            t.window.add(now, new)
            t.calls.add(now, 1)
        self.unique += new

    def record_counts(self, changes: Iterable[tuple[int, int]]) -> None:
        """Proposal counts that moved: (before, after) for each entry touched."""
        freq = self.freq
        for before, after in changes:
            if before:
                freq[before] -= 1
            freq[after] += 1
            self.proposals += after - before

    def record_states(
        self, confirmed: int = 0, rejected: int = 0, merged: int = 0, arms: Iterable[str] = ()
    ) -> None:
        """Entries that got their state (verification, agreement, variants); `arms`, the
        provider:model that first found each confirmed one."""
        self.confirmed += confirmed
        self.total.confirmed += confirmed
        for arm in arms:
            self.arms.setdefault(arm, Tally()).confirmed += 1
        self.rejected += rejected
        self.merged += merged

    def record_lag(self, entries: int, seconds: float) -> None:
        self._lag.append((entries, seconds))

    def coverage(self) -> Coverage:
        c = coverage(self.unique, self.proposals, self.freq[1], self.freq[2])
        return replace(
            c,
            confirmed=self.confirmed,
            estimated_total=self.estimated_total,
            estimated_band=self.estimated_band,
        )

    def snapshot(self, now: float) -> Snapshot:
        lag = self._lag
        n = len(lag) or 1
        return Snapshot(
            elapsed_s=now - self.started,
            unique=self.unique,
            confirmed=self.confirmed,
            pending=max(0, self.unique - self.confirmed - self.rejected - self.merged),
            rejected=self.rejected,
            merged=self.merged,
            total=_view(self.total, now),
            arms={k: _view(v, now) for k, v in self.arms.items()},
            producers={k: _view(v, now) for k, v in self.producers.items()},
            coverage=self.coverage(),
            context_lag=ContextLag(sum(e for e, _ in lag) / n, sum(s for _, s in lag) / n),
            asked=self.asked,
        )
