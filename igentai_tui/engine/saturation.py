"""When new entries have become too dear: the cost of a new entry over the last stretch of the
run against the run's average (one of the two ways a run may find its topic exhausted; the
other is structural, see partitions.py)."""

from __future__ import annotations

from collections import deque

MARGINAL_COST = 5.0  # tokens per new entry over the last stretch, over the run's average
MARGINAL_SHARE = 0.25  # the last stretch: this share of the tokens spent ...
MARGINAL_CALLS = 40  # ... and at least this many requests


class Marginal:
    """Tokens and new (real) entries of every request, and of the last stretch."""

    def __init__(
        self,
        factor: float | None = None,
        share: float | None = None,
        calls: int | None = None,
    ) -> None:
        self.factor = MARGINAL_COST if factor is None else factor
        self.share = MARGINAL_SHARE if share is None else share
        self.min_calls = MARGINAL_CALLS if calls is None else calls
        self.calls = 0
        self.tokens = 0
        self.found = 0.0
        self._recent: deque[tuple[int, float]] = deque()
        self._recent_tokens = 0
        self._recent_found = 0.0

    def add(self, tokens: int, found: float) -> None:
        """Count one request's tokens and the new real entries it brought (estimated: new
        entries as real as verification found their partition's; none for a split or a
        check, whose tokens count all the same)."""
        self.calls += 1
        self.tokens += tokens
        self.found += found
        self._recent.append((tokens, found))
        self._recent_tokens += tokens
        self._recent_found += found
        while len(self._recent) > self.min_calls:
            t, f = self._recent[0]
            if self._recent_tokens - t < self.share * self.tokens:
                break
            self._recent.popleft()
            self._recent_tokens -= t
            self._recent_found -= f

    def restore(self, calls: int, tokens: int, found: float) -> None:
        """Continue a stored run: its requests, tokens and real entries make the average the
        resumed session's last stretch is compared with."""
        self.calls, self.tokens, self.found = calls, tokens, found

    def ratio(self) -> float | None:
        """Tokens per new entry over the last stretch, over the run's average (None before
        there is a run to compare with, or a stretch of `min_calls` requests)."""
        if self.calls < 2 * self.min_calls or not self.found or len(self._recent) < self.min_calls:
            return None
        average = self.tokens / self.found
        if not self._recent_found:
            return float("inf")
        return self._recent_tokens / self._recent_found / average

    def exhausted(self) -> bool:
        """True when the last stretch paid `factor` times the run's average per new entry."""
        r = self.ratio()
        return r is not None and r > self.factor
