"""What every part of a run shares: settings, store, planner, verifier, metrics, router,
accounts, producers, the lock, events; and how a run is told to end.

`Orchestrator` (engine/orchestrator.py) is this state with its parts stacked on it, each in its
own module: `Stopping` (stop conditions, engine/stopping.py) < `Assigning` (a producer's next
request, engine/assign.py) < `Ingesting` (a reply stored and accounted, engine/ingest.py) <
`Orchestrator` (start, resume, shutdown and the controls).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future

from igentai_tui.common.clock import Clock
from igentai_tui.engine.events import Event, Notice, ProducerState, Subscriber
from igentai_tui.engine.failures import Accounts
from igentai_tui.engine.metrics import Metrics
from igentai_tui.engine.partitions import Partitions
from igentai_tui.engine.producer import Producer
from igentai_tui.engine.records import RunRow
from igentai_tui.engine.routing import make_router
from igentai_tui.engine.saturation import Marginal
from igentai_tui.engine.settings import RunSettings
from igentai_tui.engine.storage import Output, OutputError, Storage
from igentai_tui.engine.verify import Pending, Verifier
from igentai_tui.providers.base import Provider

Spawn = Callable[[Callable[[], None], str], None]
"""How a front end starts a producer: call `target` in a new thread named `name`."""


def spawn_thread(target: Callable[[], None], name: str) -> None:
    """The headless host: a plain daemon thread."""
    threading.Thread(target=target, name=name, daemon=True).start()


class RunState:
    """One run's shared state (under `_lock` where threads share it), events, and the end."""

    def __init__(
        self,
        settings: RunSettings,
        store: Storage,
        providers: Mapping[str, Provider],
        output: Output,
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
        self.accounts = Accounts()  # failures, concurrency caps and disabling, per account
        self._subscribers: list[Subscriber] = []
        self.producers: dict[int, Producer] = {}
        self._next_pid = 1
        self.all_paused = False
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
        self._end: tuple[str, str] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Back-pressure: places in the ingest queue; a producer waits on `_slot_freed` for one
        self._free_slots = max(16, 4 * settings.producers)
        self._slot_freed = threading.Condition(self._lock)
        self._stopped = asyncio.Event()  # on the loop: stop() was called
        self._ended: Future[None] = Future()  # for threads: stop() was called
        self._idle = asyncio.Event()  # on the loop: every producer has finished
        self._beginning: set[threading.Event] = set()  # begin()s waiting for their row's commit
        self.metrics = Metrics(self.clock.monotonic())
        self.run_row: RunRow | None = None
        labels = [a.label for a in settings.arms]
        self.router = make_router(
            settings.routing, labels, objective=settings.optimize, weights=settings.weights,
            seed=settings.seed,
        )  # fmt: skip

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def stop(self, reason: str = "stopped by user", status: str = "stopped") -> None:
        """End the run cleanly (thread-safe): everything found is stored and written."""
        with self._lock:
            if self._end is not None:
                return
            self._end = (status, reason)
            for p in self.producers.values():
                p.stop()
            if not self._ended.done():  # _fail() stops a second time
                self._ended.set_result(None)
            self._cond.notify_all()  # producers waiting for an assignment or a place in the queue
            self._slot_freed.notify_all()
            told = list(self.producers.values())
        for p in told:
            self.producer_changed(p)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)

    def producer_changed(self, p: Producer) -> None:
        """Publish what `p` is now (from any thread)."""
        self._post(
            ProducerState(p.pid, p.state, p.arm, p.partition, p.last_error, p.paused, p.stopping)
        )

    def _fail(self, reason: str) -> None:
        """End the run as failed, even when it was already stopping for another reason."""
        with self._lock:
            if self._end is not None and self._end[0] == "failed":
                return
            self._end = None
            self.stop(reason, "failed")

    def _output_failed(self, exc: OutputError) -> None:
        """The output file cannot take more (a full disk): the run fails. What was found is
        stored; the file lags behind the database, and a resume or an export writes it out."""
        if self._end is None or not self._end[1].startswith("output error"):
            self._publish(Notice(f"{exc}: stopping; the database holds every entry found "
                                 "(--resume restores the file, igentai export writes it)",
                                 "error"))  # fmt: skip
        self._fail(f"output error: {exc}")

    def _least_used_arm(self) -> str | None:
        counts = {a.label: 0 for a in self.settings.arms if self.accounts.usable(a.label)}
        if not counts:
            return None
        for p in self.producers.values():
            if p.arm in counts and not p.stopping:
                counts[p.arm] += 1
        return min(counts, key=lambda k: counts[k])

    def _notify_all(self) -> None:
        for p in list(self.producers.values()):
            p.wake()

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
