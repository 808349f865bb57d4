"""What front ends receive from the orchestrator. Plain frozen data; no engine objects.

Subscribers are called on the orchestrator's event loop and must return at once (post a
message, append to a deque); a subscriber that raises is dropped with a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from igentai_tui.engine.metrics import Snapshot


@dataclass(frozen=True, slots=True)
class FoundEntry:
    text: str
    producer: int
    arm: str
    partition: str | None


@dataclass(frozen=True, slots=True)
class NewEntries:
    entries: tuple[FoundEntry, ...]


@dataclass(frozen=True, slots=True)
class MetricsUpdated:
    snapshot: Snapshot


@dataclass(frozen=True, slots=True)
class RunStarted:
    """The run's row exists (new or resumed): its id in the database and its uid."""

    run_id: int
    uid: str


@dataclass(frozen=True, slots=True)
class ProducerState:
    """A producer as it is now: its state (starting, running, paused, backing_off,
    rate_limited, stopped), where it works, its last error (None after a success), whether it
    was paused on its own (`paused`) and whether it was told to stop (`stopping`). Published on
    every change, the controls' included."""

    producer: int
    state: str
    arm: str
    partition: str | None = None
    last_error: str | None = None
    paused: bool = False
    stopping: bool = False


@dataclass(frozen=True, slots=True)
class AllPaused:
    """Every producer was paused (`paused`), or resumed."""

    paused: bool


@dataclass(frozen=True, slots=True)
class Notice:
    """A warning or information line for the status area."""

    message: str
    level: str = "warning"
    until_end: bool = False  # progress towards the end ("checking the entries…"): stale once
    # the run has ended


@dataclass(frozen=True, slots=True)
class RunEnded:
    status: str  # completed, stopped, failed
    reason: str


Event = RunStarted | NewEntries | MetricsUpdated | ProducerState | AllPaused | Notice | RunEnded
Subscriber = Callable[[Event], None]
