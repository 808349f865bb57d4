"""The run's records, as the engine makes them and the store keeps them: entry states, calls,
batches, runs, partitions, and the database's one time format. The engine owns them; the
store (igentai_tui.store) imports them from here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from igentai_tui.engine.normalize import Forms

# Entry states (entries.status): a new entry is PENDING until verification confirms or rejects
# it (or it is found to name an entry already there: MERGED into it). Runs before migration 6,
# and runs without verification, store CONFIRMED entries.
PENDING, CONFIRMED, REJECTED, MERGED = "pending", "confirmed", "rejected", "merged"
STATUSES = (CONFIRMED, PENDING, REJECTED, MERGED)

# `calls.error_kind` of a request sent and not answered yet, and of one whose answer never came
# because its run stopped or died: both keep the input tokens estimated before sending.
IN_FLIGHT = "in_flight"
INTERRUPTED = "interrupted"
INTERRUPTED_MESSAGE = "no reply: the run stopped or crashed while the request was in flight"


def utc_iso(ts: float | None = None) -> str:
    """ISO-8601 UTC with milliseconds, the one time format of the database."""
    dt = datetime.now(UTC) if ts is None else datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_utc(text: str) -> float:
    """The POSIX time of a database timestamp (see `utc_iso`)."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


@dataclass(slots=True)
class CallRecord:
    """One LLM request, as the calls table stores it.

    Written first before the request is sent (`id` None, error_kind `IN_FLIGHT`, input tokens
    `estimated`), then again, under the id that got, when the reply or the error is in.
    """

    producer: int
    provider: str
    model: str
    started_at: float
    partition: str | None = None
    prompt_version: str | None = None
    latency_s: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    context_entries: int = 0
    finish_reason: str | None = None
    rejected: int = 0
    error_kind: str | None = None
    error_message: str | None = None
    estimated: bool = False  # input_tokens is igentai's estimate, not the provider's count
    id: int | None = None  # the calls row, once it has one


@dataclass(slots=True)
class Verdicts:
    """Entry states a call decided: ids confirmed, rejected, and (id, into) merged; what its
    answers taught: (frames, same?) and (key of another name, entry id); and (id, text) of
    confirmed entries shown without their qualifier ("Georgia" for "Georgia (country)")."""

    confirmed: Sequence[int] = ()
    rejected: Sequence[int] = ()
    merged: Sequence[tuple[int, int]] = ()
    frames: Sequence[tuple[str, bool]] = ()
    others: Sequence[tuple[str, int]] = ()
    texts: Sequence[tuple[int, str]] = ()


# What verification taught a run: (frames, same, different) and (key of another name, entry)
Learned = tuple[list[tuple[str, int, int]], list[tuple[str, int]]]
# A pending entry read back on resume: id, text, key, partition, provider:model, the request
# that proposed it (None: not known), and that request's entries checked, and rejected.
PendingRow = tuple[int, str, str, str | None, str, int | None, int, int]


@dataclass(slots=True)
class Batch:
    """A call, the candidates its reply yielded, and the entry states it decided."""

    call: CallRecord
    candidates: Sequence[Forms] = ()
    verdicts: Verdicts | None = None


@dataclass(slots=True)
class NewEntry:
    id: int
    text: str
    key: str


@dataclass(slots=True)
class BatchOutcome:
    """What one batch did: its call id, the entries that were new, and the duplicates."""

    call_id: int
    new: list[NewEntry] = field(default_factory=list)
    dup_exact: int = 0
    dup_variant: int = 0
    # (times proposed before, after) for every entry the batch touched; 0 before = new.
    count_changes: list[tuple[int, int]] = field(default_factory=list)
    pending_hits: list[int] = field(default_factory=list)  # pending entries proposed again


@dataclass(frozen=True, slots=True)
class RunRow:
    id: int
    uid: str
    topic: str
    settings: dict[str, Any]
    status: str
    stop_reason: str | None
    started_at: str
    ended_at: str | None
    output_path: str | None


@dataclass(frozen=True, slots=True)
class PartitionRow:
    """A partition of a run's topic, as the partitions table stores it."""

    name: str  # "" for the whole topic
    parent: str | None
    kind: str  # topic, subtopic, letter
    depth: int
    status: str  # active, split_pending, split, retired
    requests: int = 0
    returned: int = 0
    new: int = 0
    tokens: int = 0
    recent_yield: float | None = None


@dataclass(frozen=True, slots=True)
class RunState:
    """A stored run's figures, for resuming it."""

    proposal_counts: list[tuple[int, int]]  # (times proposed, entries)
    requests: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    partitions: list[PartitionRow]
    seen: list[tuple[str, str, str, int]]  # (partition, text, loose, times proposed)
    states: list[tuple[str, int]] = field(default_factory=list)  # (status, entries)
    checks: int = 0  # verification requests among `requests`
    # (partition, entries verification decided, of them rejected, of them merged)
    verdicts: list[tuple[str | None, int, int, int]] = field(default_factory=list)
