"""Every decision a failed request leads to, per provider account.

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

Not thread-safe: the orchestrator calls it under its lock.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

from igentai_tui.providers.base import (
    ConnectionFailed,
    ContextTooLong,
    Overloaded,
    ProviderError,
    RateLimited,
    ServerError,
    Timeout,
)

BURST = 3
WINDOW_S = 10.0
RECOVER_S = 30.0
MAX_FAILURES_IN_A_ROW = 8
# Errors that say nothing about the arm itself: the server's state of the moment. (Too long a
# context has its own remedy in the producer; key and quota errors disable the account at once.)
TRANSIENT = (RateLimited, Overloaded, ServerError, Timeout, ConnectionFailed, ContextTooLong)


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
