"""The orchestrator: owns the run, the store, the output file and the metrics.

It runs on an asyncio loop (the Textual app's, or the headless runner's) and is the single
authority on uniqueness. Producers run in worker threads; they take assignments and hand back
batches through thread-safe calls. Front ends subscribe to events and call the controls.

`Orchestrator` is the facade front ends and tests use; its parts are stacked in their own
modules (see engine/state.py): this one starts or resumes the run, shuts it down, and holds the
controls.
"""

from __future__ import annotations

import asyncio

from igentai_tui.common.clock import span
from igentai_tui.engine.events import (
    AllPaused,
    MetricsUpdated,
    Notice,
    RunEnded,
    RunStarted,
)
from igentai_tui.engine.failures import MAX_FAILURES_IN_A_ROW, account
from igentai_tui.engine.ingest import MAX_BATCHES_PER_TRANSACTION, Ingesting
from igentai_tui.engine.metrics import Metrics
from igentai_tui.engine.partitions import SEEN_MAX
from igentai_tui.engine.producer import Assignment, Producer
from igentai_tui.engine.records import RunRow, parse_utc
from igentai_tui.engine.settings import Arm, Limits, RunResult, RunSettings
from igentai_tui.engine.state import Spawn, spawn_thread
from igentai_tui.engine.stopping import EXHAUSTED_NOTICE
from igentai_tui.engine.storage import OutputError
from igentai_tui.engine.variants import MAX_INDEXED
from igentai_tui.engine.words import count
from igentai_tui.providers.base import ProviderError

__all__ = [
    "EXHAUSTED_NOTICE",
    "MAX_BATCHES_PER_TRANSACTION",
    "MAX_FAILURES_IN_A_ROW",
    "Arm",
    "Limits",
    "Orchestrator",
    "RunResult",
    "RunSettings",
    "Spawn",
    "spawn_thread",
]


class Orchestrator(Ingesting):
    """One run. `await run()` drives it to its end; the controls work from any thread."""

    async def run(self, resume: RunRow | None = None) -> RunResult:
        """Start the run (or continue `resume`), drive it until a stop condition, a stop() or
        a fatal error. StoreError if the run is live in another process."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        s = self.settings
        self.metrics = Metrics(self.clock.monotonic())
        if resume is None:
            self.run_row = await self.store.create_run(
                s.topic, s.as_dict(), str(self.output.path), self.clock.now()
            )
            self.store.lock_run(self.run_row)
        else:
            self.store.lock_run(resume)
            idle = await self.store.idle_since(resume.id)
            self.run_row = await self.store.reopen_run(resume.id, s.as_dict(), self.clock.now())
            lost = await self.store.interrupt_calls(resume.id)
            state = await self.store.run_state(resume.id, SEEN_MAX // 2)
            self.metrics.restore(
                state.proposal_counts,
                state.requests,
                state.input_tokens,
                state.output_tokens,
                state.cost_usd,
                state.states,
            )
            self.partitions.restore(state.partitions, state.seen)
            self.partitions.found_names(await self.store.entry_texts(resume.id))
            for verdicts in state.verdicts:  # how real each partition was found to be
                self.partitions.verified(*verdicts)
            folded = self._hold(
                self.verifier.restore(
                    await self.store.pending_entries(resume.id),
                    await self.store.confirmed_keys(resume.id, MAX_INDEXED),
                    await self.store.learned(resume.id),
                )
            )
            if folded.merged:  # pending variants of frames the run had learned to fold
                await self.store.decide(resume.id, folded)
                self._decided([i for i, _ in folded.merged])
            self.verifier.confirmed = self.metrics.confirmed
            self.metrics.asked = state.requests - state.checks
            tokens = state.input_tokens + state.output_tokens
            self._marginal.restore(state.requests, tokens, self.metrics.confirmed)
            gap = f" after {span(self.clock.now() - parse_utc(idle))} idle" if idle else ""
            found = sum(n for _, n in state.proposal_counts)
            self._publish(Notice(f"resumed{gap}: {count(found, 'entry')} so far", "information"))
            if lost:
                tokens = sum(c.input_tokens for c in lost)
                self._publish(
                    Notice(
                        f"{count(len(lost), 'request')} of the last session got no reply "
                        f"(interrupted); {'its' if len(lost) == 1 else 'their'} {tokens:,} input "
                        "tokens are estimated"
                    )
                )
        self._publish(RunStarted(self.run_row.id, self.run_row.uid))
        for _ in range(s.producers):
            self.add_producer()
        if self._end is not None:  # stopped before the loop was known
            self._stopped.set()
        ingest = asyncio.create_task(self._ingest())
        ticker = asyncio.create_task(self._tick())
        try:
            await self._stopped.wait()
        finally:
            ticker.cancel()
            try:
                await self._shutdown(ingest)
            finally:  # a shutdown cut short (the loop closing) leaves no ingest loop behind
                ingest.cancel()
            self.store.release_reserve()  # room for what follows, should the disk be full
            await self._interrupt_calls()
        assert self._end is not None
        status, reason = self._end
        await self._record_routing(self.clock.monotonic(), final=True)
        await self._save_partitions(self.clock.monotonic(), final=True)
        self.metrics.estimated_total = self._estimate()
        try:
            await self.store.finish_run(
                self.run_row.id, status, reason, self.clock.now(), self.metrics.estimated_total
            )
        except Exception as exc:  # the run shows as running (crashed) until resumed
            self._publish(Notice(f"could not store the end of the run: {exc}", "error"))
            status, reason = "failed", f"{reason}; its end could not be stored: {exc}"
        snap = self.metrics.snapshot(self.clock.monotonic())
        self._publish(MetricsUpdated(snap))
        self._publish(RunEnded(status, reason))
        return RunResult(self.run_row, status, reason, snap)

    def pause(self, pid: int | None = None) -> None:
        """Pause one producer, or all of them when `pid` is None."""
        if pid is None:
            self.all_paused = True
            self._notify_all()
            self._post(AllPaused(True))
        elif (p := self.producers.get(pid)) is not None:
            p.pause()
            self.producer_changed(p)

    def resume(self, pid: int | None = None) -> None:
        if pid is None:
            self.all_paused = False
            for p in list(self.producers.values()):
                p.resume()
                self.producer_changed(p)
            self._post(AllPaused(False))
        elif (one := self.producers.get(pid)) is not None:
            one.resume()
            self.producer_changed(one)

    def add_producer(self, arm: str | None = None) -> int | None:
        """Start one more producer: pinned to `arm`, or where routing places it."""
        with self._lock:
            if self._end is not None:
                return None
            pinned = arm is not None
            usable = [a.label for a in self.settings.arms if self.accounts.usable(a.label)]
            now = self.clock.monotonic()
            arm = arm or self.router.place(usable, now) or self._least_used_arm()
            if arm is None:
                return None
            pid = self._next_pid
            self._next_pid += 1
            producer = Producer(pid, self, arm)
            producer.pinned = pinned
            self.producers[pid] = producer
        self.producer_changed(producer)
        self._spawn(producer.run, f"producer-{pid}")
        return pid

    def remove_producer(self, pid: int) -> bool:
        """Stop one producer after its current request; the last one cannot be removed."""
        with self._lock:
            live = [p for p in self.producers.values() if not p.stopping]
            p = self.producers.get(pid)
            if p is None or p.stopping or len(live) <= 1:
                return False
            p.stop()
            self._cond.notify_all()  # it may be waiting for an assignment
        self.producer_changed(p)
        return True

    # -- producer side (worker threads) ----------------------------------------------------

    def provider_failed(self, producer: Producer, a: Assignment, exc: ProviderError) -> None:
        """Act on a provider error that affects more than this producer (engine/failures.py)."""
        with self._lock:
            failed = self.accounts.of(a.arm).failed(a.arm, exc, self.clock.monotonic())
            usable = failed.disabled is None or self._least_used_arm() is not None
        if failed.cap is not None:
            many = "request" if failed.cap == 1 else "requests"
            what = f"{account(a.arm)} keeps rate-limiting: at most {failed.cap} {many} at once"
            self._post(Notice(what))
        if failed.disabled is not None:
            self._post(Notice(f"{failed.disabled} disabled for this run: {failed.why}", "error"))
            if not usable:
                self.stop(f"no usable provider: {failed.disabled}: {failed.why}", "failed")

    def producer_finished(self, producer: Producer) -> None:
        with self._lock:
            live = [p for p in self.producers.values() if not p.done.is_set()]
            if not live and self._end is None:
                self.stop("no producer left", "stopped")
        if not live:
            self._in_loop(self._idle.set)

    async def _shutdown(self, ingest: asyncio.Task[None]) -> None:
        """Let producers finish (up to the grace period), drain the queue, close the file."""
        with self._lock:
            live = any(not p.done.is_set() for p in self.producers.values())
        if live:
            try:
                await asyncio.wait_for(self._idle.wait(), self._grace_s)
            except TimeoutError:
                self._publish(Notice("some producers did not finish in time; left behind"))
        assert self._queue is not None and self._loop is not None
        # call_soon keeps FIFO order with the batches producers already handed over.
        self._loop.call_soon(self._queue.put_nowait, None)
        await ingest
        try:
            self.output.sync()
        except OutputError as exc:
            self._output_failed(exc)
