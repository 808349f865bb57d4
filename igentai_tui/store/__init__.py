"""The SQLite store: runs, entries and calls; the single place uniqueness is decided.

database.py (the `Store`: one connection on one worker thread), ingest.py (the batch insert
that decides what is new), schema.py (named migrations), locks.py (run locks), files.py
(path checks, error messages). The records it reads and writes are the engine's
(engine/records.py), re-exported here.
"""

from igentai_tui.engine.records import (
    CONFIRMED,
    IN_FLIGHT,
    INTERRUPTED,
    INTERRUPTED_MESSAGE,
    MERGED,
    PENDING,
    REJECTED,
    STATUSES,
    Batch,
    BatchOutcome,
    CallRecord,
    NewEntry,
    PartitionRow,
    RunRow,
    RunState,
    Verdicts,
    parse_utc,
    utc_iso,
)
from igentai_tui.store.database import BUSY_TIMEOUT_MS, CACHE_KIB, WRITER_PRAGMAS, Store
from igentai_tui.store.files import StoreError, explain_error
from igentai_tui.store.locks import RESERVE_BYTES
from igentai_tui.store.schema import MIGRATIONS, SCHEMA_VERSION, Migration, applied_migrations

__all__ = [
    "BUSY_TIMEOUT_MS",
    "CACHE_KIB",
    "CONFIRMED",
    "INTERRUPTED",
    "INTERRUPTED_MESSAGE",
    "IN_FLIGHT",
    "MERGED",
    "MIGRATIONS",
    "PENDING",
    "REJECTED",
    "RESERVE_BYTES",
    "SCHEMA_VERSION",
    "STATUSES",
    "WRITER_PRAGMAS",
    "Batch",
    "BatchOutcome",
    "CallRecord",
    "Migration",
    "NewEntry",
    "PartitionRow",
    "RunRow",
    "RunState",
    "Store",
    "StoreError",
    "Verdicts",
    "applied_migrations",
    "explain_error",
    "parse_utc",
    "utc_iso",
]
