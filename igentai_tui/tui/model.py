"""What the run screen shows, coalesced from engine events between two refreshes.

`RunModel` is the app's only subscriber. It is called on the app's event loop for every
event and only stores what arrived (O(1) per event); the run screen reads it at a fixed rate.
Nothing here imports Textual.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from igentai_tui.engine.events import (
    AllPaused,
    Event,
    FoundEntry,
    MetricsUpdated,
    NewEntries,
    Notice,
    ProducerState,
    RunEnded,
    RunStarted,
)
from igentai_tui.engine.metrics import Snapshot
from igentai_tui.engine.settings import Limits

BUCKET_S = 5.0
CURVE_MAX = 2000  # points the discovery curve keeps (every other one dropped past it)
MARGINAL_TOKENS = 1000  # "last 1,000 tokens: N new"
RECENT_MAX = 200
NOTICES_MAX = 50


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What the run is, as fixed when it starts."""

    topic: str
    arms: tuple[str, ...]
    limits: Limits
    db: Path
    output: Path
    producers: int = 5
    note: str = ""
    uid: str = ""
    routing: str = ""  # e.g. "adaptive, per cost"

    @property
    def sim_only(self) -> bool:
        """True when every provider:model is the embedded simulator (no real LLM)."""
        return all(a.split(":", 1)[0] == "sim" for a in self.arms)


@dataclass(frozen=True, slots=True)
class ProducerRow:
    """One producer, as the producers panel shows it."""

    pid: int
    state: str  # running, pausing, paused, backing off, rate-limited, finishing, stopped...
    arm: str
    partition: str | None
    requests: int
    new: int
    per_min: int
    last_error: str | None
    live: bool  # not removed or stopped
    paused: bool  # paused on its own (not by "pause all")


@dataclass(slots=True)
class Series:
    """New entries per provider:model in fixed buckets of run time, from cumulative counts."""

    bucket_s: float = BUCKET_S
    buckets: list[dict[str, int]] = field(default_factory=list)
    _seen: dict[str, int] = field(default_factory=dict)

    def add(self, snap: Snapshot) -> None:
        """Credit what each arm found since the previous snapshot to the current bucket."""
        index = max(0, math.floor(snap.elapsed_s / self.bucket_s))
        while len(self.buckets) <= index:
            self.buckets.append({})
        bucket = self.buckets[index]
        for arm, view in snap.arms.items():
            delta = view.new - self._seen.get(arm, 0)
            if delta > 0:
                bucket[arm] = bucket.get(arm, 0) + delta
            self._seen[arm] = view.new


@dataclass(slots=True)
class Discovery:
    """The discovery curve: confirmed entries against tokens, cost and elapsed seconds, one
    point a snapshot that changed them (bounded: past `CURVE_MAX` points every other one is
    dropped, the newest kept)."""

    tokens: list[float] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    confirmed: list[int] = field(default_factory=list)
    arms: dict[str, list[int]] = field(default_factory=dict)  # confirmed, of those it found

    def add(self, snap: Snapshot) -> None:
        t = snap.total
        tokens = float(t.input_tokens + t.output_tokens)
        if self.tokens and (tokens, snap.confirmed) == (self.tokens[-1], self.confirmed[-1]):
            return
        for arm in snap.arms:
            self.arms.setdefault(arm, [0] * len(self.tokens))
        self.tokens.append(tokens)
        self.cost.append(t.cost_usd or 0.0)
        self.time.append(snap.elapsed_s)
        self.confirmed.append(snap.confirmed)
        for arm, values in self.arms.items():
            view = snap.arms.get(arm)
            values.append(view.confirmed if view is not None else values[-1] if values else 0)
        if len(self.tokens) > CURVE_MAX:
            for name in ("tokens", "cost", "time", "confirmed"):
                setattr(self, name, _halve(getattr(self, name)))
            self.arms = {arm: _halve(values) for arm, values in self.arms.items()}

    def axis(self, name: str) -> list[float]:
        """The x values of one axis: tokens, cost or time."""
        return {"tokens": self.tokens, "cost": self.cost, "time": self.time}[name]

    def marginal(self, window: float = MARGINAL_TOKENS) -> int | None:
        """Entries confirmed over the last `window` tokens (None before that many)."""
        since = self.tokens[-1] - window if self.tokens else 0.0
        i = next((k for k in range(len(self.tokens) - 1, -1, -1) if self.tokens[k] <= since), None)
        return None if i is None else self.confirmed[-1] - self.confirmed[i]


def _halve(values: list[Any]) -> list[Any]:
    """Every other value, the newest kept."""
    return [*values[-2::-2][::-1], values[-1]]


class RunModel:
    """The coalescing subscriber: latest snapshot, recent entries, each producer's state, the
    run's identity and pause, notices, series. The run screen's only source of what it shows."""

    def __init__(self, recent_max: int = RECENT_MAX) -> None:
        self.snapshot: Snapshot | None = None
        self.recent: deque[FoundEntry] = deque(maxlen=recent_max)
        self.found = 0
        self.states: dict[int, ProducerState] = {}
        self.notices: deque[Notice] = deque(maxlen=NOTICES_MAX)
        self.series = Series()
        self.discovery = Discovery()
        self.run: RunStarted | None = None
        self.all_paused = False
        self.ended: RunEnded | None = None
        self.version = 0

    def __call__(self, event: Event) -> None:
        self.version += 1
        if isinstance(event, NewEntries):
            self.recent.extend(event.entries)
            self.found += len(event.entries)
        elif isinstance(event, MetricsUpdated):
            self.snapshot = event.snapshot
            self.series.add(event.snapshot)
            self.discovery.add(event.snapshot)
        elif isinstance(event, ProducerState):
            self.states[event.producer] = event
        elif isinstance(event, Notice):
            self.notices.append(event)
        elif isinstance(event, AllPaused):
            self.all_paused = event.paused
        elif isinstance(event, RunStarted):
            self.run = event
        elif isinstance(event, RunEnded):
            self.ended = event

    @property
    def last_notice(self) -> Notice | None:
        """The newest notice, unless it told of the run's end and the run has ended."""
        notice = self.notices[-1] if self.notices else None
        return None if notice is not None and notice.until_end and self.ended else notice
