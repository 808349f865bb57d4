"""The database of past runs, read: opened read-only (it works while a run writes, and never
changes it), a run found by id or prefix, its sessions, its entries' states; the read
commands' one-line errors and plain tables.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from igentai_tui.store import (
    BUSY_TIMEOUT_MS,
    IN_FLIGHT,
    INTERRUPTED,
    STATUSES,
    StoreError,
    applied_migrations,
    explain_error,
    parse_utc,
)

UNANSWERED = (IN_FLIGHT, INTERRUPTED)  # the calls whose input tokens are estimated


class CommandError(Exception):
    """One line for the user; exit 2."""


def _connect(path: Path, mode: str) -> sqlite3.Connection:
    """A connection to `path` opened with the URI parameter `mode`, its schema version checked."""
    con = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True)
    try:
        con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not applied_migrations(con, path):
            raise CommandError(f"{path} is not an igentai database")
        return con
    except StoreError as exc:
        con.close()
        raise CommandError(str(exc)) from None
    except BaseException:
        con.close()
        raise


def open_readonly(path: Path) -> sqlite3.Connection:
    """Open an igentai database read-only; CommandError naming the path on any problem.

    A database in WAL mode needs its `-shm` file even to be read; in a folder the user cannot
    write (or on a read-only file system) SQLite cannot create it. Then, when no `-wal` file
    holds changes the database file lacks, the file is opened `immutable`: nothing can write
    it there, so there is nothing to lock."""
    if not path.exists():
        raise CommandError(f"no database at {path} (run igentai first, or pass --db)")
    if path.is_dir():
        raise CommandError(f"database path {path} is a directory, not a file")
    try:
        try:
            con = _connect(path, "mode=ro")
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "unable to open" not in text and "readonly" not in text:
                raise
            wal = path.with_name(path.name + "-wal")
            if wal.exists() and wal.stat().st_size:
                raise CommandError(
                    f"cannot read {path}: its folder is read-only and {wal.name} holds changes "
                    "the database file lacks (read it once from a writable folder)"
                ) from None
            con = _connect(path, "immutable=1")
    except sqlite3.DatabaseError as exc:
        raise CommandError(explain_error(path, exc)) from None
    con.row_factory = sqlite3.Row
    con.isolation_level = None
    con.execute("BEGIN")  # one snapshot for every query: never half of a batch
    return con


def resolve_run(con: sqlite3.Connection, ref: str) -> sqlite3.Row:
    """A run by id, unique id prefix, or `last`."""
    ref = ref.strip().lower()
    if ref == "last":
        rows = con.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchall()
        if not rows:
            raise CommandError("there are no runs in this database yet")
        return rows[0]
    if not ref:
        raise CommandError("empty run id")
    escaped = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = con.execute(
        "SELECT * FROM runs WHERE uid LIKE ? ESCAPE '\\' ORDER BY id", (escaped + "%",)
    ).fetchall()
    if not rows:
        raise CommandError(f"no run {ref!r} (see igentai runs)")
    if len(rows) > 1:
        ids = ", ".join(r["uid"] for r in rows[:5])
        raise CommandError(f"run id {ref!r} is ambiguous: {ids}{'…' if len(rows) > 5 else ''}")
    return rows[0]


def run_sessions(con: sqlite3.Connection, run: sqlite3.Row) -> list[dict[str, Any]]:
    """Each start and resume of a run, with its length and the idle gap before it."""
    rows: list[Any] = [run]
    with contextlib.suppress(sqlite3.OperationalError):  # a database from before sessions
        rows = (
            con.execute(
                "SELECT started_at, ended_at, status, stop_reason FROM sessions WHERE run_id = ? "
                "ORDER BY id",
                (run["id"],),
            ).fetchall()
            or rows
        )
    out: list[dict[str, Any]] = []
    previous_end: float | None = None
    for r in rows:
        start = parse_utc(r["started_at"])
        end = parse_utc(r["ended_at"]) if r["ended_at"] else None
        out.append(
            {
                "started": r["started_at"],
                "ended": r["ended_at"],
                "duration_s": None if end is None else end - start,
                "gap_before_s": None if previous_end is None else start - previous_end,
                "status": r["status"],
                "stop_reason": r["stop_reason"],
            }
        )
        previous_end = end
    return out


def active_seconds(sessions: list[dict[str, Any]]) -> float | None:
    """Time the run was active (idle gaps between sessions left out); None while running or
    after a crash."""
    spans = [s["duration_s"] for s in sessions]
    return None if None in spans else sum(spans)


def all_runs(con: sqlite3.Connection) -> list[dict[str, Any]]:
    out = []
    for r in con.execute("SELECT * FROM runs ORDER BY id"):
        calls = con.execute(
            "SELECT count(*), coalesce(sum(input_tokens + output_tokens), 0), sum(cost_usd), "
            "count(cost_usd) FROM calls WHERE run_id = ?",
            (r["id"],),
        ).fetchone()
        entries = con.execute("SELECT count(*) FROM entries WHERE run_id = ?", (r["id"],))
        states = entry_states(con, r["id"])
        sessions = run_sessions(con, r)
        out.append(
            {
                "id": r["uid"],
                "topic": r["topic"],
                "started": r["started_at"],
                "duration_s": active_seconds(sessions),
                "sessions": len(sessions),
                "status": r["status"],
                "stop_reason": r["stop_reason"],
                "entries": entries.fetchone()[0],
                **states,
                "requests": calls[0],
                "tokens": calls[1],
                "cost_usd": calls[2] if calls[3] == calls[0] else None,
            }
        )
    return out


def entry_states(con: sqlite3.Connection, run_id: int) -> dict[str, int]:
    """How many of a run's entries are confirmed, pending, rejected, merged."""
    counts = dict(
        con.execute(
            "SELECT status, count(*) FROM entries WHERE run_id = ? GROUP BY 1", (run_id,)
        ).fetchall()
    )
    return {s: counts.get(s, 0) for s in STATUSES}


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def short_text(text: str, n: int) -> str:
    from igentai_tui.common.sanitize import display_text

    return display_text(text, n)
