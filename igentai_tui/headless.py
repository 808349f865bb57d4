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
from igentai_tui.engine.orchestrator import Orchestrator, RunResult
from igentai_tui.engine.words import count
from igentai_tui.exits import Exit, UsageError
from igentai_tui.output import OutputError, OutputFile, repair
from igentai_tui.request import RunRequest, build_providers
from igentai_tui.signals import (
    ending,
    leave_closed_terminal,
    stop_signals,
    terminals,
    write_out,
)
from igentai_tui.store import RunRow, Store, StoreError

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


def summary(result: RunResult, request: RunRequest) -> dict[str, object]:
    """The JSON summary printed on stdout when the run ends."""
    snap = result.snapshot
    t = snap.total
    return {
        "run_id": result.run.uid,
        "topic": result.run.topic,
        "status": result.status,
        "stop_reason": result.reason,
        "unique": snap.unique,
        "confirmed": snap.confirmed,
        "pending": snap.pending,
        "rejected": snap.rejected,
        "merged": snap.merged,
        "requests": t.requests,
        "errors": t.errors,
        "input_tokens": t.input_tokens,
        "output_tokens": t.output_tokens,
        "cost_usd": t.cost_usd,
        "elapsed_s": round(snap.elapsed_s, 3),
        "coverage": snap.coverage.as_dict(),
        "context_lag": {"entries": snap.context_lag.entries, "seconds": snap.context_lag.seconds},
        "providers": {arm: v.as_dict() for arm, v in snap.arms.items()},
        "producers": {str(pid): v.as_dict() for pid, v in snap.producers.items()},
        "paths": {"db": str(request.db), "output": str(request.output)},
    }


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
    s = request.settings
    try:
        providers = build_providers(s, clock)
    except UsageError as exc:
        print(f"igentai: error: {exc}", file=sys.stderr)
        return Exit.USAGE, None
    try:
        output = OutputFile(request.output)
    except OutputError as exc:
        print(f"igentai: error: {exc}", file=sys.stderr)
        return Exit.USAGE, None
    try:
        try:
            store = await Store.open(request.db)
        except StoreError as exc:
            print(f"igentai: error: {exc}", file=sys.stderr)
            return Exit.USAGE, None
        try:
            resume = await _prepare_resume(store, request)
            if request.note:
                print(f"igentai: {request.note}", file=sys.stderr)
            orc = Orchestrator(s, store, providers, output, clock=clock)
            orc.subscribe(_Progress(sys.stderr))
            interrupted = _on_signals(orc)
            result = await orc.run(resume)
        except StoreError as exc:
            print(f"igentai: error: {exc}", file=sys.stderr)
            return Exit.USAGE, None
        except OutputError as exc:  # the resume's repair met a full disk: nothing was run
            print(f"igentai: error: {exc}", file=sys.stderr)
            return Exit.FAILED, None
        finally:
            await store.close()
    finally:
        output.close()
    code = Exit.OK
    if interrupted:
        code = Exit.HANGUP if interrupted[0] == signal.SIGHUP else Exit.INTERRUPTED
    elif result.status == "failed":
        code = Exit.FAILED
    return code, summary(result, request)


async def _prepare_resume(store: Store, request: RunRequest) -> RunRow | None:
    """For --resume: lock the run, and bring the output file in line with the DB."""
    if request.resume is None:
        return None
    run = await store.get_run(request.resume)
    if run is None:
        raise StoreError(f"no run {request.resume} in {store.path}")
    store.lock_run(run)
    added = repair(request.output, await store.entry_texts(run.id))
    if added:
        restored = count(added, "entry")
        print(f"igentai: {request.output} was behind the database: {restored} restored",
              file=sys.stderr)  # fmt: skip
    reason = display_text(run.stop_reason or "crashed", 300)  # a stored reason may quote a server
    print(f"igentai: resuming run {run.uid} ({run.status}: {reason})", file=sys.stderr)
    return run


def _on_signals(orc: Orchestrator) -> list[int]:
    """SIGINT, SIGTERM and SIGHUP stop the run cleanly; a second one only repeats that it is
    stopping."""
    seen: list[int] = []
    loop = asyncio.get_running_loop()
    ttys = terminals()

    def handler(signum: int) -> None:
        if signum == signal.SIGHUP:
            leave_closed_terminal(ttys)
        if seen:
            print("igentai: still stopping: storing what was found…", file=sys.stderr)
        seen.append(signum)
        orc.stop(f"interrupted by {signal.Signals(signum).name}", "stopped")

    for sig in stop_signals():
        loop.add_signal_handler(sig, handler, sig)
    return seen


def run_headless(request: RunRequest, clock: Clock | None = None) -> int:
    """Run to the end; print the summary; return the exit status."""
    code, result = asyncio.run(_run(request, clock or Clock()))
    if result is not None:  # a reader gone (`| head`) loses the summary, not the run's status
        with ending():
            write_out(json.dumps(result, indent=2, ensure_ascii=False))
    return int(code)
