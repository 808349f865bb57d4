"""One run's life, the same for both front ends: providers, the output file and the store
opened; a new run started or `--resume`d (its lock taken and output.txt brought in line with
the database first); the orchestrator driven to its end; signals; everything closed; the exit
status and the JSON summary.

The front ends (headless.py, tui/) are thin layers over `Runner`: they show its events and
send its controls. It imports neither of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from dataclasses import dataclass

from igentai_tui.common.clock import Clock
from igentai_tui.engine.events import Subscriber
from igentai_tui.engine.orchestrator import Orchestrator, RunResult
from igentai_tui.exits import Exit, UsageError
from igentai_tui.output import OutputError, OutputFile, repair
from igentai_tui.providers import make_provider
from igentai_tui.providers.base import Provider
from igentai_tui.request import RunRequest, build_providers
from igentai_tui.signals import leave_closed_terminal, stop_signals, terminals
from igentai_tui.store import RunRow, Store, StoreError


class RunError(Exception):
    """The run could not start, or could not go on: one line, and the exit status it means."""

    def __init__(self, code: Exit, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Resumed:
    """The run `--resume` continues, and how many entries output.txt was missing."""

    run: RunRow
    restored: int


class Runner:
    """One run: `await open()`, subscribe and hook in signals, then `await run()`.

    The controls (pause, resume, add or remove a producer, finish, stop) work from any thread
    once the run is open; `run()` returns once the store and the output file are closed."""

    def __init__(
        self,
        request: RunRequest,
        clock: Clock | None = None,
        *,
        provider_factory: Callable[..., Provider] = make_provider,
    ) -> None:
        self.request = request
        self.clock = clock or Clock()
        self.providers: dict[str, Provider] = {}
        self.resumed: Resumed | None = None
        self.result: RunResult | None = None
        self.signal = 0  # the first signal that stopped the run
        self._factory = provider_factory
        self._output: OutputFile | None = None
        self._store: Store | None = None
        self._orc: Orchestrator | None = None

    # -- life ------------------------------------------------------------------------------

    async def open(self) -> None:
        """Providers, the output file, the store, and for `--resume` the run's lock and the
        output's repair. RunError, with nothing left open, when one of them fails."""
        try:
            self.providers = build_providers(self.request.settings, self.clock, self._factory)
            self._output = OutputFile(self.request.output)
            self._store = await Store.open(self.request.db)
        except (UsageError, OutputError, StoreError) as exc:
            await self._close()
            raise RunError(Exit.USAGE, str(exc)) from None
        try:
            self.resumed = await self._resume(self._store)
        except StoreError as exc:
            await self._close()
            raise RunError(Exit.USAGE, str(exc)) from None
        except OutputError as exc:  # the repair met a full disk: nothing was run
            await self._close()
            raise RunError(Exit.FAILED, str(exc)) from None
        self._orc = Orchestrator(
            self.request.settings,
            self._store,
            self.providers,
            self._output,
            clock=self.clock,
        )

    async def _resume(self, store: Store) -> Resumed | None:
        """For --resume: lock the run, then bring the output file in line with the DB."""
        if self.request.resume is None:
            return None
        run = await store.get_run(self.request.resume)
        if run is None:
            raise StoreError(f"no run {self.request.resume} in {store.path}")
        store.lock_run(run)
        return Resumed(run, repair(self.request.output, await store.entry_texts(run.id)))

    async def run(self) -> RunResult:
        """Drive the open run to its end, then close the store and the file. RunError when
        the database or the file failed; the result is kept in `result`. Cancelled (the
        front end closing), it stops the run cleanly first, then lets the cancellation on."""
        orc = self._orc
        assert orc is not None, "open() first"
        task = asyncio.ensure_future(orc.run(self.resumed.run if self.resumed else None))
        try:
            self.result = await asyncio.shield(task)
        except asyncio.CancelledError:
            orc.stop("the app closed", "stopped")
            await _settle(task)  # the store is closed only once the run is done with it
            if not task.cancelled() and task.exception() is None:
                self.result = task.result()
            raise
        except StoreError as exc:  # e.g. the run is live in another process
            orc.stop(str(exc), "failed")
            raise RunError(Exit.USAGE, str(exc)) from None
        except OutputError as exc:
            orc.stop(str(exc), "failed")
            raise RunError(Exit.FAILED, str(exc)) from None
        except Exception as exc:
            orc.stop(f"internal error: {exc!r}", "failed")
            raise RunError(Exit.FAILED, f"the run failed: {exc!r}") from None
        finally:
            await self._close()
        return self.result

    async def _close(self) -> None:
        try:
            if self._store is not None:
                await self._store.close()
        finally:
            if self._output is not None:
                self._output.close()

    @property
    def exit_code(self) -> Exit:
        """129 after SIGHUP, 130 after another signal, 1 when the run failed, else 0."""
        if self.signal == signal.SIGHUP:
            return Exit.HANGUP
        if self.signal:
            return Exit.INTERRUPTED
        if self.result is not None and self.result.status == "failed":
            return Exit.FAILED
        return Exit.OK

    def catch_signals(self, on_signal: Callable[[int, bool], None]) -> None:
        """SIGINT, SIGTERM and SIGHUP call `on_signal(signum, again)` on the loop, which stops
        the run (`again`: not the first signal); the first is kept in `signal` (the exit
        status). After a hang-up, what is still written goes to /dev/null first."""
        loop = asyncio.get_running_loop()
        ttys = terminals()

        def handler(signum: int) -> None:
            if signum == signal.SIGHUP:
                leave_closed_terminal(ttys)
            again = bool(self.signal)
            self.signal = self.signal or signum
            on_signal(signum, again)

        for sig in stop_signals():
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, handler, sig)

    # -- controls (any thread, once open) ----------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> None:
        """Have `subscriber` called with every event, on the loop (it must return at once)."""
        assert self._orc is not None, "open() first"
        self._orc.subscribe(subscriber)

    @property
    def opened(self) -> bool:
        """`open()` succeeded: the controls work."""
        return self._orc is not None

    def pause(self, pid: int | None = None) -> None:
        """Pause one producer, or all of them."""
        if self._orc is not None:
            self._orc.pause(pid)

    def resume(self, pid: int | None = None) -> None:
        """Resume one producer, or all of them."""
        if self._orc is not None:
            self._orc.resume(pid)

    def add_producer(self, arm: str | None = None) -> int | None:
        """One more producer, on `arm` or where routing places it; None when none was added."""
        return self._orc.add_producer(arm) if self._orc is not None else None

    def remove_producer(self, pid: int) -> bool:
        """Stop one producer after its current request; the last one is kept."""
        return self._orc is not None and self._orc.remove_producer(pid)

    def finish(self, reason: str = "stopped by user", status: str = "stopped") -> None:
        """Stop once the entries found are checked (the user's stop)."""
        if self._orc is not None:
            self._orc.finish(reason, status)

    def stop(self, reason: str = "stopped by user", status: str = "stopped") -> None:
        """Stop now: everything found is stored and written."""
        if self._orc is not None:
            self._orc.stop(reason, status)


def summary(result: RunResult, request: RunRequest) -> dict[str, object]:
    """The JSON summary of an ended run (headless prints it on stdout)."""
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


async def _settle(task: asyncio.Future[RunResult]) -> None:
    """Wait until `task` is done, whatever cancellations reach the caller meanwhile."""
    while not task.done():
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.shield(task)
