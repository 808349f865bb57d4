"""Routing: which provider:model ("arm") a producer's next request goes to.

Four strategies behind one interface (`Router`): `fixed` (a producer keeps its arm),
`round-robin`, `weighted` (user weights) and `adaptive` (default), a discounted Thompson-sampling
bandit over arms scored on new entries per second, per token or per dollar, with an exploration
floor. Every strategy but `fixed` also puts arms that keep failing on a cooldown that expires,
after which one probe request decides whether the arm is back (`Cooldown`, engine/failures.py).

Pure logic: times are the orchestrator's monotonic seconds, passed in; randomness comes from a
seeded `random.Random`. Not thread-safe: the orchestrator calls it under its lock.
"""

from __future__ import annotations

import math
import random
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from igentai_tui.engine.failures import Cooldown

STRATEGIES = ("adaptive", "fixed", "round-robin", "weighted")
OBJECTIVES = ("cost", "tokens", "speed")

SHARE_WINDOW_S = 60.0  # shares are of the decisions made in the last minute
HALF_LIFE_S = 60.0  # adaptive: an observation counts half as much after this long
EXPLORE = 0.08  # adaptive: share of decisions spread evenly over the usable arms
CALL_EVIDENCE = 4.0  # adaptive: a call's yield varies ~50% (1/sqrt(4)) around the arm's rate
REPORT_EVERY_S = 10.0  # routing rows: at most this often, unless an arm's health changed
REPORT_SHIFT = 0.10  # ... and only when some arm's share moved this much
REPORT_MIN_DECISIONS = 10

UNITS = {"speed": "new/s", "tokens": "new/1k tokens", "cost": "new/$"}
PER = {"speed": "second", "tokens": "token", "cost": "dollar"}  # in words


def scored_per(objective: str, prices: Sequence[tuple[float, float] | None]) -> str:
    """What adaptive routing will score arms on, in words, from the arms' list prices: per
    dollar only when every arm has a price and some arm costs something (as `Router` decides
    from what the arms actually cost), else per token."""
    if objective != "cost":
        return PER[objective]
    priced = all(p is not None for p in prices) and any(p and any(p) for p in prices)
    return PER["cost"] if priced else PER["tokens"]


_SCALE = {"new/s": 1.0, "new/1k tokens": 1000.0, "new/$": 1.0}


class RoutingError(ValueError):
    """Bad routing settings; the message says what is valid."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one call on an arm cost and brought."""

    latency_s: float
    tokens: int
    cost_usd: float | None
    new: int
    error_kind: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """One row of the routing record: an arm's share and score, and why."""

    at: float  # monotonic
    arm: str
    share: float
    score: float | None
    unit: str
    reason: str


def parse_weights(text: str, arms: Sequence[str]) -> dict[str, float]:
    """Parse "openai:gpt-4o-mini=3,anthropic=1" into {arm: weight}; RoutingError if bad."""
    weights: dict[str, float] = {}
    for raw in text.split(","):
        spec, eq, value = raw.strip().rpartition("=")
        spec = spec.strip()
        if not eq or not spec:
            raise RoutingError(f"expected PROVIDER:MODEL=WEIGHT, got {raw.strip()!r}")
        if spec not in arms and ":" not in spec:
            spec = next((a for a in arms if a.split(":", 1)[0] == spec), spec)
        if spec not in arms:
            raise RoutingError(f"{spec!r} is not one of the run's providers ({', '.join(arms)})")
        try:
            w = float(value)
        except ValueError:
            raise RoutingError(f"weight of {spec} is not a number: {value.strip()!r}") from None
        if not (w >= 0 and math.isfinite(w)):
            raise RoutingError(f"weight of {spec} must be 0 or more, got {value.strip()}")
        weights[spec] = w
    if not any(weights.values()):
        raise RoutingError("at least one weight must be above 0")
    return weights


class Router:
    """The base strategy: shares, decision records and cooldowns; subclasses `_pick`."""

    name = "base"
    cooldowns = True

    def __init__(self, arms: Sequence[str], *, seed: int | None = None) -> None:
        self.arms = list(arms)
        self._rng = random.Random(seed)
        self._picks: deque[tuple[float, str]] = deque()
        self._counts: Counter[str] = Counter()  # arm -> picks in the window
        self._health: dict[str, Cooldown] = {a: Cooldown() for a in self.arms}
        self._events: list[str] = []  # health changes not yet reported
        self._reported: dict[str, float] = {}
        self._reported_at: float | None = None

    # -- the interface ---------------------------------------------------------------------

    def choose(self, current: str | None, candidates: Sequence[str], now: float) -> str:
        """The arm for the next request of a producer now on `current`, among `candidates`
        (the usable arms, not empty)."""
        usable = self._usable(candidates, now)
        probe = next((a for a in usable if self._due_probe(a, now)), None)
        if probe is not None:
            self._health[probe].probe()
            arm = probe
        else:
            settled = [a for a in usable if not self._probing(a)]
            arm = self._pick(current, settled or usable, now)
        self._picks.append((now, arm))
        self._counts[arm] += 1
        return arm

    def observe(self, arm: str, outcome: Outcome, now: float) -> None:
        """Learn from one finished call."""
        if arm not in self._health:
            return
        self._learn(arm, outcome, now)
        if self.cooldowns and (change := self._health[arm].observe(arm, outcome.error_kind, now)):
            self._events.append(change)

    def shares(self, now: float) -> dict[str, float]:
        """Each arm's share of the decisions of the last minute."""
        picks, counts = self._picks, self._counts
        while picks and picks[0][0] <= now - SHARE_WINDOW_S:
            counts[picks.popleft()[1]] -= 1
        n = len(picks) or 1
        return {a: counts[a] / n for a in self.arms}

    def report(self, now: float, *, final: bool = False) -> list[Decision]:
        """Rows to record when shares moved materially or an arm's health changed, else [];
        with `final` (the run ends), the last shares whenever any request was routed."""
        if final:
            if not self._picks:
                return []
            self._events.append("run ended")
        elif not self._events and (
            len(self._picks) < REPORT_MIN_DECISIONS
            or (self._reported_at is not None and now - self._reported_at < REPORT_EVERY_S)
        ):
            return []
        shares = self.shares(now)
        if not self._events and self._reported_at is not None:
            moved = max(abs(s - self._reported.get(a, 0.0)) for a, s in shares.items())
            if moved < REPORT_SHIFT:
                return []
        trigger = "; ".join(self._events) or "shares moved"
        if self._reported_at is None and not self._events:
            trigger = "first shares"
        self._events.clear()
        self._reported, self._reported_at = shares, now
        scores = self.scores(now)
        unit = self.unit()
        return [
            Decision(now, a, s, scores.get(a), unit, f"{self._why(a, now)}; {trigger}")
            for a, s in shares.items()
        ]

    def scores(self, now: float) -> dict[str, float]:
        """Each arm's current score in `unit()`, where the strategy has one."""
        return {}

    def place(self, candidates: Sequence[str], now: float) -> str | None:
        """Where a producer added now should start: the best scored arm not cooling down, or
        None (no scores, or a strategy without them: spread producers evenly)."""
        scores = self.scores(now)
        ok = [a for a in candidates if a in scores and self._available(a, now)]
        return max(ok, key=lambda a: scores[a]) if ok and self._picks else None

    def unit(self) -> str:
        return ""

    def cooling(self, now: float) -> dict[str, float]:
        """Arms on cooldown -> seconds left."""
        left = {a: h.left(now) for a, h in self._health.items()}
        return {a: s for a, s in left.items() if s is not None}

    # -- for subclasses --------------------------------------------------------------------

    def _pick(self, current: str | None, usable: Sequence[str], now: float) -> str:
        raise NotImplementedError

    def _learn(self, arm: str, outcome: Outcome, now: float) -> None:
        """Subclasses that learn from outcomes override this."""

    def _reason(self, arm: str, now: float) -> str:
        return self.name

    # -- internals -------------------------------------------------------------------------

    def _usable(self, candidates: Sequence[str], now: float) -> list[str]:
        """Candidates not cooling down and without a probe out; all of them if none is."""
        ok = [a for a in candidates if self._available(a, now)]
        return ok or list(candidates)

    def _available(self, arm: str, now: float) -> bool:
        h = self._health.get(arm)
        return h is None or h.available(now)

    def _probing(self, arm: str) -> bool:
        h = self._health.get(arm)
        return h is not None and h.probing

    def _due_probe(self, arm: str, now: float) -> bool:
        h = self._health.get(arm)
        return h is not None and h.due_probe(now)

    def _why(self, arm: str, now: float) -> str:
        h = self._health.get(arm)
        left = h.left(now) if h is not None else None
        if h is not None and left is not None:
            return f"cooling down {left:.0f} s more: {h.why}"
        if h is not None and h.probing:
            return "probing after a cooldown"
        return self._reason(arm, now)


class Fixed(Router):
    """Each producer keeps its arm; one whose arm is unusable goes to the least chosen one."""

    name = "fixed"
    cooldowns = False

    def _pick(self, current: str | None, usable: Sequence[str], now: float) -> str:
        if current is not None and current in usable:
            return current
        return self._least_chosen(usable, now)

    def _least_chosen(self, usable: Sequence[str], now: float) -> str:
        shares = self.shares(now)
        return min(usable, key=lambda a: shares.get(a, 0.0))


class RoundRobin(Router):
    """Requests go to the arms in turn."""

    name = "round-robin"

    def __init__(self, arms: Sequence[str], *, seed: int | None = None) -> None:
        super().__init__(arms, seed=seed)
        self._next = 0

    def _pick(self, current: str | None, usable: Sequence[str], now: float) -> str:
        order = self.arms + [a for a in usable if a not in self.arms]
        for i in range(len(order)):
            arm = order[(self._next + i) % len(order)]
            if arm in usable:
                self._next = (self._next + i + 1) % len(order)
                return arm
        return usable[0]


class Weighted(Router):
    """Requests go to the arms in proportion to fixed weights (smooth weighted round-robin)."""

    name = "weighted"

    def __init__(
        self, arms: Sequence[str], weights: Mapping[str, float], *, seed: int | None = None
    ) -> None:
        super().__init__(arms, seed=seed)
        self.weights = {a: float(weights.get(a, 0.0)) for a in self.arms}
        self._credit = dict.fromkeys(self.arms, 0.0)

    def _pick(self, current: str | None, usable: Sequence[str], now: float) -> str:
        weighted = [a for a in usable if self.weights.get(a, 0.0) > 0] or list(usable)
        total = 0.0
        for a in weighted:
            w = self.weights.get(a) or 1.0
            self._credit[a] = self._credit.get(a, 0.0) + w
            total += w
        best = max(weighted, key=lambda a: self._credit[a])
        self._credit[best] -= total
        return best

    def _reason(self, arm: str, now: float) -> str:
        total = sum(self.weights.values()) or 1.0
        return f"weight {self.weights.get(arm, 0.0):g} of {total:g}"


@dataclass(slots=True)
class _Stats:
    """Discounted sums of one arm's recent calls."""

    at: float = 0.0
    calls: float = 0.0
    new: float = 0.0
    seconds: float = 0.0
    tokens: float = 0.0
    dollars: float = 0.0
    priced: bool = True  # every call so far had a known price

    def decay(self, now: float) -> None:
        if now > self.at:
            f = 0.5 ** ((now - self.at) / HALF_LIFE_S)
            self.calls *= f
            self.new *= f
            self.seconds *= f
            self.tokens *= f
            self.dollars *= f
            self.at = now


class Adaptive(Router):
    """Thompson sampling over arms on new entries per unit of the objective.

    Each arm's rate is estimated from discounted sums (half-life HALF_LIFE_S, so a topic that
    saturates, or an arm that degrades, shows within minutes), shrunk toward the pooled rate of
    all arms by one pseudo-call; a draw is that estimate times Gamma(n, 1/n) noise, where n is
    the arm's discounted number of calls plus one, so a little-used arm's draws spread widely
    and it gets tried again. EXPLORE of the decisions are spread evenly over the usable arms,
    a floor under every arm's share.
    """

    name = "adaptive"

    def __init__(
        self, arms: Sequence[str], objective: str = "cost", *, seed: int | None = None
    ) -> None:
        if objective not in OBJECTIVES:
            raise RoutingError(f"unknown objective {objective!r} (use {', '.join(OBJECTIVES)})")
        super().__init__(arms, seed=seed)
        self.objective = objective
        self._stats = {a: _Stats() for a in self.arms}

    def _learn(self, arm: str, outcome: Outcome, now: float) -> None:
        s = self._stats.setdefault(arm, _Stats(at=now))
        s.decay(now)
        s.calls += 1
        s.new += outcome.new
        s.seconds += max(outcome.latency_s, 0.0)
        s.tokens += outcome.tokens
        if outcome.cost_usd is None:
            s.priced = s.priced and outcome.tokens == 0
        else:
            s.dollars += outcome.cost_usd

    def unit(self) -> str:
        if self.objective == "cost" and not self._by_dollars():
            return UNITS["tokens"]
        return UNITS[self.objective]

    def _by_dollars(self) -> bool:
        """Per dollar only when every arm's price is known and some arm costs something."""
        used = [s for s in self._stats.values() if s.calls]
        return bool(used) and all(s.priced for s in used) and any(s.dollars for s in used)

    def _spent(self, s: _Stats, unit: str) -> float:
        if unit == UNITS["speed"]:
            return s.seconds
        return s.dollars if unit == UNITS["cost"] else s.tokens

    def _estimates(self, now: float) -> dict[str, tuple[float, float]]:
        """arm -> (estimated rate in unit, weight of evidence in calls)."""
        unit = self.unit()
        for s in self._stats.values():
            s.decay(now)
        calls = sum(s.calls for s in self._stats.values())
        new = sum(s.new for s in self._stats.values())
        spent = sum(self._spent(s, unit) for s in self._stats.values())
        prior_new = new / calls if calls else 1.0
        prior_spent = spent / calls if calls and spent > 0 else 1.0
        out = {}
        for arm, s in self._stats.items():
            rate = (s.new + prior_new) / (self._spent(s, unit) + prior_spent)
            out[arm] = (rate * _SCALE[unit], CALL_EVIDENCE * (s.calls + 1.0))
        return out

    def scores(self, now: float) -> dict[str, float]:
        return {a: r for a, (r, _n) in self._estimates(now).items()}

    def _pick(self, current: str | None, usable: Sequence[str], now: float) -> str:
        if self._rng.random() < EXPLORE:
            return self._rng.choice(list(usable))
        est = self._estimates(now)
        draws = {}
        for arm in usable:
            rate, n = est.get(arm, (1.0, 1.0))
            draws[arm] = rate * self._rng.gammavariate(n, 1.0 / n)
        return max(usable, key=lambda a: draws[a])

    def _reason(self, arm: str, now: float) -> str:
        scores = self.scores(now)
        best = max(scores.values(), default=0.0)
        if scores.get(arm) == best:
            return f"best score ({best:.3g} {self.unit()})"
        share = scores.get(arm, 0.0) / best if best else 0.0
        return f"score {share:.0%} of the best" + (": explored" if share < 0.8 else "")


def make_router(
    strategy: str,
    arms: Sequence[str],
    *,
    objective: str = "cost",
    weights: Mapping[str, float] | None = None,
    seed: int | None = None,
) -> Router:
    """The router for a run's settings; RoutingError on bad ones."""
    if strategy == "adaptive":
        return Adaptive(arms, objective, seed=seed)
    if strategy == "fixed":
        return Fixed(arms, seed=seed)
    if strategy == "round-robin":
        return RoundRobin(arms, seed=seed)
    if strategy == "weighted":
        if not weights:
            raise RoutingError("weighted routing needs weights, e.g. --weights 'sim:default=3'")
        return Weighted(arms, weights, seed=seed)
    raise RoutingError(f"unknown routing {strategy!r} (use {', '.join(STRATEGIES)})")
