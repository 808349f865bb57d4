"""What the engine asks of the database and of the output file: `Storage`, which
`igentai_tui.store.Store` implements, and `Output`, which `igentai_tui.output.OutputFile` does.
The engine names only these (and its records, records.py), so that it depends on neither; they
depend on the engine's types instead."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from igentai_tui.engine.records import (
    CONFIRMED,
    Batch,
    BatchOutcome,
    CallRecord,
    Learned,
    PartitionRow,
    PendingRow,
    RunRow,
    RunState,
    Verdicts,
)


class Storage(Protocol):
    """A run's database, as the orchestrator uses it (docs/schema.md)."""

    start_error: Exception | None  # why the last `start_call` failed

    async def create_run(
        self, topic: str, settings: dict[str, Any], output_path: str | None, started_at: float
    ) -> RunRow: ...

    async def reopen_run(self, run_id: int, settings: dict[str, Any], at: float) -> RunRow: ...

    def lock_run(self, run: RunRow) -> None: ...

    def release_reserve(self) -> None: ...

    async def run_state(self, run_id: int, seen_per_partition: int) -> RunState: ...

    async def idle_since(self, run_id: int) -> str | None: ...

    async def finish_run(
        self,
        run_id: int,
        status: str,
        stop_reason: str,
        ended_at: float,
        estimated_total: float | None = None,
    ) -> None: ...

    def start_call(self, run_id: int, call: CallRecord, committed: threading.Event) -> None: ...

    async def record(
        self,
        run_id: int,
        batches: Sequence[Batch],
        *,
        max_new: int | None = None,
        status: str = CONFIRMED,
    ) -> list[BatchOutcome]: ...

    async def decide(self, run_id: int, verdicts: Verdicts, call_id: int | None = None) -> None: ...

    async def pending_entries(self, run_id: int) -> list[PendingRow]: ...

    async def confirmed_keys(self, run_id: int, limit: int) -> list[tuple[int, str, str]]: ...

    async def entry_texts(self, run_id: int) -> list[str]: ...

    async def learned(self, run_id: int) -> Learned: ...

    async def interrupt_calls(self, run_id: int) -> list[CallRecord]: ...

    async def save_partitions(
        self, run_id: int, rows: Sequence[PartitionRow], at: float
    ) -> None: ...

    async def record_routing(self, run_id: int, at: float, decisions: Sequence[Any]) -> None: ...


class OutputError(Exception):
    """The output file cannot be written; the message names the path."""


class Output(Protocol):
    """output.txt, as the orchestrator writes it: appended after each commit, synced at the end;
    `OutputError` when it cannot be written."""

    path: Path

    def append(self, texts: Iterable[str]) -> None: ...

    def sync(self) -> None: ...
