"""Every decision a failed request leads to: how long its producer waits, whether routing cools
its arm down, whether its account is capped or disabled.

- **Backoff** (`Backoff`, one per producer): a rate limit waits `retry-after` (at least
  MIN_RETRY_S, so a `retry-after: 0` cannot make a producer spin); other errors wait
  BACKOFF_BASE_S doubling to BACKOFF_CAP_S; both +0-JITTER jitter. A context too long halves the
  producer's context budget and retries at once, until the budget is at its least
  (MIN_CONTEXT_SCALE); a key or quota error does not wait (the account is disabled).
- **Cooldown** (`Cooldown`, one per arm, kept by the router): a non-retryable error, or most of
  the last HEALTH_CALLS calls of the last HEALTH_WINDOW_S (at least HEALTH_MIN_CALLS) failed,
  takes the arm out of routing for COOLDOWN_S (doubling while probes fail, up to
  COOLDOWN_MAX_S); then one probe request decides whether it is back.

An *account* is what one key pays for: a provider, or one server for `name:model@url`. Its
`FailurePolicy` holds what the run knows of it:

- **Concurrency cap.** A burst of rate limits (BURST 429s within WINDOW_S) halves how many
  requests may be in flight at once on the account; every RECOVER_S without a 429 gives one
  slot back, until the cap is gone. The 429s of the WINDOW_S after a cut answer requests sent
  before it: they do not cut again (twelve producers refused at once by a full rate window
  halve the cap once, not down to one).
- **Retirement.** A key or quota error disables the account at once; an arm whose requests
  fail MAX_FAILURES_IN_A_ROW times in a row (no success between; TRANSIENT errors neither count
  nor reset the count) is dropped for the run: a wrong model name, a 404, a reply that never
  parses. Such a request is refused before any generation, so 8 cost next to nothing; a
  healthy arm that sends a bad reply one time in four (the fault storm's servers) would be
  dropped by mistake about once in 65,000 requests (4^8).

None of it is thread-safe: a producer keeps its own `Backoff`; the orchestrator calls the
rest under its lock.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from dataclasses import dataclass, field

from igentai_tui.providers.base import (
    ConnectionFailed,
    ContextTooLong,
    Overloaded,
    ProviderError,
    RateLimited,
    ServerError,
    Timeout,
)

BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 60.0
JITTER = 0.25
MIN_RETRY_S = 0.5  # the least a producer waits after a failure, whatever retry-after says
MIN_CONTEXT_SCALE = 1 / 64
HEALTH_WINDOW_S = 60.0  # cooldown: the calls of the last minute ...
HEALTH_CALLS = 8  # ... at most this many of the latest ones ...
HEALTH_MIN_CALLS = 3  # ... and at least this many, most of them failed
COOLDOWN_S = 15.0  # first cooldown; doubles while probes keep failing
COOLDOWN_MAX_S = 60.0
BURST = 3
WINDOW_S = 10.0
RECOVER_S = 30.0
MAX_FAILURES_IN_A_ROW = 8
# Errors that say nothing about the arm itself: the server's state of the moment. (Too long a
# context has its own remedy in the producer; key and quota errors disable the account at once.)
TRANSIENT = (RateLimited, Overloaded, ServerError, Timeout, ConnectionFailed, ContextTooLong)


# Error kinds that do not say the arm is unwell: a too long prompt is the prompt's fault.
_NOT_HEALTH = frozenset({"context_too_long"})


def _error_kinds() -> dict[str, bool]:
    """kind -> retryable, for every provider error class."""
    out: dict[str, bool] = {}
    todo: list[type[ProviderError]] = [ProviderError]
    while todo:
        cls = todo.pop()
        out[cls.kind] = cls.retryable
        todo.extend(cls.__subclasses__())
    return out


_RETRYABLE = _error_kinds()


def backoff_s(failures: int) -> float:
    """The wait after `failures` failures in a row that say nothing of when to retry."""
    return min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (failures - 1))


class Backoff:
    """One producer's retries: its failures in a row, its jitter and its context budget."""

    def __init__(self, seed: int) -> None:
        self.failures = 0
        self.context_scale = 1.0  # share of the context budget its prompts get
        self._rng = random.Random(seed)

    def succeeded(self) -> None:
        self.failures = 0

    def failed(self, exc: ProviderError) -> tuple[str, float] | None:
        """(state to show, seconds to wait) after `exc`; None: the next request goes at once."""
        if isinstance(exc, ContextTooLong) and self.context_scale > MIN_CONTEXT_SCALE:
            self.context_scale = max(MIN_CONTEXT_SCALE, self.context_scale / 2)
            return None  # retry at once with less context; at the least context, back off
        if exc.disables_provider:
            return None
        self.failures += 1
        delay = backoff_s(self.failures)
        state = "backing_off"
        if isinstance(exc, RateLimited):
            state = "rate_limited"
            if exc.retry_after is not None:  # "retry-after: 0" must not make it spin
                delay = max(MIN_RETRY_S, exc.retry_after)
        return state, delay * (1 + JITTER * self._rng.random())


@dataclass(slots=True)
class Cooldown:
    """One arm's recent calls and its cooldown, for routing."""

    calls: deque[tuple[float, bool]] = field(default_factory=lambda: deque(maxlen=HEALTH_CALLS))
    until: float | None = None  # cooling down until then
    level: int = 0  # cooldowns in a row without a successful call
    probing: bool = False  # one request is out after a cooldown
    why: str = ""

    def observe(self, arm: str, kind: str | None, now: float) -> str | None:
        """Learn from a call of `arm` that failed with `kind` (None: succeeded); return the
        change to record, if any: a cooldown, or the arm back."""
        if kind in _NOT_HEALTH:
            return None
        failed = kind is not None
        self.calls.append((now, failed))
        if self.probing:
            self.probing = False
            if not failed:
                self.level, self.why = 0, ""
                self.calls.clear()
                return f"{arm} back: a probe succeeded"
            return self._cool(arm, now, f"probe failed ({kind})")
        if not failed:
            if self.until is None:
                self.level = 0
            return None
        if self.until is not None:
            return None
        if kind is None or not _RETRYABLE.get(kind, False):
            return self._cool(arm, now, f"non-retryable error ({kind})")
        recent = [f for t, f in self.calls if t > now - HEALTH_WINDOW_S]
        if len(recent) >= HEALTH_MIN_CALLS and sum(recent) * 2 > len(recent):
            return self._cool(arm, now, f"{sum(recent)} of the last {len(recent)} calls failed")
        return None

    def available(self, now: float) -> bool:
        """Neither cooling down nor waiting for its probe."""
        return not self.probing and (self.until is None or self.until <= now)

    def due_probe(self, now: float) -> bool:
        return self.until is not None and self.until <= now and not self.probing

    def probe(self) -> None:
        """The next request of the arm is its probe."""
        self.probing, self.until = True, None

    def left(self, now: float) -> float | None:
        """Seconds of cooldown left, if cooling down."""
        return self.until - now if self.until is not None and self.until > now else None

    def _cool(self, arm: str, now: float, why: str) -> str:
        seconds = min(COOLDOWN_MAX_S, COOLDOWN_S * 2**self.level)
        self.level += 1
        self.until, self.why = now + seconds, why
        self.calls.clear()
        return f"{arm} cooling down {seconds:g} s: {why}"


def account(arm: str) -> str:
    """The account of `arm`: the provider, or one server for `name:model@url`."""
    name, _, model = arm.partition(":")
    return f"{name}@{model.partition('@')[2]}" if "@" in model else name


@dataclass(frozen=True, slots=True)
class Failed:
    """What one failed request changed for its account."""

    cap: int | None = None  # a burst of rate limits set this concurrency cap
    disabled: str | None = None  # the account or arm this failure took out of the run
    why: str = ""


class FailurePolicy:
    """One account: its requests in flight, its concurrency cap, what of it is disabled."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.inflight = 0
        self.cap: int | None = None
        self.disabled: dict[str, str] = {}  # the account, or one of its arms -> why
        self._failing: Counter[str] = Counter()  # arm -> failures in a row
        self._hits: deque[float] = deque()  # recent 429s
        self._since: float | None = None  # when the cap last changed or a 429 came
        self._cut = -WINDOW_S  # when the cap was last halved

    def usable(self, arm: str) -> bool:
        return not (self.name in self.disabled or arm in self.disabled)

    def at_cap(self) -> bool:
        return self.cap is not None and self.inflight >= self.cap

    def succeeded(self, arm: str, now: float, producers: int) -> None:
        """A request went through: its arm's failures in a row end; once RECOVER_S passed
        without a 429, the cap gives a slot back."""
        self._failing.pop(arm, None)
        if self.cap is None or now - (now if self._since is None else self._since) < RECOVER_S:
            return
        self._since = now
        self.cap = None if self.cap + 1 >= producers else self.cap + 1

    def failed(self, arm: str, exc: ProviderError, now: float) -> Failed:
        """Account for a failed request of `arm` (no longer in flight)."""
        if isinstance(exc, RateLimited):
            return Failed(cap=self.rate_limited(self.inflight + 1, now))
        if exc.disables_provider:
            return self._disable(self.name, str(exc))
        if isinstance(exc, TRANSIENT):
            return Failed()
        self._failing[arm] += 1
        failures = self._failing[arm]
        if failures < MAX_FAILURES_IN_A_ROW:
            return Failed()
        return self._disable(
            arm, f"{failures} requests in a row failed, the last: {exc.kind}: {exc}"
        )

    def _disable(self, what: str, why: str) -> Failed:
        if what in self.disabled:
            return Failed()
        self.disabled[what] = why
        return Failed(disabled=what, why=why)

    def rate_limited(self, inflight: int, now: float) -> int | None:
        """Record a 429; return the new cap when this one made a burst."""
        hits = self._hits
        hits.append(now)
        while hits and hits[0] < now - WINDOW_S:
            hits.popleft()
        self._since = now
        if len(hits) < BURST or now - self._cut < WINDOW_S:
            return None
        hits.clear()
        self._cut = now
        self.cap = max(1, min(inflight if self.cap is None else self.cap, inflight) // 2)
        return self.cap


class Accounts:
    """The failure policies of a run's accounts, looked up by arm."""

    def __init__(self) -> None:
        self._policies: dict[str, FailurePolicy] = {}

    def of(self, arm: str) -> FailurePolicy:
        name = account(arm)
        policy = self._policies.get(name)
        if policy is None:
            policy = self._policies[name] = FailurePolicy(name)
        return policy

    def usable(self, arm: str) -> bool:
        """Not disabled: neither the arm nor its account."""
        return self.of(arm).usable(arm)

    def ready(self, arm: str) -> bool:
        """Usable, and its account is not at its concurrency cap."""
        policy = self.of(arm)
        return policy.usable(arm) and not policy.at_cap()

    @property
    def disabled(self) -> dict[str, str]:
        """Every account or arm disabled for the run -> why."""
        return {what: why for p in self._policies.values() for what, why in p.disabled.items()}
