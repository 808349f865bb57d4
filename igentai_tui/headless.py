"""The headless front end: progress lines on stderr, a JSON summary on stdout, exit status."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from typing import TextIO

from igentai_tui.common.clock import Clock
from igentai_tui.common.sanitize import display_text
from igentai_tui.engine.events import Event, MetricsUpdated, Notice, RunEnded
from igentai_tui.engine.metrics import Snapshot
from igentai_tui.engine.words import count
from igentai_tui.request import RunRequest
from igentai_tui.runner import RunError, Runner, summary
from igentai_tui.signals import ending, write_out

PROGRESS_EVERY_S = 5.0


def progress_line(snap: Snapshot) -> str:
    """One line of progress: entries confirmed (pending, rejected), new per minute, requests,
    tokens, the estimate of how complete the list is."""
    t = snap.total
    cov = snap.coverage
    est = ""
    if cov.estimated_total and cov.completeness is not None:
        est = f" · ~{cov.completeness:.0%} of ≈{cov.estimated_total:,.0f}"
        if cov.estimated_band:
            low, high = cov.estimated_band
            est += f" ({low:,.0f}–{high:,.0f})"
    m, s = divmod(int(snap.elapsed_s), 60)
    states = f"{snap.confirmed:,} confirmed"
    if snap.pending or snap.rejected:
        states += f" (+{snap.pending:,} pending, {snap.rejected:,} rejected)"
    return (
        f"[{m:02d}:{s:02d}] {states} · {t.unique_per_min:,} new/min · "
        f"{count(t.requests, 'request')} · {count(t.input_tokens + t.output_tokens, 'token')}"
        f"{' · ' + count(t.errors, 'error') if t.errors else ''}{est}"
    )


class _Progress:
    """Prints a progress line at most every PROGRESS_EVERY_S, and every notice."""

    def __init__(self, err: TextIO) -> None:
        self._err = err
        self._last = -PROGRESS_EVERY_S

    def __call__(self, event: Event) -> None:
        if isinstance(event, MetricsUpdated):
            snap = event.snapshot
            if snap.elapsed_s - self._last >= PROGRESS_EVERY_S:
                self._last = snap.elapsed_s
                print(progress_line(snap), file=self._err, flush=True)
        elif isinstance(event, Notice):  # may quote a server: shown cleaned, like the TUI does
            print(f"igentai: {event.level}: {display_text(event.message, 500)}", file=self._err,
                  flush=True)  # fmt: skip
        elif isinstance(event, RunEnded):
            print(f"igentai: run {event.status}: {display_text(event.reason, 500)}",
                  file=self._err, flush=True)  # fmt: skip


async def _run(request: RunRequest, clock: Clock) -> tuple[int, dict[str, object] | None]:
    runner = Runner(request, clock)
    try:
        await runner.open()
        if (resumed := runner.resumed) is not None:
            if resumed.restored:
                restored = count(resumed.restored, "entry")
                print(f"igentai: {request.output} was behind the database: {restored} restored",
                      file=sys.stderr)  # fmt: skip
            run = resumed.run
            reason = display_text(run.stop_reason or "crashed", 300)  # may quote a server
            print(f"igentai: resuming run {run.uid} ({run.status}: {reason})", file=sys.stderr)
        if request.note:
            print(f"igentai: {request.note}", file=sys.stderr)
        runner.subscribe(_Progress(sys.stderr))
        runner.catch_signals(lambda signum, again: _interrupted(runner, signum, again))
        result = await runner.run()
    except RunError as exc:
        print(f"igentai: error: {exc}", file=sys.stderr)
        return exc.code, None
    return runner.exit_code, summary(result, request)


def _interrupted(runner: Runner, signum: int, again: bool) -> None:
    """SIGINT, SIGTERM and SIGHUP stop the run cleanly; a second one only repeats that it is
    stopping."""
    if again:
        print("igentai: still stopping: storing what was found…", file=sys.stderr)
    runner.stop(f"interrupted by {signal.Signals(signum).name}", "stopped")


def run_headless(request: RunRequest, clock: Clock | None = None) -> int:
    """Run to the end; print the summary; return the exit status."""
    code, result = asyncio.run(_run(request, clock or Clock()))
    if result is not None:  # a reader gone (`| head`) loses the summary, not the run's status
        with ending():
            write_out(json.dumps(result, indent=2, ensure_ascii=False))
    return int(code)
