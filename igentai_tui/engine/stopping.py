"""When a run ends: its limits, the stop rule (saturation), and finishing (checking what is
pending before stopping); the ticker that publishes metrics and watches the duration."""

from __future__ import annotations

import asyncio

from igentai_tui.engine.events import MetricsUpdated, Notice
from igentai_tui.engine.state import RunState

TICK_S = 0.5
FINISH_S = 30.0  # the most a run spends checking its pending entries once it is to stop
SATURATED = "saturated: re-planning finds nothing new and little is estimated left"
TOO_DEAR = "saturated: a new entry now costs {:.0f}x the run's average"
# One line in the TUI's status line (a run set to stop when the topic looks exhausted,
# --until-saturated, stops here instead of saying it).
EXHAUSTED_NOTICE = (
    "the topic looks exhausted: new entries are now mostly repeats and inventions (stop the run)"
)


class Stopping(RunState):
    """Stop conditions over the run's state."""

    def finish(self, reason: str = "stopped by user", status: str = "stopped") -> None:
        """End the run once what it found is checked (thread-safe): no new entries are asked
        for; pending entries get their verification (for at most `FINISH_S`), then the run
        stops as `stop()` does. Signals and spending limits stop at once instead."""
        with self._cond:
            if self._end is not None or self._finishing is not None:
                return
            self._finishing = (status, reason)
            self._finishing_at = self.clock.monotonic()
            self._cond.notify_all()
            if self._finished():
                return
        self._post(
            Notice(f"{reason}: checking the entries found before stopping", "information", True)
        )

    def _finished(self) -> bool:
        """While finishing (under the lock): stop once nothing is left to check, or the time
        is up. True when the run was stopped."""
        if self._finishing is None:
            return False
        late = self.clock.monotonic() - self._finishing_at >= FINISH_S
        if late or not (self.verifier.waiting or self._unstored):
            self.stop(self._finishing[1], self._finishing[0])
            return True
        return False

    def _check_limits(self) -> None:
        lim = self.settings.limits
        t = self.metrics.total
        if lim.max_unique is not None and self.metrics.confirmed >= lim.max_unique:
            self.stop("unique-entry limit reached", "completed")
        elif lim.max_tokens is not None and t.input_tokens + t.output_tokens >= lim.max_tokens:
            self.stop("token limit reached", "completed")
        elif lim.max_cost is not None and t.cost_usd >= lim.max_cost:
            self.stop("cost limit reached", "completed")
        elif self._finishing is not None:
            with self._cond:
                self._finished()
        elif not self._exhausted_noted:
            with self._lock:
                saturated = self._saturated()
            if not saturated:
                return
            if lim.until_saturated:
                self.stop(saturated, "completed")
            else:
                self._exhausted_noted = True
                self._publish(Notice(EXHAUSTED_NOTICE))

    def _saturated(self) -> str | None:
        """Whether the topic is exhausted (under the lock): `Partitions.settle` says so, counting
        confirmed entries; or the cost of a new entry over the last requests has risen to
        `MARGINAL_COST` times the run's average."""
        if self.verifier.waiting:  # what is found counts once it is checked
            return None
        if self._marginal.exhausted():
            return TOO_DEAR.format(self._marginal.ratio())
        settled = self.partitions.settle(self.metrics.confirmed)
        if settled == "reopened":
            self._cond.notify_all()
        return SATURATED if settled == "exhausted" else None

    def _estimate(self) -> float:
        """The topic's estimated size in real entries: those confirmed, the pending ones as
        real as verification has found entries so far, and what partitions.py estimates
        left unfound; its band (`metrics.estimated_band`) runs from nothing left to twice
        that (it held the truth on 12 of the 15 tuning worlds at the stop)."""
        m = self.metrics
        with self._lock:
            left = self.partitions.unfound()
        real = (m.confirmed + 1) / (m.confirmed + m.rejected + 1)
        pending = max(0, m.unique - m.confirmed - m.rejected - m.merged)
        found = m.confirmed + real * pending
        m.estimated_band = (found, found + 2 * left)
        return found + left

    async def _tick(self) -> None:
        limits = self.settings.limits
        while True:
            await asyncio.sleep(TICK_S)
            now = self.clock.monotonic()
            self.metrics.estimated_total = self._estimate()
            self._publish(MetricsUpdated(self.metrics.snapshot(now)))
            if limits.duration_s is not None and now - self.metrics.started >= limits.duration_s:
                self.finish("duration reached", "completed")
            if self._finishing is not None:
                with self._cond:
                    self._finished()
