"""The SQLite store: runs, entries and calls; the single place uniqueness is decided.

One writer (the orchestrator) through aiosqlite; WAL so that readers in other processes can
query at any time. Uniqueness is a UNIQUE index on (run_id, key); near-duplicates share an
indexed `loose` signature, so checking a candidate is an index lookup, never a scan.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import aiosqlite

from igentai_tui.engine.normalize import Forms

# Each migration: (version, description, SQL). Never edit one that has shipped; add another.
MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "runs, entries, calls",
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
        );
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
        );
        CREATE INDEX calls_run ON calls(run_id, id);
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
        );
        CREATE INDEX entries_loose ON entries(run_id, loose);
        """,
    ),
    (
        2,
        "partitions",
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
        );
        """,
    ),
    (
        3,
        "routing: each arm's share of requests when routing moved traffic, and why",
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
        );
        CREATE INDEX IF NOT EXISTS routing_run ON routing(run_id, id);
        """,
    ),
    (
        4,
        "sessions: each start and resume of a run",
        """
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            started_at TEXT NOT NULL,
            ended_at TEXT,
            status TEXT,
            stop_reason TEXT
        );
        CREATE INDEX sessions_run ON sessions(run_id, id);
        INSERT INTO sessions (run_id, started_at, ended_at, status, stop_reason)
            SELECT id, started_at, ended_at, status, stop_reason FROM runs;
        """,
    ),
    (
        5,
        "calls: a row for each request before it is sent; estimated input tokens",
        """
        ALTER TABLE calls ADD COLUMN estimated INTEGER NOT NULL DEFAULT 0;
        """,
    ),
    (
        6,
        "entries: pending, confirmed, rejected or merged; the call that decided; merges",
        """
        ALTER TABLE entries ADD COLUMN status TEXT NOT NULL DEFAULT 'confirmed';
        ALTER TABLE entries ADD COLUMN decided_call_id INTEGER REFERENCES calls(id);
        ALTER TABLE entries ADD COLUMN merged_into INTEGER REFERENCES entries(id);
        CREATE INDEX entries_status ON entries(run_id, status, id);
        """,
    ),
    (
        7,
        "runs: the estimated number of real entries when the run last ended",
        """
        ALTER TABLE runs ADD COLUMN estimated_total REAL;
        """,
    ),
]
# Entry states (entries.status): a new entry is PENDING until verification confirms or rejects
# it (or it is found to name an entry already there: MERGED into it). Runs before migration 6,
# and runs without verification, store CONFIRMED entries.
PENDING, CONFIRMED, REJECTED, MERGED = "pending", "confirmed", "rejected", "merged"
STATUSES = (CONFIRMED, PENDING, REJECTED, MERGED)
# Migrations are applied by number, each once, whatever else a file already has: a branch's
# migration applies independently of the others.
SCHEMA_VERSION = max(number for number, _, _ in MIGRATIONS)

# Page cache of the writer: big enough that the key indexes of a 1M-entry run stay in memory.
CACHE_KIB = 64 * 1024
# How the writer's connection reads and writes (the ingest benchmark's raw insert uses them too).
WRITER_PRAGMAS = (
    "journal_mode = WAL",
    "synchronous = NORMAL",
    f"cache_size = -{CACHE_KIB}",
    "wal_autocheckpoint = 10000",
)

# Prepared statements kept per connection. The batch insert and lookup have one SQL text per
# batch size, each up to a few MB when prepared for thousands of parameters: Python's default
# of 128 grew the writer by 100-200 MB over a 1M-entry run (docs/reliability.md, Load).
_CACHED_STATEMENTS = 8

# SQLite's default limit on bound parameters is 32766 (since 3.32); stay well under it.
_MAX_PARAMS = 30_000
BUSY_TIMEOUT_MS = 5000  # how long a locked database is waited for before giving up
# Disk space a run holds back (in `<db>.locks`) and gives back when it ends, so that the rows
# that end it (its status, the calls still in flight) can be written on a disk it filled.
RESERVE_BYTES = 1024 * 1024

# `calls.error_kind` of a request sent and not answered yet, and of one whose answer never came
# because its run stopped or died: both keep the input tokens estimated before sending.
IN_FLIGHT = "in_flight"
INTERRUPTED = "interrupted"
INTERRUPTED_MESSAGE = "no reply: the run stopped or crashed while the request was in flight"


class StoreError(Exception):
    """A database problem with a one-line, user-facing message naming the path."""


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
    """Entry states a call decided: ids confirmed, rejected, and (id, into) merged."""

    confirmed: Sequence[int] = ()
    rejected: Sequence[int] = ()
    merged: Sequence[tuple[int, int]] = ()


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


def _chunks(seq: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


class Store:
    """The igentai database. Open with `await Store.open(path)`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._locks: IO[bytes] | None = None
        self._starts: list[tuple[int, CallRecord, threading.Event]] = []
        self._starts_lock = threading.Lock()
        self.start_error: Exception | None = None  # why the last `start_call` failed

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path | str, *, create: bool = True) -> Store:
        """Open (and create or migrate) the database at `path`; StoreError on any problem."""
        path = Path(path).expanduser()
        _check_path(path, create)
        try:
            conn = await aiosqlite.connect(
                path, isolation_level=None, cached_statements=_CACHED_STATEMENTS
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from None
        store = cls(conn, path)
        try:
            await store._setup()
        except StoreError:
            await conn.close()
            raise
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise StoreError(explain_error(path, exc)) from None
        return store

    async def _setup(self) -> None:
        c = self._conn
        await c.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Reading the schema first tells "not a database" apart from a lock or permissions.
        tables = {r[0] for r in await c.execute_fetchall("SELECT name FROM sqlite_master")}
        if tables and "schema_migrations" not in tables:
            raise StoreError(f"{self.path} is an SQLite database but not an igentai one")
        for pragma in (*WRITER_PRAGMAS, "foreign_keys = ON"):
            await c.execute(f"PRAGMA {pragma}")
        await self._check_writable()
        await self._migrate(bool(tables))

    async def _check_writable(self) -> None:
        """Fail at the start, not at the run's first write, when the file cannot be written (a
        read-only file or file system): a write in a transaction that is rolled back."""
        c = self._conn
        await c.execute("BEGIN IMMEDIATE")
        try:
            version = next(iter(await c.execute_fetchall("PRAGMA user_version")))[0]
            await c.execute(f"PRAGMA user_version = {int(version)}")
        finally:
            with contextlib.suppress(sqlite3.Error):  # keep the write's error, not ROLLBACK's
                await c.execute("ROLLBACK")

    async def _migrate(self, existing: bool) -> None:
        c = self._conn
        applied: set[int] = set()
        if existing:
            rows = await c.execute_fetchall("SELECT version FROM schema_migrations")
            applied = {r[0] for r in rows}
        version = max(applied, default=0)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer igentai (schema v{version}; this one knows "
                f"v{SCHEMA_VERSION}): upgrade igentai to read it"
            )
        if applied >= {number for number, _, _ in MIGRATIONS}:
            return
        await c.execute("BEGIN IMMEDIATE")
        try:
            await c.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                "description TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            for number, description, sql in MIGRATIONS:
                if number not in applied:
                    for statement in filter(str.strip, sql.split(";")):
                        await c.execute(statement)
                    await c.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                        (number, description, utc_iso()),
                    )
            await c.execute("COMMIT")
        except BaseException:
            await c.execute("ROLLBACK")
            raise

    async def close(self) -> None:
        await self._conn.close()
        if self._locks is not None:
            self._locks.close()  # releases the run locks
            self._locks = None

    @property
    def connection(self) -> aiosqlite.Connection:
        """The underlying connection, for read queries by the commands."""
        return self._conn

    # -- runs --------------------------------------------------------------------------------

    async def create_run(
        self, topic: str, settings: dict[str, Any], output_path: str | None, started_at: float
    ) -> RunRow:
        uid = secrets.token_hex(6)
        cur = await self._conn.execute(
            "INSERT INTO runs (uid, topic, settings, status, started_at, output_path) "
            "VALUES (?, ?, ?, 'running', ?, ?)",
            (uid, topic, json.dumps(settings, sort_keys=True), utc_iso(started_at), output_path),
        )
        run = await self.get_run(cur.lastrowid or 0)
        assert run is not None
        await self._start_session(run.id, started_at)
        return run

    async def _start_session(self, run_id: int, at: float) -> None:
        await self._conn.execute(
            "INSERT INTO sessions (run_id, started_at) VALUES (?, ?)", (run_id, utc_iso(at))
        )

    async def finish_run(
        self,
        run_id: int,
        status: str,
        stop_reason: str,
        ended_at: float,
        estimated_total: float | None = None,
    ) -> None:
        end = (status, stop_reason, utc_iso(ended_at))
        await self._conn.execute(
            "UPDATE runs SET status = ?, stop_reason = ?, ended_at = ?, "
            "estimated_total = coalesce(?, estimated_total) WHERE id = ?",
            (*end, estimated_total, run_id),
        )
        await self._conn.execute(
            "UPDATE sessions SET status = ?, stop_reason = ?, ended_at = ? "
            "WHERE id = (SELECT max(id) FROM sessions WHERE run_id = ?)",
            (*end, run_id),
        )

    async def get_run(self, run_id: int | str) -> RunRow | None:
        """A run by its id, or by its uid when given a string."""
        column = "uid" if isinstance(run_id, str) else "id"
        rows = await self._conn.execute_fetchall(
            "SELECT id, uid, topic, settings, status, stop_reason, started_at, ended_at, "
            f"output_path FROM runs WHERE {column} = ?",
            (run_id,),
        )
        if not rows:
            return None
        r = next(iter(rows))
        return RunRow(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], r[7], r[8])

    def lock_run(self, run: RunRow) -> None:
        """Hold the run's lock until this process ends; StoreError if another process has it.

        The lock is a POSIX record lock on byte `run.id` of `<db>.locks`: it dies with its
        process, so a crashed run is free to resume. The file also holds `RESERVE_BYTES` of
        disk space until `release_reserve()`.
        """
        if self._locks is None:
            try:
                self._locks = open(f"{self.path}.locks", "a+b")  # noqa: SIM115 - held open
            except OSError as exc:
                msg = f"cannot create lock file {self.path}.locks: {exc.strerror}"
                raise StoreError(msg) from None
            with contextlib.suppress(OSError):  # a disk already full: nothing to hold back
                os.posix_fallocate(self._locks.fileno(), 0, RESERVE_BYTES)
        try:
            fcntl.lockf(self._locks.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB, 1, run.id)
        except OSError:
            raise StoreError(
                f"run {run.uid} is live in another process; stop it first or wait for it to end"
            ) from None

    def release_reserve(self) -> None:
        """Give back the disk space `lock_run` held: for the rows that end a run."""
        if self._locks is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._locks.fileno(), 0)

    async def reopen_run(self, run_id: int, settings: dict[str, Any], at: float) -> RunRow:
        """Mark a stopped or crashed run running again, with its (possibly new) settings, in a
        new session."""
        await self._start_session(run_id, at)
        await self._conn.execute(
            "UPDATE runs SET status = 'running', stop_reason = NULL, ended_at = NULL, "
            "settings = ? WHERE id = ?",
            (json.dumps(settings, sort_keys=True), run_id),
        )
        run = await self.get_run(run_id)
        assert run is not None
        return run

    async def run_state(self, run_id: int, seen_per_partition: int) -> RunState:
        """What a resumed run starts from: counts, proposal frequencies, partitions, and the
        entries each partition found (its `seen_per_partition` most proposed, then newest;
        oldest first)."""
        c = self._conn
        freq = [
            (t, n)
            for t, n in await c.execute_fetchall(
                "SELECT times_proposed, count(*) FROM entries WHERE run_id = ? GROUP BY 1",
                (run_id,),
            )
        ]
        rows = await c.execute_fetchall(
            "SELECT count(*), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), "
            "coalesce(sum(cost_usd), 0) FROM calls WHERE run_id = ?",
            (run_id,),
        )
        parts = await c.execute_fetchall(
            "SELECT name, parent, kind, depth, status, requests, returned, new, tokens, "
            "recent_yield FROM partitions WHERE run_id = ? ORDER BY id",
            (run_id,),
        )
        seen = await c.execute_fetchall(
            "SELECT p, text, loose, times_proposed FROM (SELECT id, coalesce(partition, '') AS p, "
            "text, loose, times_proposed, row_number() OVER (PARTITION BY partition "
            "ORDER BY times_proposed DESC, id DESC) AS rank FROM entries WHERE run_id = ?) "
            "WHERE rank <= ? ORDER BY id",
            (run_id, seen_per_partition),
        )
        states = await c.execute_fetchall(
            "SELECT status, count(*) FROM entries WHERE run_id = ? GROUP BY 1", (run_id,)
        )
        checks = await c.execute_fetchall(
            "SELECT count(*) FROM calls WHERE run_id = ? AND prompt_version LIKE 'verify%'",
            (run_id,),
        )
        requests, tin, tout, cost = next(iter(rows))
        return RunState(
            freq, requests, tin, tout, cost, [PartitionRow(*r) for r in parts],
            [tuple(r) for r in seen],
            [tuple(r) for r in states],
            next(iter(checks))[0],
        )  # fmt: skip

    async def idle_since(self, run_id: int) -> str | None:
        """When a stopped or crashed run was last active: its last session's end, or for a
        crash (no end) the start of its last call or session."""
        rows = await self._conn.execute_fetchall(
            "SELECT coalesce(s.ended_at, max(s.started_at, coalesce((SELECT max(started_at) "
            "FROM calls WHERE run_id = s.run_id), ''))) FROM sessions s WHERE s.run_id = ? "
            "ORDER BY s.id DESC LIMIT 1",
            (run_id,),
        )
        return next(iter(rows))[0] if rows else None

    async def save_partitions(self, run_id: int, rows: Sequence[PartitionRow], at: float) -> None:
        """Insert or update partitions of a run."""
        now = utc_iso(at)
        await self._conn.executemany(
            "INSERT INTO partitions (run_id, name, parent, kind, depth, status, requests, "
            "returned, new, tokens, recent_yield, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id, name) DO UPDATE SET status = excluded.status, "
            "requests = excluded.requests, returned = excluded.returned, new = excluded.new, "
            "tokens = excluded.tokens, recent_yield = excluded.recent_yield, "
            "updated_at = excluded.updated_at",
            [
                (
                    run_id,
                    r.name,
                    r.parent,
                    r.kind,
                    r.depth,
                    r.status,
                    r.requests,
                    r.returned,
                    r.new,
                    r.tokens,
                    r.recent_yield,
                    now,
                    now,
                )
                for r in rows
            ],
        )

    async def entry_texts(self, run_id: int) -> list[str]:
        """The confirmed entries of a run (what output.txt holds), in the order found."""
        rows = await self._conn.execute_fetchall(
            "SELECT text FROM entries WHERE run_id = ? AND status = ? ORDER BY id",
            (run_id, CONFIRMED),
        )
        return [r[0] for r in rows]

    # -- ingest ------------------------------------------------------------------------------

    async def record(
        self,
        run_id: int,
        batches: Sequence[Batch],
        *,
        max_new: int | None = None,
        status: str = CONFIRMED,
    ) -> list[BatchOutcome]:
        """Store calls and their candidates in one transaction; say which entries were new.

        A call without an id gets a new row (and its id set); one with an id updates its row.

        A candidate is a duplicate when an entry of the run has its `loose` signature (exact
        when the keys are equal too, a variant otherwise); duplicates bump `times_proposed`.
        With `max_new`, new entries past that many are not stored (a unique-entry limit).
        New entries get `status` (PENDING when they are to be verified); each batch's
        `verdicts` are applied in the same transaction.
        The whole transaction runs as one call on the connection's thread: one hand-over
        between threads instead of one a statement.
        """
        conn = self._conn
        return await conn._execute(_record, conn._conn, run_id, batches, max_new, status)

    async def decide(self, run_id: int, verdicts: Verdicts, call_id: int | None = None) -> None:
        """Store entry states decided outside a call (agreement between models, a learned
        variant), in one transaction."""
        conn = self._conn
        await conn._execute(_decide, conn._conn, run_id, verdicts, call_id)

    async def pending_entries(self, run_id: int) -> list[tuple[int, str, str | None, str]]:
        """The run's pending entries (id, text, partition, provider:model), oldest first."""
        rows = await self._conn.execute_fetchall(
            "SELECT id, text, partition, first_provider || ':' || first_model FROM entries "
            "WHERE run_id = ? AND status = ? ORDER BY id",
            (run_id, PENDING),
        )
        return [tuple(r) for r in rows]

    def start_call(self, run_id: int, call: CallRecord, committed: threading.Event) -> None:
        """Store `call` as a new row, from any thread; set `committed` once it is (`call.id`
        None if that failed: see `start_error`).

        Runs on the connection's thread without a trip through the event loop, between the
        other transactions; the rows waiting when one is written share its transaction.
        (aiosqlite's worker runs a queued function that has no future since 0.22: the floor
        in pyproject.toml.)
        """
        with self._starts_lock:
            self._starts.append((run_id, call, committed))
        self._conn._tx.put_nowait((None, self._commit_starts))

    def _commit_starts(self) -> None:
        """`start_call`, on the connection's thread: every row waiting, in one transaction."""
        with self._starts_lock:
            starts, self._starts = self._starts, []
        by_run: dict[int, list[Batch]] = {}
        for run_id, call, _ in starts:
            by_run.setdefault(run_id, []).append(Batch(call))
        for run_id, batches in by_run.items():  # one run in practice: one transaction
            try:
                _record(self._conn._conn, run_id, batches, None)
            except Exception as exc:
                self.start_error = exc
                for b in batches:
                    b.call.id = None  # rolled back
        for _, _, committed in starts:
            committed.set()

    async def record_routing(self, run_id: int, at: float, decisions: Sequence[Any]) -> None:
        """Store routing decisions (engine/routing.py `Decision`s), all at wall time `at`."""
        when = utc_iso(at)
        await self._conn.executemany(
            "INSERT INTO routing (run_id, at, arm, share, score, unit, reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(run_id, when, d.arm, d.share, d.score, d.unit, d.reason) for d in decisions],
        )

    async def interrupt_calls(self, run_id: int) -> list[CallRecord]:
        """Mark the run's requests still in flight (their process stopped or died before the
        reply was stored) `INTERRUPTED`, keeping their estimated tokens; return them."""
        rows = await self._conn.execute_fetchall(
            "UPDATE calls SET error_kind = ?, error_message = ? WHERE run_id = ? AND "
            "error_kind = ? RETURNING id, producer, provider, model, started_at, partition, "
            "input_tokens, cost_usd",
            (INTERRUPTED, INTERRUPTED_MESSAGE, run_id, IN_FLIGHT),
        )
        return [
            CallRecord(
                producer, provider, model, parse_utc(at), partition, input_tokens=tin,
                cost_usd=cost, error_kind=INTERRUPTED, error_message=INTERRUPTED_MESSAGE,
                estimated=True, id=cid,
            )
            for cid, producer, provider, model, at, partition, tin, cost in rows
        ]  # fmt: skip


def _record(
    db: sqlite3.Connection,
    run_id: int,
    batches: Sequence[Batch],
    max_new: int | None,
    status: str = CONFIRMED,
) -> list[BatchOutcome]:
    """`Store.record`, on the connection's thread."""
    db.execute("BEGIN IMMEDIATE")
    try:
        outcomes = _store_batches(db, run_id, batches, max_new, status)
        _apply_verdicts(db, run_id, batches, outcomes)
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):  # keep the original error, not ROLLBACK's
            db.execute("ROLLBACK")
        raise
    return outcomes


def _apply_verdicts(
    db: sqlite3.Connection, run_id: int, batches: Sequence[Batch], outcomes: list[BatchOutcome]
) -> None:
    """Write each batch's entry states, with the call that decided them."""
    for b, out in zip(batches, outcomes, strict=True):
        if b.verdicts is not None:
            _write_verdicts(db, run_id, b.verdicts, out.call_id)


def _write_verdicts(
    db: sqlite3.Connection, run_id: int, v: Verdicts, call_id: int | None
) -> None:
    rows: list[tuple[str, int | None, int | None, int, int]] = [
        (CONFIRMED, None, call_id, i, run_id) for i in v.confirmed
    ]
    rows += [(REJECTED, None, call_id, i, run_id) for i in v.rejected]
    rows += [(MERGED, into, call_id, i, run_id) for i, into in v.merged]
    db.executemany(
        "UPDATE entries SET status = ?, merged_into = ?, decided_call_id = ? "
        "WHERE id = ? AND run_id = ?",
        rows,
    )


def _decide(db: sqlite3.Connection, run_id: int, v: Verdicts, call_id: int | None) -> None:
    """`Store.decide`, on the connection's thread."""
    db.execute("BEGIN IMMEDIATE")
    try:
        _write_verdicts(db, run_id, v, call_id)
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):
            db.execute("ROLLBACK")
        raise


def _store_batches(
    db: sqlite3.Connection,
    run_id: int,
    batches: Sequence[Batch],
    max_new: int | None,
    status: str = CONFIRMED,
) -> list[BatchOutcome]:
    next_id = db.execute("SELECT coalesce(max(id), 0) FROM calls").fetchone()[0] + 1
    outcomes = []
    for b in batches:
        if b.call.id is None:
            b.call.id, next_id = next_id, next_id + 1
        outcomes.append(BatchOutcome(b.call.id))

    # Existing entries sharing a loose signature with any candidate.
    looses = list({f.loose for b in batches for f in b.candidates})
    existing: dict[str, list[Any]] = {}  # loose -> [id, key, times_proposed, added, status]
    for chunk in _chunks(looses, _MAX_PARAMS - 1):
        marks = ",".join("?" * len(chunk))
        for eid, key, loose, times, state in db.execute(
            f"SELECT id, key, loose, times_proposed, status FROM entries "
            f"WHERE run_id = ? AND loose IN ({marks})",
            (run_id, *chunk),
        ):
            existing.setdefault(loose, [eid, key, times, 0, state])

    # Decide each candidate in order: duplicate of a stored or earlier entry, or new.
    pending: dict[str, list[Any]] = {}  # loose -> [forms, batch index, added]
    for i, batch in enumerate(batches):
        out = outcomes[i]
        for f in batch.candidates:
            hit = existing.get(f.loose)
            if hit is not None:
                hit[3] += 1
                same = hit[1] == f.key
                if hit[4] == PENDING:
                    out.pending_hits.append(hit[0])
            elif (p := pending.get(f.loose)) is not None:
                p[2] += 1
                same = p[0].key == f.key
            elif max_new is None or len(pending) < max_new:
                pending[f.loose] = [f, i, 0]
                continue
            else:
                continue  # over the unique-entry limit: not stored
            if same:
                out.dup_exact += 1
            else:
                out.dup_variant += 1

    _write_calls(db, run_id, batches, outcomes, pending)

    # Insert the new entries; the UNIQUE key index has the last word.
    now = utc_iso()
    params: list[Any] = []
    for f, i, added in pending.values():
        call = batches[i].call
        params += (
            run_id, f.key, f.loose, f.text, call.partition, outcomes[i].call_id,
            call.producer, call.provider, call.model, now, 1 + added, status,
        )  # fmt: skip
    width = 12
    inserted: dict[str, int] = {}
    for chunk in _chunks(params, (_MAX_PARAMS // width) * width):
        marks = ",".join(["(" + ",".join("?" * width) + ")"] * (len(chunk) // width))
        for eid, key in db.execute(
            "INSERT INTO entries (run_id, key, loose, text, partition, first_call_id, "
            "first_producer, first_provider, first_model, first_seen, times_proposed, status) "
            f"VALUES {marks} ON CONFLICT (run_id, key) DO NOTHING RETURNING id, key",
            chunk,
        ):
            inserted[key] = eid
    for f, i, added in pending.values():
        eid = inserted.get(f.key)
        if eid is None:  # another writer stored this key meanwhile: a duplicate after all
            outcomes[i].dup_exact += 1
            continue
        outcomes[i].new.append(NewEntry(eid, f.text, f.key))
        outcomes[i].count_changes.append((0, 1 + added))

    bumps = [(added, eid) for eid, _key, _times, added, _ in existing.values() if added]
    if bumps:
        db.executemany("UPDATE entries SET times_proposed = times_proposed + ? WHERE id = ?", bumps)
    changes = [(t, t + a) for _eid, _key, t, a, _ in existing.values() if a]
    if outcomes and changes:
        outcomes[0].count_changes.extend(changes)
    return outcomes


_CALL_COLUMNS = (
    "id", "run_id", "producer", "provider", "model", "partition", "prompt_version", "started_at",
    "latency_s", "input_tokens", "output_tokens", "cost_usd", "context_entries", "finish_reason",
    "returned", "new", "dup_exact", "dup_variant", "rejected", "error_kind", "error_message",
    "estimated",
)  # fmt: skip
# The one statement that writes a calls row: a new row, or every column of an existing one.
_WRITE_CALL = (
    f"INSERT INTO calls ({', '.join(_CALL_COLUMNS)}) VALUES ({','.join('?' * len(_CALL_COLUMNS))}) "
    "ON CONFLICT (id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in _CALL_COLUMNS[1:])
)


def _write_calls(
    db: sqlite3.Connection,
    run_id: int,
    batches: Sequence[Batch],
    outcomes: list[BatchOutcome],
    pending: dict[str, list[Any]],
) -> None:
    new_per_batch = [0] * len(batches)
    for _f, i, _added in pending.values():
        new_per_batch[i] += 1
    rows = []
    for i, (batch, out) in enumerate(zip(batches, outcomes, strict=True)):
        call = batch.call
        rows.append(
            (
                out.call_id, run_id, call.producer, call.provider, call.model,
                call.partition, call.prompt_version, utc_iso(call.started_at),
                call.latency_s, call.input_tokens, call.output_tokens, call.cost_usd,
                call.context_entries, call.finish_reason, len(batch.candidates),
                new_per_batch[i], out.dup_exact, out.dup_variant, call.rejected,
                call.error_kind, call.error_message, int(call.estimated),
            )
        )  # fmt: skip
    db.executemany(_WRITE_CALL, rows)


def _check_path(path: Path, create: bool) -> None:
    if path.is_dir():
        raise StoreError(f"database path {path} is a directory, not a file")
    if not path.exists():
        if not create:
            raise StoreError(f"no database at {path}")
        parent = path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder for database {path}: {exc.strerror}"
            ) from None
        probe = parent / f".igentai-probe-{secrets.token_hex(4)}"
        try:
            probe.touch()
            probe.unlink()
        except OSError as exc:
            raise StoreError(f"cannot create database {path}: {exc.strerror}") from None
    elif not _is_sqlite(path):
        raise StoreError(f"{path} is not an SQLite database")


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise StoreError(f"cannot read database {path}: {exc.strerror}") from None
    return head == b"SQLite format 3\x00" or head == b""


def explain_error(path: Path, exc: sqlite3.DatabaseError) -> str:
    """One line for an SQLite error on `path`: locked, read-only, not a database..."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return f"database {path} is locked by another process; try again when it is done"
    if "readonly" in text:
        return (
            f"cannot write database {path}: it is read-only ({text}); make it writable, or "
            "give another file with --db"
        )
    if "unable to open" in text:
        return f"cannot write database {path}: {text} (is its folder or file system read-only?)"
    if "not a database" in text or "malformed" in text:
        return f"{path} is not a valid SQLite database ({text})"
    return f"database {path}: {text}"
