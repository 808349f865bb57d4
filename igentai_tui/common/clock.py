"""Time, behind one small interface so tests and the sim can run on a fake clock."""

from __future__ import annotations

import threading
import time


class Clock:
    """Real time: wall-clock seconds, a monotonic counter and a sleep that can be woken."""

    def now(self) -> float:
        """Wall-clock seconds since the epoch."""
        return time.time()

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        return time.monotonic()

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        """Sleep `seconds`, or until `wake` is set."""
        if seconds <= 0:
            return
        if wake is None:
            time.sleep(seconds)
        else:
            wake.wait(seconds)


class FakeClock(Clock):
    """A clock that only moves when something sleeps on it or `advance()` is called."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._t = start
        self._start = start
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._t

    def monotonic(self) -> float:
        return self._t - self._start

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._t += max(0.0, seconds)

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        self.advance(seconds)
        time.sleep(0)  # let other threads run


def span(seconds: float) -> str:
    """A length of time in words: 5 s, 30 s, 2 min, 1.5 h, 3.2 d."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min" if seconds % 60 == 0 else f"{seconds / 60:.1f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
