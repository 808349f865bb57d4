"""What a run is asked to do, and what it ended with: arms, limits, settings, the result."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from igentai_tui.engine.metrics import Snapshot
from igentai_tui.engine.records import RunRow


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
