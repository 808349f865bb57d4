"""The igentai database: one SQLite connection, owned by one worker thread.

One writer (the orchestrator) per run; WAL so that readers in other processes can query at any
time. Every operation is a function run whole on the connection's thread (a transaction is one
hand-over between threads, never interleaved with another), awaited from the event loop or,
for `start_call`, handed over from a producer thread. Only the standard library's sqlite3.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from igentai_tui.engine.records import (
    CONFIRMED,
    IN_FLIGHT,
    INTERRUPTED,
    INTERRUPTED_MESSAGE,
    MERGED,
    PENDING,
    REJECTED,
    Batch,
    BatchOutcome,
    CallRecord,
    Learned,
    PartitionRow,
    PendingRow,
    RunRow,
    RunState,
    Verdicts,
    parse_utc,
    utc_iso,
)
from igentai_tui.store import ingest
from igentai_tui.store.counts import Counts
from igentai_tui.store.files import StoreError, check_path, explain_error
from igentai_tui.store.locks import RunLocks
from igentai_tui.store.schema import migrate

P = ParamSpec("P")
T = TypeVar("T")

# Page cache of the writer: big enough that the key indexes of a 1M-entry run stay in memory.
CACHE_KIB = 64 * 1024
# How the writer's connection reads and writes (the ingest benchmark's raw insert uses them too).
WRITER_PRAGMAS = (
    "journal_mode = WAL",
    "synchronous = NORMAL",
    f"cache_size = -{CACHE_KIB}",
    # A checkpoint every 40,000 pages (160 MB of WAL at most, removed when the run closes the
    # file): a page rewritten by many commits is copied back once. At 10,000 a 1M-entry run's
    # ingest took a tenth longer (docs/benchmarks.md, Ingest).
    "wal_autocheckpoint = 40000",
)
BUSY_TIMEOUT_MS = 5000  # how long a locked database is waited for before giving up

# Prepared statements kept per connection. The ingest's lookup has one SQL text per
# batch size, each up to a few MB when prepared for thousands of parameters: Python's default
# of 128 grew the writer by 100-200 MB over a 1M-entry run (docs/reliability.md, Load).
_CACHED_STATEMENTS = 8


def connect(path: Path) -> sqlite3.Connection:
    """The writer's connection to `path`, set up and migrated (on the thread that will use it):
    sqlite3.Error, or StoreError for a file that is not igentai's or is newer."""
    db = sqlite3.connect(path, isolation_level=None, cached_statements=_CACHED_STATEMENTS)
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Reading the schema first tells "not a database" apart from a lock or permissions.
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        if tables and "schema_migrations" not in tables:
            raise StoreError(f"{path} is an SQLite database but not an igentai one")
        for pragma in (*WRITER_PRAGMAS, "foreign_keys = ON"):
            db.execute(f"PRAGMA {pragma}")
        _check_writable(db)
        migrate(db, path)
    except BaseException:
        db.close()
        raise
    return db


def _check_writable(db: sqlite3.Connection) -> None:
    """Fail at the start, not at the run's first write, when the file cannot be written (a
    read-only file or file system): a write in a transaction that is rolled back."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        db.execute(f"PRAGMA user_version = {int(version)}")
    finally:
        with contextlib.suppress(sqlite3.Error):  # keep the write's error, not ROLLBACK's
            db.execute("ROLLBACK")


def _close(db: sqlite3.Connection, counts: Counts) -> None:
    """Write the proposal counts waiting, then close: if they cannot be written (the run's end
    could not be either), they are lost as in a crash."""
    try:
        with contextlib.suppress(sqlite3.Error):
            counts.flush(db)
    finally:
        db.close()


def _fetchall(db: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    return db.execute(sql, params).fetchall()


class Store:
    """The igentai database. Open with `await Store.open(path)`."""

    def __init__(self, db: sqlite3.Connection, worker: ThreadPoolExecutor, path: Path) -> None:
        self._db = db
        self._worker = worker  # one thread: the only one that uses `_db`
        self.path = path
        self._locks = RunLocks(path)
        self._counts = Counts()  # proposal counts not written yet: used on the worker thread
        self._starts: list[tuple[int, CallRecord, threading.Event]] = []
        self._starts_lock = threading.Lock()
        self.start_error: Exception | None = None  # why the last `start_call` failed

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path | str, *, create: bool = True) -> Store:
        """Open (and create or migrate) the database at `path`; StoreError on any problem."""
        path = Path(path).expanduser()
        check_path(path, create)
        worker = ThreadPoolExecutor(1, thread_name_prefix="igentai-store")
        try:
            db = await asyncio.wrap_future(worker.submit(connect, path))
        except sqlite3.DatabaseError as exc:
            worker.shutdown(wait=False)
            raise StoreError(explain_error(path, exc)) from None
        except BaseException:
            worker.shutdown(wait=False)
            raise
        return cls(db, worker, path)

    async def close(self) -> None:
        """Write the proposal counts waiting, close the connection and end its thread; release
        the run locks. Once is enough."""
        with contextlib.suppress(RuntimeError):  # closed already: the worker takes no more
            await self._call(_close, self._counts)
        self._worker.shutdown(wait=False)
        self._locks.close()

    async def _call(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kw: P.kwargs
    ) -> T:
        """`fn(connection, *args)` on the connection's thread."""
        return await asyncio.wrap_future(self._worker.submit(fn, self._db, *args, **kw))

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return await self._call(_fetchall, sql, params)

    async def _execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        await self._call(_fetchall, sql, params)

    async def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._call(sqlite3.Connection.executemany, sql, rows)

    # -- runs --------------------------------------------------------------------------------

    async def create_run(
        self, topic: str, settings: dict[str, Any], output_path: str | None, started_at: float
    ) -> RunRow:
        uid = secrets.token_hex(6)
        await self._execute(
            "INSERT INTO runs (uid, topic, settings, status, started_at, output_path) "
            "VALUES (?, ?, ?, 'running', ?, ?)",
            (uid, topic, json.dumps(settings, sort_keys=True), utc_iso(started_at), output_path),
        )
        run = await self.get_run(uid)
        assert run is not None
        await self._start_session(run.id, started_at)
        return run

    async def _start_session(self, run_id: int, at: float) -> None:
        await self._execute(
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
        await self._call(self._counts.flush)
        await self._execute(
            "UPDATE runs SET status = ?, stop_reason = ?, ended_at = ?, "
            "estimated_total = coalesce(?, estimated_total) WHERE id = ?",
            (*end, estimated_total, run_id),
        )
        await self._execute(
            "UPDATE sessions SET status = ?, stop_reason = ?, ended_at = ? "
            "WHERE id = (SELECT max(id) FROM sessions WHERE run_id = ?)",
            (*end, run_id),
        )

    async def get_run(self, run_id: int | str) -> RunRow | None:
        """A run by its id, or by its uid when given a string."""
        column = "uid" if isinstance(run_id, str) else "id"
        rows = await self._fetchall(
            "SELECT id, uid, topic, settings, status, stop_reason, started_at, ended_at, "
            f"output_path FROM runs WHERE {column} = ?",
            (run_id,),
        )
        r = rows[0] if rows else None
        return None if r is None else RunRow(r[0], r[1], r[2], json.loads(r[3]), *r[4:9])

    def lock_run(self, run: RunRow) -> None:
        """Hold the run's lock until the store is closed or this process ends; StoreError if
        another process has it (locks.py). Also holds disk space until `release_reserve()`."""
        self._locks.lock(run.id, run.uid)

    def release_reserve(self) -> None:
        """Give back the disk space `lock_run` held: for the rows that end a run."""
        self._locks.release_reserve()

    async def reopen_run(self, run_id: int, settings: dict[str, Any], at: float) -> RunRow:
        """Mark a stopped or crashed run running again, with its (possibly new) settings, in a
        new session."""
        await self._start_session(run_id, at)
        await self._execute(
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
        c = self
        await c._call(c._counts.flush)
        freq = await c._fetchall(
            "SELECT times_proposed, count(*) FROM entries WHERE run_id = ? GROUP BY 1", (run_id,)
        )
        rows = await c._fetchall(
            "SELECT count(*), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), "
            "coalesce(sum(cost_usd), 0) FROM calls WHERE run_id = ?",
            (run_id,),
        )
        parts = await c._fetchall(
            "SELECT name, parent, kind, depth, status, requests, returned, new, tokens, "
            "recent_yield FROM partitions WHERE run_id = ? ORDER BY id",
            (run_id,),
        )
        seen = await c._fetchall(
            "SELECT p, text, loose, times_proposed FROM (SELECT id, coalesce(partition, '') AS p, "
            "text, loose, times_proposed, row_number() OVER (PARTITION BY partition "
            "ORDER BY times_proposed DESC, id DESC) AS rank FROM entries WHERE run_id = ?) "
            "WHERE rank <= ? ORDER BY id",
            (run_id, seen_per_partition),
        )
        states = await c._fetchall(
            "SELECT status, count(*) FROM entries WHERE run_id = ? GROUP BY 1", (run_id,)
        )
        checks = await c._fetchall(
            "SELECT count(*) FROM calls WHERE run_id = ? AND prompt_version LIKE 'verify%'",
            (run_id,),
        )
        verdicts = await c._fetchall(
            "SELECT e.partition, count(*), sum(e.status = ?), sum(e.status = ?) FROM entries e "
            "JOIN calls c ON c.id = e.decided_call_id WHERE e.run_id = ? "
            "AND c.prompt_version LIKE 'verify%' GROUP BY e.partition",
            (REJECTED, MERGED, run_id),
        )
        requests, tin, tout, cost = next(iter(rows))
        return RunState(
            freq, requests, tin, tout, cost, [PartitionRow(*r) for r in parts],
            [tuple(r) for r in seen],
            [tuple(r) for r in states],
            next(iter(checks))[0],
            [tuple(r) for r in verdicts],
        )  # fmt: skip

    async def idle_since(self, run_id: int) -> str | None:
        """When a stopped or crashed run was last active: its last session's end, or for a
        crash (no end) the start of its last call or session."""
        rows = await self._fetchall(
            "SELECT coalesce(s.ended_at, max(s.started_at, coalesce((SELECT max(started_at) "
            "FROM calls WHERE run_id = s.run_id), ''))) FROM sessions s WHERE s.run_id = ? "
            "ORDER BY s.id DESC LIMIT 1",
            (run_id,),
        )
        return next(iter(rows))[0] if rows else None

    async def save_partitions(self, run_id: int, rows: Sequence[PartitionRow], at: float) -> None:
        """Insert or update partitions of a run."""
        now = utc_iso(at)
        values = [
            (run_id, r.name, r.parent, r.kind, r.depth, r.status, r.requests, r.returned, r.new,
             r.tokens, r.recent_yield, now, now)
            for r in rows
        ]  # fmt: skip
        await self._executemany(
            "INSERT INTO partitions (run_id, name, parent, kind, depth, status, requests, "
            "returned, new, tokens, recent_yield, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id, name) DO UPDATE SET status = excluded.status, "
            "requests = excluded.requests, returned = excluded.returned, new = excluded.new, "
            "tokens = excluded.tokens, recent_yield = excluded.recent_yield, "
            "updated_at = excluded.updated_at",
            values,
        )

    async def entry_texts(self, run_id: int) -> list[str]:
        """The confirmed entries of a run (what output.txt holds), in the order found."""
        rows = await self._fetchall(
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
        when the keys are equal too, a variant otherwise); duplicates add to `times_proposed`
        (written in batches: counts.py; `run_state`, `finish_run` and `close` write them).
        With `max_new`, new entries past that many are not stored (a unique-entry limit).
        New entries get `status` (PENDING when they are to be verified); each batch's
        `verdicts` are applied in the same transaction.
        The whole transaction runs as one call on the connection's thread: one hand-over
        between threads instead of one a statement.
        """
        return await self._call(ingest.record, self._counts, run_id, batches, max_new, status)

    async def decide(self, run_id: int, verdicts: Verdicts, call_id: int | None = None) -> None:
        """Store entry states decided outside a call (agreement between models, a learned
        variant), in one transaction."""
        await self._call(ingest.decide, run_id, verdicts, call_id)

    async def pending_entries(self, run_id: int) -> list[PendingRow]:
        """The run's pending entries, oldest first (see `PendingRow`)."""
        return await self._fetchall(
            "SELECT e.id, e.text, e.key, e.partition, e.first_provider || ':' || e.first_model, "
            "e.first_call_id, coalesce(ok + no, 0), coalesce(no, 0) FROM entries e LEFT JOIN "
            "(SELECT first_call_id AS call, sum(status = ?2) AS ok, sum(status = ?3) AS no FROM "
            "entries WHERE run_id = ?1 AND first_call_id IN (SELECT first_call_id FROM entries "
            "WHERE run_id = ?1 AND status = ?4) GROUP BY 1) ON call = e.first_call_id "
            "WHERE e.run_id = ?1 AND e.status = ?4 ORDER BY e.id",
            (run_id, CONFIRMED, REJECTED, PENDING),
        )

    async def confirmed_keys(self, run_id: int, limit: int) -> list[tuple[int, str, str]]:
        """The run's first `limit` confirmed entries (id, key, text), oldest first."""
        return await self._fetchall(
            "SELECT id, key, text FROM entries WHERE run_id = ? AND status = ? ORDER BY id LIMIT ?",
            (run_id, CONFIRMED, limit),
        )

    async def learned(self, run_id: int) -> Learned:
        """What verification taught the run; other names only of entries still confirmed or
        pending (nothing is merged into an entry rejected or merged since)."""
        others = await self._fetchall(
            "SELECT o.key, o.entry_id FROM other_names o JOIN entries e ON e.id = o.entry_id "
            "WHERE o.run_id = ? AND e.status IN (?, ?)",
            (run_id, CONFIRMED, PENDING),
        )
        sql = "SELECT frames, same, different FROM frame_answers WHERE run_id = ?"
        return await self._fetchall(sql, (run_id,)), others

    def start_call(self, run_id: int, call: CallRecord, committed: threading.Event) -> None:
        """Store `call` as a new row, from any thread; set `committed` once it is (`call.id`
        None if that failed: see `start_error`).

        Runs on the connection's thread without a trip through the event loop, between the
        other transactions; the rows waiting when one is written share its transaction.
        """
        with self._starts_lock:
            self._starts.append((run_id, call, committed))
        try:
            self._worker.submit(self._commit_starts)
        except RuntimeError:  # the store is closed: no transaction will come
            self.start_error = StoreError(f"database {self.path} is closed")
            committed.set()

    def _commit_starts(self) -> None:
        """`start_call`, on the connection's thread: every row waiting, in one transaction."""
        with self._starts_lock:
            starts, self._starts = self._starts, []
        by_run: dict[int, list[Batch]] = {}
        for run_id, call, _ in starts:
            by_run.setdefault(run_id, []).append(Batch(call))
        for run_id, batches in by_run.items():  # one run in practice: one transaction
            try:
                ingest.record(self._db, self._counts, run_id, batches, None)
            except Exception as exc:
                self.start_error = exc
                for b in batches:
                    b.call.id = None  # rolled back
        for _, _, committed in starts:
            committed.set()

    async def record_routing(self, run_id: int, at: float, decisions: Sequence[Any]) -> None:
        """Store routing decisions (engine/routing.py `Decision`s), all at wall time `at`."""
        when = utc_iso(at)
        await self._executemany(
            "INSERT INTO routing (run_id, at, arm, share, score, unit, reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(run_id, when, d.arm, d.share, d.score, d.unit, d.reason) for d in decisions],
        )

    async def interrupt_calls(self, run_id: int) -> list[CallRecord]:
        """Mark the run's requests still in flight (their process stopped or died before the
        reply was stored) `INTERRUPTED`, keeping their estimated tokens; return them."""
        rows = await self._fetchall(
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
