"""The orchestrator: owns the run, the store, the output file and the metrics.

It runs on an asyncio loop (the Textual app's, or the headless runner's) and is the single
authority on uniqueness. Producers run in worker threads; they take assignments and hand back
batches through thread-safe calls. Front ends subscribe to events and call the controls.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from igentai_tui.common.clock import Clock, span
from igentai_tui.engine.events import (
    Event,
    FoundEntry,
    MetricsUpdated,
    NewEntries,
    Notice,
    ProducerState,
    RunEnded,
    Subscriber,
)
from igentai_tui.engine.metrics import Metrics, Snapshot
from igentai_tui.engine.partitions import PLAN_COUNT, SEEN_MAX, Partitions
from igentai_tui.engine.producer import Assignment, Producer
from igentai_tui.engine.prompts import (
    PLAN_VERSION,
    PROMPT_VERSION,
    SYSTEM,
    VERIFY_VERSION,
    list_prompt,
    parse_verdict,
    short_partition,
    subtopics_prompt,
    verify_prompt,
)
from igentai_tui.engine.routing import Outcome, make_router
from igentai_tui.engine.saturation import Marginal
from igentai_tui.engine.throttle import Throttle
from igentai_tui.engine.verify import Decisions, Pending, Verifier
from igentai_tui.engine.words import count
from igentai_tui.output import OutputError, OutputFile
from igentai_tui.providers.base import (
    CompletionRequest,
    ConnectionFailed,
    ContextTooLong,
    Overloaded,
    Provider,
    ProviderError,
    RateLimited,
    ServerError,
    Timeout,
    list_price,
)
from igentai_tui.store import (
    CONFIRMED,
    MERGED,
    PENDING,
    REJECTED,
    Batch,
    BatchOutcome,
    CallRecord,
    RunRow,
    Store,
    Verdicts,
    parse_utc,
)

Spawn = Callable[[Callable[[], None], str], None]
"""How a front end starts a producer: call `target` in a new thread named `name`."""

TICK_S = 0.5
FINISH_S = 30.0  # the most a run spends checking its pending entries once it is to stop
PARTITIONS_SAVE_S = 1.0
SATURATED = "saturated: re-planning finds nothing new and little is estimated left"
TOO_DEAR = "saturated: a new entry now costs {:.0f}x the run's average"
# One line in the TUI's status line (a run set to stop when the topic looks exhausted,
# --until-saturated, stops here instead of saying it).
EXHAUSTED_NOTICE = (
    "the topic looks exhausted: new entries are now mostly repeats and inventions (stop the run)"
)
MAX_BATCHES_PER_TRANSACTION = 256
VERIFY_OFF_NOTICE = (
    "verification is off: the model's replies to it could not be read; "
    "entries are confirmed unchecked from now on"
)
# An arm whose requests fail this many times in a row (no success between; transient errors
# neither count nor reset the count) is dropped for the run: a wrong model name, a 404, a reply
# that never parses. Such a request is refused before any generation, so 8 cost next to nothing;
# a healthy arm that sends a bad reply one time in four (the fault storm's servers) would be
# dropped by mistake about once in 65,000 requests (4^8).
MAX_FAILURES_IN_A_ROW = 8
# Errors that say nothing about the arm itself: the server's state of the moment. (Too long a
# context has its own remedy in the producer; key and quota errors disable the account at once.)
TRANSIENT = (RateLimited, Overloaded, ServerError, Timeout, ConnectionFailed, ContextTooLong)


def _account(arm: str) -> str:
    """What a key or quota error disables: the provider, or one server for `name:model@url`."""
    name, _, model = arm.partition(":")
    return f"{name}@{model.partition('@')[2]}" if "@" in model else name


def spawn_thread(target: Callable[[], None], name: str) -> None:
    """The headless host: a plain daemon thread."""
    threading.Thread(target=target, name=name, daemon=True).start()


@dataclass(frozen=True, slots=True)
class Arm:
    """A provider and model that producers can be put on."""

    provider: str
    model: str

    @property
    def label(self) -> str:
        return f"{self.provider}:{self.model}"


@dataclass(slots=True)
class Limits:
    """Stop conditions; None means no limit."""

    max_unique: int | None = None
    max_requests: int | None = None
    max_tokens: int | None = None
    max_cost: float | None = None
    duration_s: float | None = None
    until_saturated: bool = False


@dataclass(slots=True)
class RunSettings:
    topic: str
    arms: list[Arm]
    producers: int = 5
    limits: Limits = field(default_factory=Limits)
    seed: int | None = None
    request_size: int = 50
    context_tokens: int = 150  # budget for the "already found" part of a prompt (about 30
    # entries): the most proposed are those a model repeats; a longer list costs input tokens on
    # every request and saves few repeats (see docs/benchmarks.md, Exploration)
    partitions: bool = True  # split the topic into subtopics (False: mine it whole)
    verify: bool = True  # entries are pending until verification confirms them (engine/verify.py)
    routing: str = "adaptive"  # see engine/routing.py
    optimize: str = "cost"  # what adaptive routing scores arms on: cost, tokens, speed
    weights: dict[str, float] = field(default_factory=dict)  # arm -> weight, for "weighted"
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)  # arm -> --price

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["arms"] = [a.label for a in self.arms]
        return d


@dataclass(frozen=True, slots=True)
class RunResult:
    run: RunRow
    status: str  # completed, stopped, failed
    reason: str
    snapshot: Snapshot


@dataclass(slots=True)
class _Item:
    batch: Batch
    assignment: Assignment
    pid: int
    arm: str
    holds_slot: bool = True
    stored: threading.Event = field(default_factory=threading.Event)


class Orchestrator:
    """One run. `await run()` drives it to its end; the controls work from any thread."""

    def __init__(
        self,
        settings: RunSettings,
        store: Store,
        providers: Mapping[str, Provider],
        output: OutputFile,
        *,
        clock: Clock | None = None,
        spawn: Spawn = spawn_thread,
        grace_s: float = 5.0,
    ) -> None:
        self.settings = settings
        self.store = store
        self.providers = dict(providers)  # arm label -> provider
        self.output = output
        self.clock = clock or Clock()
        self._spawn = spawn
        self._grace_s = grace_s
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._inflight: Counter[str] = Counter()  # account -> requests in flight
        self._throttle = Throttle()
        self._subscribers: list[Subscriber] = []
        self.producers: dict[int, Producer] = {}
        self._next_pid = 1
        self.all_paused = False
        self._disabled: dict[str, str] = {}  # account (see _account) or arm -> why
        self._failing: Counter[str] = Counter()  # arm -> failures in a row (see TRANSIENT)
        self._secrets_noted: set[str] = set()  # arms whose replies held a key
        self.partitions = Partitions(settings.topic, plan=settings.partitions)
        self._exhausted_noted = False
        self._marginal = Marginal()
        self.verifier = Verifier(enabled=settings.verify, limit=settings.limits.max_unique)
        # entries decided, until their state is stored
        self._deciding: dict[int, tuple[Pending, str]] = {}
        self._finishing: tuple[str, str] | None = None  # (status, reason) once finishing
        self._unstored = 0  # requests assigned whose result is not accounted yet
        self._finishing_at = 0.0
        self._saved_at = float("-inf")  # when partition rows were last stored
        self._end: tuple[str, str] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Item | None] | None = None
        self._ingest_done = False
        self._slots = threading.BoundedSemaphore(max(16, 4 * settings.producers))
        self._stopped = asyncio.Event()
        self.metrics = Metrics(self.clock.monotonic())
        self.run_row: RunRow | None = None
        labels = [a.label for a in settings.arms]
        self.router = make_router(
            settings.routing, labels, objective=settings.optimize, weights=settings.weights,
            seed=settings.seed,
        )  # fmt: skip

    # -- front-end side --------------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

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
            self.verifier.restore(await self.store.pending_entries(resume.id))
            self.verifier.confirmed = self.metrics.confirmed
            self.metrics.asked = state.requests - state.checks
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
            await self._shutdown(ingest)
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

    def stop(self, reason: str = "stopped by user", status: str = "stopped") -> None:
        """End the run cleanly (thread-safe): everything found is stored and written."""
        with self._lock:
            if self._end is not None:
                return
            self._end = (status, reason)
            for p in self.producers.values():
                p.stop()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)

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
        self._post(Notice(f"{reason}: checking the entries found before stopping", "information"))

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

    def pause(self, pid: int | None = None) -> None:
        """Pause one producer, or all of them when `pid` is None."""
        if pid is None:
            self.all_paused = True
            self._notify_all()
        elif (p := self.producers.get(pid)) is not None:
            p.pause()

    def resume(self, pid: int | None = None) -> None:
        if pid is None:
            self.all_paused = False
            for p in list(self.producers.values()):
                p.resume()
        elif (one := self.producers.get(pid)) is not None:
            one.resume()

    def add_producer(self, arm: str | None = None) -> int | None:
        """Start one more producer: pinned to `arm`, or where routing places it."""
        with self._lock:
            if self._end is not None:
                return None
            pinned = arm is not None
            usable = [a.label for a in self.settings.arms if not self._arm_disabled(a.label)]
            now = self.clock.monotonic()
            arm = arm or self.router.place(usable, now) or self._least_used_arm()
            if arm is None:
                return None
            pid = self._next_pid
            self._next_pid += 1
            producer = Producer(pid, self, arm)
            producer.pinned = pinned
            self.producers[pid] = producer
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
            return True

    # -- producer side (worker threads) ----------------------------------------------------

    def assignment(self, producer: Producer) -> Assignment | None:
        """The next request for `producer`, or None when it should stop."""
        s = self.settings
        with self._cond:
            while True:
                if self._end is not None or producer.stopping:
                    return None
                ready = [
                    a.label
                    for a in s.arms
                    if not (self._arm_disabled(a.label) or self._throttled(a.label))
                ]
                if not ready:
                    if self._least_used_arm() is None:
                        return None  # no usable provider left
                    self._cond.wait(0.25)  # every usable account is at its concurrency cap
                    continue
                limit = s.limits.max_requests
                if limit is not None and self.metrics.asked >= limit and self._finishing is None:
                    self.finish("request limit reached", "completed")
                    continue
                if self._finished():
                    return None
                verify = self.verifier.due(idle=self._finishing is not None)
                task = None
                if not verify and self._finishing is None:
                    task = self.partitions.next(reopen=not s.limits.until_saturated)
                verify = verify or (task is None and self.verifier.due(idle=True))
                if task is not None or verify:
                    if producer.pinned and producer.arm in ready:
                        arm = producer.arm
                    else:
                        arm = self.router.choose(producer.arm, ready, self.clock.monotonic())
                    check = self.verifier.take(arm) if verify else None
                    if task is not None or check is not None:
                        break
                if s.limits.until_saturated and self._finishing is None and (
                    why := self._saturated()
                ):
                    self._stop_from_thread(why, "completed")
                    return None
                self._cond.wait(0.25)  # a split is being planned, or entries checked
            self.metrics.asked += check is None
            self._unstored += 1
            self._inflight[_account(arm)] += 1
            provider = self.providers[arm]
            model = arm.split(":", 1)[1]
            unique = self.metrics.unique
            budget, found, asked = 0, [], 0
            p = task.partition if task is not None else None
            if check is not None:
                pairs = [(v, e) for _, v, e in check.pairs]
                prompt = verify_prompt(s.topic, [e.text for e in check.entries], pairs)
                max_tokens = 40 + 4 * (len(check.entries) + len(pairs))
                version = VERIFY_VERSION
            elif task is not None and task.plan:
                known = [
                    q.name.rpartition(" > ")[2]
                    for q in self.partitions.children(task.partition)
                    if q.kind == "subtopic"
                ]
                prompt = subtopics_prompt(s.topic, PLAN_COUNT, task.partition.label, known)
                max_tokens = PLAN_COUNT * 20 + 200
                version = PLAN_VERSION
            else:
                assert task is not None
                self.verifier.ticks += 1
                window = provider.context_window(model) // 4
                budget = int(min(s.context_tokens, window) * producer.context_scale)
                found = self.partitions.context(task.partition, budget)
                size = asked = self.partitions.request_size(task.partition, s.request_size)
                prompt = list_prompt(s.topic, size, found, task.partition.label)
                max_tokens = size * 20 + 200
                version = PROMPT_VERSION
        request = CompletionRequest(
            model=model,
            system=SYSTEM,
            prompt=prompt,
            max_tokens=max_tokens,
            temperature=1.0 if check is None else 0.0,
        )
        return Assignment(
            arm=arm,
            provider_name=arm.split(":", 1)[0],
            provider=provider,
            request=request,
            partition=p.label if p is not None else None,
            context_entries=len(found),
            unique_at_assign=unique,
            assigned_at=self.clock.monotonic(),
            prompt_version=version,
            plan=task is not None and task.plan,
            context_tokens=budget,
            check=check,
            asked=asked,
        )

    def verdict(self, a: Assignment, text: str | None) -> tuple[Verdicts, bool]:
        """A verification request came back with `text` (None: it failed). Returns the entry
        states to store with its call, and whether the reply answered."""
        check = a.check
        assert check is not None
        with self._cond:
            parsed = parse_verdict(text, len(check.entries), len(check.pairs)) if text else None
            if parsed is None:
                was = self.verifier.enabled
                decisions = (
                    self.verifier.unreadable(check) if text else self.verifier.failed(check)
                )
                if was and not self.verifier.enabled:
                    self._post(Notice(VERIFY_OFF_NOTICE, "warning"))
            else:
                decisions = self.verifier.verdict(
                    check, *parsed, real_share=self.partitions.estimated_real
                )
            self._cond.notify_all()
        return self._hold(decisions), parsed is not None

    def _hold(self, d: Decisions) -> Verdicts:
        """Keep decided entries until their states are stored (then written and counted)."""
        for e in d.confirmed:
            self._deciding[e.id] = (e, CONFIRMED)
        for e in d.rejected:
            self._deciding[e.id] = (e, REJECTED)
        for e, _ in d.merged:
            self._deciding[e.id] = (e, MERGED)
        return Verdicts(
            [e.id for e in d.confirmed],
            [e.id for e in d.rejected],
            [(e.id, into) for e, into in d.merged],
        )

    def planned(self, a: Assignment, lines: list[str]) -> None:
        """A producer's planning request came back with these subtopic lines."""
        with self._cond:
            p = self.partitions.by_name[a.partition or ""]
            made = self.partitions.planned(p, lines)
            self._cond.notify_all()
        where = p.label or "the topic"
        if made and p.plans > 1:
            self._post(Notice(f"{count(len(made), 'more subtopic')} of {where}", "information"))
        elif made and made[0].letters:  # the ranges as the producers panel shows them
            spans = ", ".join(short_partition(q.name).rpartition(" ")[2] for q in made)
            self._post(Notice(f"split {where} by first letter: {spans}", "information"))
        elif made:
            self._post(Notice(f"split {where} into {count(len(made), 'subtopic')}", "information"))

    def secrets_dropped(self, a: Assignment, n: int) -> None:
        """A reply held items with a key in them (or shaped like one), dropped: say so, once
        an arm (they are counted in the calls' `rejected`)."""
        with self._lock:
            if a.arm in self._secrets_noted:
                return
            self._secrets_noted.add(a.arm)
        self._post(Notice(f"a reply of {a.arm} held an API key or a key-shaped token: {n} "
                          "items dropped (counted as rejected; told once)", "error"))  # fmt: skip

    def begin(self, call: CallRecord) -> bool:
        """Store `call`'s row, in flight, before its request is sent; wait for the commit.

        False when the row was not stored (the run's storing has ended, or the database
        failed): the request must then not be sent.
        """
        committed = threading.Event()
        with self._lock:  # a row handed over is committed before the run's last rows are ended
            if self._ingest_done or self.run_row is None:
                return False
            self.store.start_call(self.run_row.id, call, committed)
        while not committed.wait(0.1):
            if self._ingest_done:
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
            self._inflight[_account(a.arm)] -= 1
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
            account = _account(assignment.arm)
            self._inflight[account] -= 1
            if batch.call.error_kind is None:
                self._throttle.succeeded(account, self.clock.monotonic(), len(self.producers))
                self._failing.pop(assignment.arm, None)
            self._cond.notify_all()
        while not self._slots.acquire(timeout=0.1):
            if self._end is not None:
                item.holds_slot = False  # shutting down: the loop drains what it gets
                break
        if self._queue is not None:
            self._in_loop(self._queue.put_nowait, item)
        # Wait until it is stored, so that the producer's next prompt knows what it found.
        while not item.stored.wait(0.1):
            if self._end is not None:
                break

    def provider_failed(self, producer: Producer, a: Assignment, exc: ProviderError) -> None:
        """Act on a provider error that affects more than this producer."""
        account = _account(a.arm)
        if isinstance(exc, RateLimited):
            with self._lock:
                now = self.clock.monotonic()
                cap = self._throttle.rate_limited(account, self._inflight[account] + 1, now)
            if cap is not None:
                many = "request" if cap == 1 else "requests"
                self._post(Notice(f"{account} keeps rate-limiting: at most {cap} {many} at once"))
            return
        if exc.disables_provider:
            self._disable(account, str(exc))
            return
        if isinstance(exc, TRANSIENT):
            return
        with self._lock:
            self._failing[a.arm] += 1
            failures = self._failing[a.arm]
        if failures >= MAX_FAILURES_IN_A_ROW:
            why = f"{failures} requests in a row failed, the last: {exc.kind}: {exc}"
            self._disable(a.arm, why)

    def _disable(self, what: str, why: str) -> None:
        """Take an account or an arm out of the run; end the run when nothing usable is left."""
        with self._lock:
            if what in self._disabled:
                return
            self._disabled[what] = why
            usable = self._least_used_arm() is not None
        self._post(Notice(f"{what} disabled for this run: {why}", "error"))
        if not usable:
            self._stop_from_thread(f"no usable provider: {what}: {why}", "failed")

    def producer_changed(self, producer: Producer) -> None:
        self._post(
            ProducerState(
                producer.pid, producer.state, producer.arm, producer.partition, producer.last_error
            )
        )

    def producer_finished(self, producer: Producer) -> None:
        with self._lock:
            live = [p for p in self.producers.values() if not p.done.is_set()]
            if not live and self._end is None:
                self._stop_from_thread("no producer left", "stopped")

    def cost(self, a: Assignment, input_tokens: int, output_tokens: int) -> float | None:
        per_mtok = list_price(a.provider, a.request.model, self.settings.prices)
        if per_mtok is None:
            return None
        return (input_tokens * per_mtok[0] + output_tokens * per_mtok[1]) / 1e6

    # -- internals -------------------------------------------------------------------------

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

    def _arm_disabled(self, arm: str) -> bool:
        return arm in self._disabled or _account(arm) in self._disabled

    def _throttled(self, arm: str) -> bool:
        account = _account(arm)
        return self._throttle.at_cap(account, self._inflight[account])

    def _least_used_arm(self) -> str | None:
        counts = {a.label: 0 for a in self.settings.arms if not self._arm_disabled(a.label)}
        if not counts:
            return None
        for p in self.producers.values():
            if p.arm in counts and not p.stopping:
                counts[p.arm] += 1
        return min(counts, key=lambda k: counts[k])

    def _notify_all(self) -> None:
        for p in list(self.producers.values()):
            p._wake.set()

    def _stop_from_thread(self, reason: str, status: str) -> None:
        self.stop(reason, status)

    def _post(self, event: Event) -> None:
        """Publish from any thread."""
        self._in_loop(self._publish, event)

    def _in_loop(self, fn: Callable[..., object], *args: object) -> None:
        """Run `fn(*args)` on the orchestrator's loop; a no-op once the loop has closed."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # closed meanwhile: the run is over
            loop.call_soon_threadsafe(fn, *args)

    def _publish(self, event: Event) -> None:
        for sub in list(self._subscribers):
            try:
                sub(event)
            except Exception as exc:  # a broken front end must not stop the run
                self._subscribers.remove(sub)
                self._publish(Notice(f"an event subscriber failed and was dropped: {exc!r}"))

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
            for it in items:  # off the queue: producers may refill it while these are stored
                if it.holds_slot:
                    self._slots.release()
            await self._store_items(items)
            if done:
                break
        with self._lock:
            self._ingest_done = True

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
                it.stored.set()
            return
        try:
            await self._account_items(items, outcomes, verifying)
        except OutputError as exc:
            self._output_failed(exc)
        finally:
            for it in items:
                it.stored.set()

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
                        auto.extend(self.verifier.add(new, it.arm, call.partition, it.pid))
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

    async def _shutdown(self, ingest: asyncio.Task[None]) -> None:
        """Let producers finish (up to the grace period), drain the queue, close the file."""
        deadline = time.monotonic() + self._grace_s
        while any(not p.done.is_set() for p in list(self.producers.values())):
            if time.monotonic() >= deadline:
                self._publish(Notice("some producers did not finish in time; left behind"))
                break
            await asyncio.sleep(0.02)
        assert self._queue is not None and self._loop is not None
        # call_soon keeps FIFO order with the batches producers already handed over.
        self._loop.call_soon(self._queue.put_nowait, None)
        await ingest
        try:
            self.output.sync()
        except OutputError as exc:
            self._output_failed(exc)

    def _output_failed(self, exc: OutputError) -> None:
        """The output file cannot take more (a full disk): the run fails. What was found is
        stored; the file lags behind the database, and a resume or an export writes it out."""
        if self._end is None or not self._end[1].startswith("output error"):
            self._publish(Notice(f"{exc}: stopping; the database holds every entry found "
                                 "(--resume restores the file, igentai export writes it)",
                                 "error"))  # fmt: skip
        self._fail(f"output error: {exc}")

    def _fail(self, reason: str) -> None:
        """End the run as failed, even when it was already stopping for another reason."""
        with self._lock:
            if self._end is not None and self._end[0] == "failed":
                return
            self._end = None
            self.stop(reason, "failed")
