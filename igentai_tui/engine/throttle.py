"""Concurrency caps for accounts that answer with bursts of rate limits.

A burst (BURST 429s within WINDOW_S) halves how many requests may be in flight at once on that
account (provider, or one server); every RECOVER_S without a 429 gives one slot back, until the
cap is gone. The 429s of the WINDOW_S after a cut answer requests sent before it: they do not
cut again (twelve producers refused at once by a full rate window halve the cap once, not down
to one).
"""

from __future__ import annotations

from collections import deque

BURST = 3
WINDOW_S = 10.0
RECOVER_S = 30.0


class Throttle:
    """Not thread-safe: the orchestrator calls it under its lock."""

    def __init__(self) -> None:
        self.caps: dict[str, int] = {}
        self._hits: dict[str, deque[float]] = {}
        self._since: dict[str, float] = {}  # account -> when its cap last changed
        self._cut: dict[str, float] = {}  # account -> when its cap was last halved

    def at_cap(self, account: str, inflight: int) -> bool:
        cap = self.caps.get(account)
        return cap is not None and inflight >= cap

    def rate_limited(self, account: str, inflight: int, now: float) -> int | None:
        """Record a 429; return the new cap when this one made a burst."""
        hits = self._hits.setdefault(account, deque())
        hits.append(now)
        while hits and hits[0] < now - WINDOW_S:
            hits.popleft()
        self._since[account] = now
        if len(hits) < BURST or now - self._cut.get(account, -WINDOW_S) < WINDOW_S:
            return None
        hits.clear()
        self._cut[account] = now
        cap = max(1, min(self.caps.get(account, inflight), inflight) // 2)
        self.caps[account] = cap
        return cap

    def succeeded(self, account: str, now: float, producers: int) -> None:
        """A call went through: give a slot back once RECOVER_S passed without a 429."""
        cap = self.caps.get(account)
        if cap is None or now - self._since.get(account, now) < RECOVER_S:
            return
        self._since[account] = now
        if cap + 1 >= producers:
            del self.caps[account]
        else:
            self.caps[account] = cap + 1
