"""The producer loop a worker thread runs: assignment, LLM call, parse, hand over, repeat.

The same code runs under the Textual app (thread workers) and the headless runner (plain
threads). A producer keeps its own `Backoff` (engine/failures.py); the orchestrator owns
everything shared.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from igentai_tui.common.clock import Clock
from igentai_tui.common.redact import holds_secret
from igentai_tui.engine.failures import Backoff
from igentai_tui.engine.normalize import forms
from igentai_tui.engine.parsing import parse_reply
from igentai_tui.engine.records import IN_FLIGHT, Batch, CallRecord, Verdicts
from igentai_tui.providers.base import (
    BadResponse,
    Completion,
    CompletionRequest,
    Provider,
    ProviderError,
    estimate_tokens,
)

if TYPE_CHECKING:
    from igentai_tui.engine.verify import Check


@dataclass(frozen=True, slots=True)
class Assignment:
    """What a producer is to do next, as the orchestrator decided it."""

    arm: str
    provider_name: str
    provider: Provider
    request: CompletionRequest
    partition: str | None
    context_entries: int
    unique_at_assign: int
    assigned_at: float  # monotonic
    prompt_version: str
    plan: bool = False  # a request to split the partition into subtopics
    context_tokens: int = 0  # the budget the "already found" part was given
    check: Check | None = None  # a verification request: the entries and pairs it checks
    asked: int = 0  # entries a list request asked for


class Host(Protocol):
    """What a producer asks of the orchestrator that runs it (`engine/orchestrator.py`)."""

    clock: Clock
    all_paused: bool

    def assignment(self, producer: Producer) -> Assignment | None: ...
    def begin(self, call: CallRecord) -> bool: ...
    def unsent(self, a: Assignment) -> None: ...
    def submit(self, batch: Batch, assignment: Assignment) -> None: ...
    def verdict(self, a: Assignment, text: str | None) -> tuple[Verdicts, bool]: ...
    def planned(self, a: Assignment, lines: list[str]) -> None: ...
    def secrets_dropped(self, a: Assignment, n: int) -> None: ...
    def cost(self, a: Assignment, input_tokens: int, output_tokens: int) -> float | None: ...
    def provider_failed(self, producer: Producer, a: Assignment, exc: ProviderError) -> None: ...
    def producer_changed(self, producer: Producer) -> None: ...
    def producer_finished(self, producer: Producer) -> None: ...


class Producer:
    """One producer. `run()` blocks until the producer is stopped or the run ends."""

    def __init__(self, pid: int, orchestrator: Host, arm: str) -> None:
        self.pid = pid
        self.arm = arm
        self.pinned = False  # added on an arm the user chose: routing leaves it there
        self.state = "starting"
        self.partition: str | None = None
        self.last_error: str | None = None
        self._orc = orchestrator
        self._resume = threading.Event()
        self._resume.set()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.done = threading.Event()
        self.backoff = Backoff(pid)

    # -- controls (any thread) ------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def pause(self) -> None:
        self._resume.clear()
        self._wake.set()

    def resume(self) -> None:
        self._resume.set()
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._resume.set()
        self._wake.set()

    def wake(self) -> None:
        """Look again at whether to stay paused (the run's pause-all changed)."""
        self._wake.set()

    # -- the loop (its own thread) --------------------------------------------------------------

    def run(self) -> None:
        try:
            while not self._stop.is_set():
                if not self._resume.is_set() or self._orc.all_paused:
                    self._set_state("paused")
                    self._wait_resumed()
                    continue
                assignment = self._orc.assignment(self)
                if assignment is None:
                    break
                moved = (assignment.arm, assignment.partition) != (self.arm, self.partition)
                self.arm = assignment.arm
                self.partition = assignment.partition
                self._set_state("running", force=moved)
                self._call(assignment)
        finally:
            self._set_state("stopped")
            self.done.set()
            self._orc.producer_finished(self)

    def _wait_resumed(self) -> None:
        """Until resumed or stopped: every control that could end the pause sets `_wake`."""
        while not self._stop.is_set() and (not self._resume.is_set() or self._orc.all_paused):
            self._wake.wait()
            self._wake.clear()

    def _call(self, a: Assignment) -> None:
        clock = self._orc.clock
        call = self._started(a, clock.now())
        if not self._orc.begin(call):  # its row is not stored: the request is not sent
            self._orc.unsent(a)
            return
        t0 = clock.monotonic()
        try:
            reply = a.provider.complete(a.request)
        except ProviderError as exc:
            self._failed(a, exc, call, clock.monotonic() - t0)
            return
        except Exception as exc:  # a provider bug must not kill the producer
            self._failed(a, BadResponse(f"{type(exc).__name__}: {exc}"), call, 0.0)
            return
        if reply.truncated and not reply.text.strip():  # out of tokens before any answer
            empty = BadResponse("the reply was empty: the token limit was reached first")
            self._failed(a, empty, call, clock.monotonic() - t0, reply)
            return
        self.backoff.succeeded()
        if self.last_error is not None:
            self.last_error = None
            self._orc.producer_changed(self)
        call = self._answered(a, call, clock.monotonic() - t0, reply)
        self._orc.submit(self._batch(a, reply, call), a)

    def _batch(self, a: Assignment, reply: Completion, call: CallRecord) -> Batch:
        if a.check is not None:  # a verdict on pending entries
            verdicts, answered = self._orc.verdict(a, reply.text)
            if not answered:
                call.error_kind = "bad_response"
                call.error_message = "the verification reply does not answer: " + repr(
                    reply.text[:200]
                )
            return Batch(call, verdicts=verdicts)
        parsed = parse_reply(reply.text, truncated=reply.truncated)
        lines = [c for c in parsed.candidates if not holds_secret(c)]  # a key is no entry
        if len(lines) < len(parsed.candidates):
            self._orc.secrets_dropped(a, len(parsed.candidates) - len(lines))
        if a.plan:  # subtopics, not entries: the planner takes them
            self._orc.planned(a, lines)
            call.rejected = parsed.rejected + len(parsed.candidates) - len(lines)
            return Batch(call)
        candidates = [f for f in map(forms, lines) if f is not None]
        call.rejected = parsed.rejected + len(parsed.candidates) - len(candidates)
        return Batch(call, candidates)

    def _started(self, a: Assignment, started: float) -> CallRecord:
        """The calls row of `a` before it is sent: in flight, its input tokens estimated."""
        tokens = estimate_tokens(a.request.system + a.request.prompt)
        return CallRecord(
            producer=self.pid,
            provider=a.provider_name,
            model=a.request.model,
            started_at=started,
            partition=a.partition,
            prompt_version=a.prompt_version,
            input_tokens=tokens,
            cost_usd=self._orc.cost(a, tokens, 0),
            context_entries=a.context_entries,
            error_kind=IN_FLIGHT,
            estimated=True,
        )

    def _answered(
        self, a: Assignment, call: CallRecord, latency: float, reply: Completion | None
    ) -> CallRecord:
        """The row of `call` once its reply or error is in: the provider's token counts."""
        tin, tout = (reply.input_tokens, reply.output_tokens) if reply else (0, 0)
        return replace(
            call, latency_s=latency, input_tokens=tin, output_tokens=tout,
            cost_usd=self._orc.cost(a, tin, tout) if reply else None, error_kind=None,
            estimated=False,
            finish_reason=reply.finish_reason if reply else None,
        )  # fmt: skip

    def _failed(
        self,
        a: Assignment,
        exc: ProviderError,
        call: CallRecord,
        latency: float,
        reply: Completion | None = None,
    ) -> None:
        call = self._answered(a, call, latency, reply)
        call.error_kind = exc.kind
        call.error_message = str(exc)[:500]
        self.last_error = f"{exc.kind}: {exc}"[:200]
        self._orc.producer_changed(self)
        verdicts = self._orc.verdict(a, None)[0] if a.check is not None else None
        self._orc.submit(Batch(call, verdicts=verdicts), a)
        self._orc.provider_failed(self, a, exc)
        wait = self.backoff.failed(exc)
        if wait is not None:
            state, seconds = wait
            self._set_state(state)
            self._sleep(seconds)

    def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        self._orc.clock.sleep(seconds, self._stop)

    def _set_state(self, state: str, force: bool = False) -> None:
        if force or state != self.state:
            self.state = state
            self._orc.producer_changed(self)
