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
class ProducerState:
    """A producer's state: running, paused, backing_off, rate_limited, stopping, stopped."""

    producer: int
    state: str
    arm: str
    partition: str | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """A warning or information line for the status area."""

    message: str
    level: str = "warning"


@dataclass(frozen=True, slots=True)
class RunEnded:
    status: str  # completed, stopped, failed
    reason: str


Event = NewEntries | MetricsUpdated | ProducerState | Notice | RunEnded
Subscriber = Callable[[Event], None]
