"""Ingest: a producer's request row stored before it is sent, its reply handed over (with
back-pressure), and the batches stored in one transaction each; then accounted: metrics,
planner, verifier, router, output.txt and events, in that order after the commit."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field

from igentai_tui.engine.assign import Assigning
from igentai_tui.engine.events import FoundEntry, NewEntries, Notice
from igentai_tui.engine.producer import Assignment
from igentai_tui.engine.records import (
    CONFIRMED,
    MERGED,
    PENDING,
    REJECTED,
    Batch,
    BatchOutcome,
    CallRecord,
)
from igentai_tui.engine.routing import Outcome
from igentai_tui.engine.storage import OutputError
from igentai_tui.engine.verify import Decisions

PARTITIONS_SAVE_S = 1.0
MAX_BATCHES_PER_TRANSACTION = 256


@dataclass(slots=True)
class _Item:
    batch: Batch
    assignment: Assignment
    pid: int
    arm: str
    holds_slot: bool = True
    stored: Future[None] = field(default_factory=Future)


class Ingesting(Assigning):
    """Replies in, stored, accounted."""

    _queue: asyncio.Queue[_Item | None] | None = None  # made on the run's loop
    _ingest_done = False
    _saved_at = float("-inf")  # when partition rows were last stored

    def begin(self, call: CallRecord) -> bool:
        """Store `call`'s row, in flight, before its request is sent; wait for the commit.

        False when the row was not stored (the run's storing has ended, or the database
        failed): the request must then not be sent.
        """
        committed = threading.Event()  # set by the store, or when the ingest loop ends
        with self._lock:  # a row handed over is committed before the run's last rows are ended
            if self._ingest_done or self.run_row is None:
                return False
            self._beginning.add(committed)
            self.store.start_call(self.run_row.id, call, committed)
        committed.wait()
        with self._lock:
            self._beginning.discard(committed)
            if call.id is None and self._ingest_done:
                return False
        if call.id is None:
            error = self.store.start_error
            self._post(Notice(f"could not store a request before sending it: {error}", "error"))
            self._fail(f"database error: {error}")
        return call.id is not None

    def unsent(self, a: Assignment) -> None:
        """A request that was not sent (its row could not be stored): release what it held."""
        with self._cond:
            self._unstored -= 1
            self.accounts.of(a.arm).inflight -= 1
            if a.check is not None:
                self.verifier.failed(a.check)
            else:
                p = self.partitions.by_name[a.partition or ""]
                self.partitions.released(p, a.plan)
                if a.plan:
                    self.partitions.plan_failed(p)
            self._cond.notify_all()

    def submit(self, batch: Batch, assignment: Assignment) -> None:
        """Hand a batch to the ingest loop and wait until it is stored (or the run ends)."""
        item = _Item(batch, assignment, batch.call.producer, assignment.arm)
        with self._cond:
            policy = self.accounts.of(assignment.arm)
            policy.inflight -= 1
            if batch.call.error_kind is None:
                policy.succeeded(assignment.arm, self.clock.monotonic(), len(self.producers))
            self._cond.notify_all()
            while not self._free_slots and self._end is None:
                self._slot_freed.wait()
            if self._free_slots:
                self._free_slots -= 1
            else:
                item.holds_slot = False  # shutting down: the loop drains what it gets
        if self._queue is not None:
            self._in_loop(self._queue.put_nowait, item)
        # Wait until it is stored, so that the producer's next prompt knows what it found.
        wait((item.stored, self._ended), return_when=FIRST_COMPLETED)

    async def _ingest(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            item = await queue.get()
            if item is None:
                break
            items = [item]
            done = False
            while len(items) < MAX_BATCHES_PER_TRANSACTION and not queue.empty():
                nxt = queue.get_nowait()
                if nxt is None:
                    done = True
                    break
                items.append(nxt)
            freed = sum(it.holds_slot for it in items)
            if freed:  # off the queue: producers may refill it while these are stored
                with self._lock:
                    self._free_slots += freed
                    self._slot_freed.notify(freed)
            await self._store_items(items)
            if done:
                break
        with self._lock:
            self._ingest_done = True
            for committed in self._beginning:  # no row is stored any more: none will come
                committed.set()

    async def _store_items(self, items: list[_Item]) -> None:
        limits = self.settings.limits
        assert self.run_row is not None
        verifying = self.verifier.enabled
        max_new = None
        if limits.max_unique is not None and not verifying:
            max_new = max(0, limits.max_unique - self.metrics.unique)
        try:
            outcomes = await self.store.record(
                self.run_row.id,
                [it.batch for it in items],
                max_new=max_new,
                status=PENDING if verifying else CONFIRMED,
            )
        except Exception as exc:
            self._publish(Notice(f"could not store results: {exc}", "error"))
            self._fail(f"database error: {exc}")
            for it in items:
                it.stored.set_result(None)
            return
        try:
            await self._account_items(items, outcomes, verifying)
        except OutputError as exc:
            self._output_failed(exc)
        finally:
            for it in items:
                it.stored.set_result(None)

    async def _account_items(
        self, items: list[_Item], outcomes: list[BatchOutcome], verifying: bool
    ) -> None:
        """Metrics, partitions, verification, routing, output and events for stored batches."""
        now = self.clock.monotonic()
        found: list[FoundEntry] = []
        decided: list[int] = []  # entries whose state these batches stored
        auto = Decisions()  # states decided on arrival (agreement, a learned variant)
        for it, out in zip(items, outcomes, strict=True):
            call = it.batch.call
            a = it.assignment
            before = self.metrics.unique
            self.metrics.record_call(
                now,
                it.pid,
                it.arm,
                latency_s=call.latency_s,
                input_tokens=call.input_tokens,
                output_tokens=call.output_tokens,
                cost_usd=call.cost_usd,
                returned=len(it.batch.candidates),
                new=len(out.new),
                dup_exact=out.dup_exact,
                dup_variant=out.dup_variant,
                error_kind=call.error_kind,
            )
            self.metrics.record_counts(out.count_changes)
            if call.error_kind is None:
                self.metrics.record_lag(before - a.unique_at_assign, now - a.assigned_at)
            tokens = call.input_tokens + call.output_tokens
            v = it.batch.verdicts
            if v is not None:
                decided += [*v.confirmed, *v.rejected, *(i for i, _ in v.merged)]
            with self._cond:  # a partition counts as busy until its result is in
                self._unstored -= 1
                listing = a.check is None and not a.plan
                if listing and call.error_kind is None:
                    if verifying:
                        new = [(e.id, e.text, e.key) for e in out.new]
                        auto.extend(
                            self.verifier.add(new, it.arm, call.partition, it.pid, out.call_id)
                        )
                        for eid in out.pending_hits:
                            auto.extend(self.verifier.hit(eid, it.arm, call.partition))
                    else:
                        found.extend(
                            FoundEntry(e.text, it.pid, it.arm, call.partition) for e in out.new
                        )
                        self.metrics.record_states(len(out.new), arms=[it.arm] * len(out.new))
                if a.check is None:
                    p = self.partitions.by_name[a.partition or ""]
                    self.partitions.released(p, a.plan)
                    if a.plan and call.error_kind is not None:
                        self.partitions.plan_failed(p)
                    elif call.error_kind is None and not a.plan:
                        self.partitions.found_names(e.text for e in out.new)
                        self.partitions.observe(
                            p, it.batch.candidates, len(out.new), tokens, a.asked
                        )
                if listing or call.error_kind is not None:  # a split or a check finds none
                    outcome = Outcome(
                        call.latency_s or 0.0, tokens, call.cost_usd, len(out.new), call.error_kind
                    )
                    self.router.observe(it.arm, outcome, now)
                # New entries as real as their partition's checked ones were: confirmations
                # come in bursts (a batch at a time), which made the rule fire between them.
                found_real = 0.0
                if listing and out.new:
                    real = self.partitions.estimated_real(call.partition) if verifying else 1.0
                    found_real = len(out.new) * real
                self._cond.notify_all()
            self._marginal.add(tokens, found_real)
        if auto:
            with self._lock:
                held = self._hold(auto)
            decided += [*held.confirmed, *held.rejected, *(i for i, _ in held.merged)]
            assert self.run_row is not None
            try:
                await self.store.decide(self.run_row.id, held)
            except Exception as exc:
                self._publish(Notice(f"could not store entry states: {exc}", "error"))
                self.stop(f"database error: {exc}", "failed")
        if decided:
            found += self._decided(decided)
        await self._record_routing(now)
        if found:
            self.output.append([f.text for f in found])
            self._publish(NewEntries(tuple(found)))
        await self._save_partitions(now)
        self._check_limits()

    def _decided(self, ids: list[int]) -> list[FoundEntry]:
        """Entries whose state is now stored: count them, tell their partitions, and return
        the confirmed ones to write and show."""
        found: list[FoundEntry] = []
        confirmed = rejected = merged = 0
        with self._lock:
            for eid in ids:
                held = self._deciding.pop(eid, None)
                if held is None:
                    continue
                e, state = held
                if state == CONFIRMED:
                    confirmed += 1
                    found.append(FoundEntry(e.text, e.pid, e.arm, e.partition))
                elif state == REJECTED:
                    rejected += 1
                else:
                    merged += 1
                if state == MERGED:
                    self.partitions.verified(e.partition, 0, 0, 1)
                else:
                    self.partitions.verified(e.partition, 1, int(state == REJECTED))
        self.metrics.record_states(confirmed, rejected, merged, arms=[f.arm for f in found])
        return found

    async def _record_routing(self, now: float, final: bool = False) -> None:
        with self._lock:
            decisions = self.router.report(now, final=final)
        if decisions and self.run_row is not None:
            try:
                await self.store.record_routing(self.run_row.id, self.clock.now(), decisions)
            except Exception as exc:  # the record is for the user; the run goes on
                self._publish(Notice(f"could not store routing decisions: {exc}", "error"))

    async def _save_partitions(self, now: float, final: bool = False) -> None:
        """Store the partitions that changed: at once when one was made or changed status,
        otherwise (counts only) at most every `PARTITIONS_SAVE_S`, and at the end."""
        with self._lock:
            due = final or self.partitions.changed or now - self._saved_at >= PARTITIONS_SAVE_S
            rows = self.partitions.take_dirty() if due else []
        if not rows or self.run_row is None:
            return
        self._saved_at = now
        try:
            await self.store.save_partitions(self.run_row.id, rows, self.clock.now())
        except Exception as exc:
            self._publish(Notice(f"could not store partitions: {exc}", "error"))

    async def _interrupt_calls(self) -> None:
        """At the end of the run: the requests whose reply never came become interrupted."""
        assert self.run_row is not None
        try:
            lost = await self.store.interrupt_calls(self.run_row.id)
        except Exception as exc:
            self._publish(Notice(f"could not mark the unanswered requests: {exc}", "error"))
            return
        now = self.clock.monotonic()
        for c in lost:
            self.metrics.record_call(
                now, c.producer, f"{c.provider}:{c.model}", latency_s=None,
                input_tokens=c.input_tokens, output_tokens=0, cost_usd=c.cost_usd, returned=0,
                new=0, dup_exact=0, dup_variant=0, error_kind=c.error_kind,
            )  # fmt: skip
