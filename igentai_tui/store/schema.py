"""The schema: named migrations, applied in order, each in one transaction; the version check.

`schema_migrations` holds one row per migration applied (its number, its name, when). A
migration is applied by number, once, whatever else a file already has: a branch's migration
applies independently of the others. A file whose highest number is above this igentai's is
refused rather than misread (`applied_migrations`, the one place the version is checked).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import NamedTuple

from igentai_tui.engine.records import utc_iso
from igentai_tui.store.files import StoreError
from igentai_tui.store.transaction import transaction


class Migration(NamedTuple):
    """One step of the schema: its name (stored as `description`) and its statements, one SQL
    statement each, applied together in one transaction."""

    name: str
    statements: tuple[str, ...]


# Migration N is MIGRATIONS[N - 1]. Never edit or reorder one that has shipped; add another.
MIGRATIONS: list[Migration] = [
    Migration(
        "runs, entries, calls",
        (
            """
            CREATE TABLE runs (
                id INTEGER PRIMARY KEY,
                uid TEXT NOT NULL UNIQUE,
                topic TEXT NOT NULL,
                settings TEXT NOT NULL,
                status TEXT NOT NULL,
                stop_reason TEXT,
                started_at TEXT NOT NULL,
                ended_at TEXT,
                output_path TEXT
            )
            """,
            """
            CREATE TABLE calls (
                id INTEGER PRIMARY KEY,
                run_id INTEGER NOT NULL REFERENCES runs(id),
                producer INTEGER NOT NULL,
                provider TEXT NOT NULL,
                model TEXT NOT NULL,
                partition TEXT,
                prompt_version TEXT,
                started_at TEXT NOT NULL,
                latency_s REAL,
                input_tokens INTEGER NOT NULL DEFAULT 0,
                output_tokens INTEGER NOT NULL DEFAULT 0,
                cost_usd REAL,
                context_entries INTEGER NOT NULL DEFAULT 0,
                finish_reason TEXT,
                returned INTEGER NOT NULL DEFAULT 0,
                new INTEGER NOT NULL DEFAULT 0,
                dup_exact INTEGER NOT NULL DEFAULT 0,
                dup_variant INTEGER NOT NULL DEFAULT 0,
                rejected INTEGER NOT NULL DEFAULT 0,
                error_kind TEXT,
                error_message TEXT
            )
            """,
            "CREATE INDEX calls_run ON calls(run_id, id)",
            """
            CREATE TABLE entries (
                id INTEGER PRIMARY KEY,
                run_id INTEGER NOT NULL REFERENCES runs(id),
                key TEXT NOT NULL,
                loose TEXT NOT NULL,
                text TEXT NOT NULL,
                partition TEXT,
                first_call_id INTEGER REFERENCES calls(id),
                first_producer INTEGER,
                first_provider TEXT,
                first_model TEXT,
                first_seen TEXT NOT NULL,
                times_proposed INTEGER NOT NULL DEFAULT 1,
                UNIQUE (run_id, key)
            )
            """,
            "CREATE INDEX entries_loose ON entries(run_id, loose)",
        ),
    ),
    Migration(
        "partitions",
        (
            """
            CREATE TABLE partitions (
                id INTEGER PRIMARY KEY,
                run_id INTEGER NOT NULL REFERENCES runs(id),
                name TEXT NOT NULL,
                parent TEXT,
                kind TEXT NOT NULL,
                depth INTEGER NOT NULL,
                status TEXT NOT NULL,
                requests INTEGER NOT NULL DEFAULT 0,
                returned INTEGER NOT NULL DEFAULT 0,
                new INTEGER NOT NULL DEFAULT 0,
                tokens INTEGER NOT NULL DEFAULT 0,
                recent_yield REAL,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                UNIQUE (run_id, name)
            )
            """,
        ),
    ),
    Migration(
        "routing: each arm's share of requests when routing moved traffic, and why",
        (
            """
            CREATE TABLE IF NOT EXISTS routing (
                id INTEGER PRIMARY KEY,
                run_id INTEGER NOT NULL REFERENCES runs(id),
                at TEXT NOT NULL,
                arm TEXT NOT NULL,
                share REAL NOT NULL,
                score REAL,
                unit TEXT,
                reason TEXT NOT NULL
            )
            """,
            "CREATE INDEX IF NOT EXISTS routing_run ON routing(run_id, id)",
        ),
    ),
    Migration(
        "sessions: each start and resume of a run",
        (
            """
            CREATE TABLE sessions (
                id INTEGER PRIMARY KEY,
                run_id INTEGER NOT NULL REFERENCES runs(id),
                started_at TEXT NOT NULL,
                ended_at TEXT,
                status TEXT,
                stop_reason TEXT
            )
            """,
            "CREATE INDEX sessions_run ON sessions(run_id, id)",
            """
            INSERT INTO sessions (run_id, started_at, ended_at, status, stop_reason)
                SELECT id, started_at, ended_at, status, stop_reason FROM runs
            """,
        ),
    ),
    Migration(
        "calls: a row for each request before it is sent; estimated input tokens",
        ("ALTER TABLE calls ADD COLUMN estimated INTEGER NOT NULL DEFAULT 0",),
    ),
    Migration(
        "entries: pending, confirmed, rejected or merged; the call that decided; merges",
        (
            "ALTER TABLE entries ADD COLUMN status TEXT NOT NULL DEFAULT 'confirmed'",
            "ALTER TABLE entries ADD COLUMN decided_call_id INTEGER REFERENCES calls(id)",
            "ALTER TABLE entries ADD COLUMN merged_into INTEGER REFERENCES entries(id)",
            "CREATE INDEX entries_status ON entries(run_id, status, id)",
        ),
    ),
    Migration(
        "runs: the estimated number of real entries when the run last ended",
        ("ALTER TABLE runs ADD COLUMN estimated_total REAL",),
    ),
    Migration(
        # loose is a function of key, so (run_id, loose, key) is unique exactly when
        # (run_id, key) is: one index where there were two, a random page less per new entry.
        "entries: one unique index on (run_id, loose, key) for lookups and uniqueness",
        (
            """
            CREATE TABLE entries_new (
                id INTEGER PRIMARY KEY,
                run_id INTEGER NOT NULL REFERENCES runs(id),
                key TEXT NOT NULL,
                loose TEXT NOT NULL,
                text TEXT NOT NULL,
                partition TEXT,
                first_call_id INTEGER REFERENCES calls(id),
                first_producer INTEGER,
                first_provider TEXT,
                first_model TEXT,
                first_seen TEXT NOT NULL,
                times_proposed INTEGER NOT NULL DEFAULT 1,
                status TEXT NOT NULL DEFAULT 'confirmed',
                decided_call_id INTEGER REFERENCES calls(id),
                merged_into INTEGER REFERENCES entries_new(id)  -- renamed with the table
            )
            """,
            "INSERT INTO entries_new SELECT id, run_id, key, loose, text, partition, "
            "first_call_id, first_producer, first_provider, first_model, first_seen, "
            "times_proposed, status, decided_call_id, merged_into FROM entries",
            "DROP TABLE entries",
            "ALTER TABLE entries_new RENAME TO entries",
            "CREATE UNIQUE INDEX entries_key ON entries(run_id, loose, key)",
            "CREATE INDEX entries_status ON entries(run_id, status, id)",
        ),
    ),
    Migration(
        "frame_answers, other_names: what verification taught a run, kept for a resume",
        (
            """
            CREATE TABLE frame_answers (
                run_id INTEGER NOT NULL REFERENCES runs(id),
                frames TEXT NOT NULL,
                same INTEGER NOT NULL DEFAULT 0,
                different INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (run_id, frames)
            ) WITHOUT ROWID
            """,
            """
            CREATE TABLE other_names (
                run_id INTEGER NOT NULL REFERENCES runs(id),
                key TEXT NOT NULL,
                entry_id INTEGER NOT NULL REFERENCES entries(id),
                PRIMARY KEY (run_id, key)
            ) WITHOUT ROWID
            """,
        ),
    ),
]
SCHEMA_VERSION = len(MIGRATIONS)


def applied_migrations(db: sqlite3.Connection, path: Path) -> set[int]:
    """The numbers of the migrations `db` has (none for a new file); StoreError when a newer
    igentai wrote it."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "schema_migrations" not in tables:
        return set()
    applied = {r[0] for r in db.execute("SELECT version FROM schema_migrations")}
    if (version := max(applied, default=0)) > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer igentai (schema v{version}; this one knows "
            f"v{SCHEMA_VERSION}): upgrade igentai to read it"
        )
    return applied


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Apply the migrations `db` lacks, in order, each with its `schema_migrations` row in one
    transaction (`db` in autocommit mode: isolation_level None)."""
    applied = applied_migrations(db, path)
    for version, (name, statements) in enumerate(MIGRATIONS, 1):
        if version in applied:
            continue
        with transaction(db):
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                "description TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            for statement in statements:
                db.execute(statement)
            db.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (version, name, utc_iso()))
