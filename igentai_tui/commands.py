"""Reading the database afterwards: `igentai runs`, `export`, `stats`, `path`.

These commands open the database read-only, so they work while a run is writing (WAL) and
never change it.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import shutil
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from igentai_tui.common.clock import span
from igentai_tui.common.sanitize import clean_control
from igentai_tui.config import config_dir, database_file, default_db_path
from igentai_tui.curve import AXES, discovery, partition_yields, sparkline
from igentai_tui.engine.metrics import coverage
from igentai_tui.engine.prompts import short_partition
from igentai_tui.engine.words import count
from igentai_tui.exits import Exit, Parser, UsageError
from igentai_tui.plot import PlotError, image_plot, text_plot
from igentai_tui.signals import silence_stdout
from igentai_tui.store import (
    BUSY_TIMEOUT_MS,
    CONFIRMED,
    IN_FLIGHT,
    INTERRUPTED,
    MERGED,
    STATUSES,
    StoreError,
    applied_migrations,
    explain_error,
    parse_utc,
)

UNANSWERED = (IN_FLIGHT, INTERRUPTED)  # the calls whose input tokens are estimated

FORMATS = ("txt", "csv", "jsonl", "md")
PROVENANCE = (
    "provider", "model", "producer", "partition", "first_seen", "times_proposed", "status",
    "merged_into",
)  # fmt: skip


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


def _sessions(con: sqlite3.Connection, run: sqlite3.Row) -> list[dict[str, Any]]:
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


def _active(sessions: list[dict[str, Any]]) -> float | None:
    """Time the run was active (idle gaps between sessions left out); None while running or
    after a crash."""
    spans = [s["duration_s"] for s in sessions]
    return None if None in spans else sum(spans)


def _runs(con: sqlite3.Connection) -> list[dict[str, Any]]:
    out = []
    for r in con.execute("SELECT * FROM runs ORDER BY id"):
        calls = con.execute(
            "SELECT count(*), coalesce(sum(input_tokens + output_tokens), 0), sum(cost_usd), "
            "count(cost_usd) FROM calls WHERE run_id = ?",
            (r["id"],),
        ).fetchone()
        entries = con.execute("SELECT count(*) FROM entries WHERE run_id = ?", (r["id"],))
        states = _states(con, r["id"])
        sessions = _sessions(con, r)
        out.append(
            {
                "id": r["uid"],
                "topic": r["topic"],
                "started": r["started_at"],
                "duration_s": _active(sessions),
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


def _states(con: sqlite3.Connection, run_id: int) -> dict[str, int]:
    """How many of a run's entries are confirmed, pending, rejected, merged."""
    counts = dict(
        con.execute(
            "SELECT status, count(*) FROM entries WHERE run_id = ? GROUP BY 1", (run_id,)
        ).fetchall()
    )
    return {s: counts.get(s, 0) for s in STATUSES}


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def cmd_runs(args: argparse.Namespace) -> int:
    con = open_readonly(args.db)
    runs = _runs(con)
    if args.json:
        print(json.dumps(runs, indent=2, ensure_ascii=False))
        return 0
    if not runs:
        print("no runs yet")
        return 0
    rows = [
        (
            r["id"],
            _short(r["topic"], 40),
            r["started"][:19].replace("T", " "),
            "" if r["duration_s"] is None else f"{r['duration_s']:.0f}s",
            r["status"],
            _short(r["stop_reason"] or "", 30),
            r["entries"],
            r["requests"],
            r["tokens"],
            "unknown" if r["cost_usd"] is None else f"${r['cost_usd']:.4f}",
        )
        for r in runs
    ]
    headers = ["id", "topic", "started (UTC)", "time", "status", "reason", "entries"]
    print(_table([*headers, "requests", "tokens", "cost"], rows))
    return 0


def _short(text: str, n: int) -> str:
    from igentai_tui.common.sanitize import display_text

    return display_text(text, n)


def _safe_cell(value: object) -> object:
    """Neutralize spreadsheet formulas: a cell starting with = + - @ (or tab, CR) gets a
    leading quote, so Excel, LibreOffice and Sheets show it as text instead of running it."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


_MD_ESCAPES = {c: "\\" + c for c in "\\`*_[]()#!~|"} | {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_MD = str.maketrans(_MD_ESCAPES)


def _md_cell(value: object) -> str:
    """A table cell that renders as the literal text on one row: no emphasis, code, link,
    image or HTML.
    Bare URLs are broken up ("://" -> ":&#47;/", "www." -> "www&#46;") so Markdown viewers do
    not autolink them; they still read the same."""
    text = clean_control(str(value)).translate(_MD)
    if "://" in text or "www." in text.lower():
        text = (
            text.replace("://", ":&#47;/").replace("www.", "www&#46;").replace("WWW.", "WWW&#46;")
        )
    return text


HEADER_LINES = {"txt": 0, "jsonl": 0, "csv": 1, "md": 2}


def export_text(
    con: sqlite3.Connection,
    run_id: int,
    fmt: str,
    provenance: bool,
    statuses: Sequence[str] = (CONFIRMED,),
) -> str:
    """A run's entries with one of `statuses` (confirmed ones by default: output.txt's) in the
    order found, as txt, csv, jsonl or md (a table); every format is safe to open: csv cells
    cannot run as formulas, md cannot render links or HTML."""
    marks = ",".join("?" * len(statuses))
    rows = con.execute(
        "SELECT text, first_provider AS provider, first_model AS model, "
        "first_producer AS producer, partition, first_seen, times_proposed, status, "
        "(SELECT m.text FROM entries m WHERE m.id = e.merged_into) AS merged_into "
        f"FROM entries e WHERE run_id = ? AND status IN ({marks}) ORDER BY id",
        (run_id, *statuses),
    ).fetchall()
    cols = ("text", *PROVENANCE) if provenance else ("text",)
    if fmt == "txt":
        return "".join(f"{r['text']}\n" for r in rows)
    if fmt == "jsonl":
        return "".join(json.dumps({c: r[c] for c in cols}, ensure_ascii=False) + "\n" for r in rows)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)  # RFC 4180: CRLF, and a cell holding CR or LF is quoted
        w.writerow(cols)
        w.writerows([_safe_cell(r[c]) for c in cols] for r in rows)
        return buf.getvalue()
    if fmt != "md":
        raise CommandError(f"unknown format {fmt!r} (use one of {', '.join(FORMATS)})")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_md_cell("" if r[c] is None else r[c]) for c in cols) + " |"
              for r in rows]  # fmt: skip
    return "\n".join(lines) + "\n"


def write_export(text: str, target: Path, db: Path, *, force: bool = False) -> None:
    """Write an export of database `db` to `target`; CommandError (one line) when it cannot or
    must not."""
    if (clash := database_file(target, db)) is not None:
        raise CommandError(f"export target {target} is the database's file {clash}")
    if target.is_dir():
        raise CommandError(f"export target {target} is a directory")
    if target.exists() and not force:
        raise CommandError(f"{target} exists; pass --force to overwrite it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {target}: {exc.strerror}") from None


def export_run(db: Path, run_id: int, fmt: str, target: Path, provenance: bool = True) -> int:
    """Export a run's confirmed entries to a file through a read-only connection (works
    during the run); the number of entries written. Used by the TUI's export dialog."""
    con = open_readonly(db)
    try:
        text = export_text(con, run_id, fmt, provenance)
    finally:
        con.close()
    write_export(text, target, db, force=True)
    return text.count("\n") - HEADER_LINES[fmt]


def cmd_export(args: argparse.Namespace) -> int:
    con = open_readonly(args.db)
    run = resolve_run(con, args.run)
    statuses = _statuses(args.status)
    text = export_text(con, run["id"], args.format, args.with_provenance, statuses)
    if args.output is None or str(args.output) == "-":
        sys.stdout.write(text)
        return 0
    write_export(text, args.output, args.db, force=args.force)
    n = text.count("\n") - HEADER_LINES[args.format]
    print(f"wrote {count(n, 'entry')} to {args.output}", file=sys.stderr)
    return 0


def _statuses(text: str) -> tuple[str, ...]:
    """The entry states `--status` names ("confirmed,pending", "all")."""
    names = [x.strip().lower() for x in text.split(",") if x.strip()]
    if "all" in names:
        return STATUSES
    unknown = [x for x in names if x not in STATUSES]
    if unknown or not names:
        raise CommandError(
            f"--status {text!r}: use one or more of {', '.join(STATUSES)}, or all"
        )
    return tuple(dict.fromkeys(names))


def cmd_merges(args: argparse.Namespace) -> int:
    """List the entries merged into another (variants, aliases), or undo one."""
    if args.undo is not None:
        return _unmerge(args)
    con = open_readonly(args.db)
    run = resolve_run(con, args.run)
    rows = con.execute(
        "SELECT e.id, e.text, m.text AS into_text, e.decided_call_id FROM entries e "
        "JOIN entries m ON m.id = e.merged_into WHERE e.run_id = ? AND e.status = ? "
        "ORDER BY e.id",
        (run["id"], MERGED),
    ).fetchall()
    if args.json:
        print(json.dumps([dict(r) for r in rows], indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("no merges in this run")
        return 0
    print(_table(["id", "entry", "merged into", "by call"],
                 [(r["id"], _short(r["text"], 50), _short(r["into_text"], 50),
                   r["decided_call_id"] or "learned") for r in rows]))  # fmt: skip
    print(f"\nundo one: igentai merges {run['uid'][:8]} --undo ID (then export again)")
    return 0


def _unmerge(args: argparse.Namespace) -> int:
    """Make a merged entry an entry of its own again (confirmed)."""
    con = open_readonly(args.db)
    run = resolve_run(con, args.run)
    con.close()
    try:
        db = sqlite3.connect(args.db, timeout=BUSY_TIMEOUT_MS / 1000)
        with db:
            done = db.execute(
                "UPDATE entries SET status = ?, merged_into = NULL WHERE id = ? AND run_id = ? "
                "AND status = ? RETURNING text",
                (CONFIRMED, args.undo, run["id"], MERGED),
            ).fetchone()
        db.close()
    except sqlite3.Error as exc:
        raise CommandError(f"cannot undo the merge in {args.db}: {exc}") from None
    if done is None:
        raise CommandError(f"entry {args.undo} of this run is not a merged entry")
    print(f"{done[0]} is an entry of its own again (confirmed); output.txt is not rewritten: "
          f"igentai export {run['uid'][:8]} gives the list", file=sys.stderr)  # fmt: skip
    return 0


def run_stats(con: sqlite3.Connection, run: sqlite3.Row) -> dict[str, Any]:
    """Per provider:model and per partition figures, and the coverage estimate."""
    sessions = _sessions(con, run)
    active = _active(sessions)
    minutes = max((active or 0) / 60, 1e-9)

    def group(expr: str) -> dict[str, dict[str, Any]]:
        kinds: dict[str, dict[str, int]] = {}
        for g, kind, n in con.execute(
            f"SELECT {expr} AS g, error_kind, count(*) FROM calls WHERE run_id = ? AND "
            "error_kind IS NOT NULL AND error_kind != ? GROUP BY g, error_kind ORDER BY 3 DESC",
            (run["id"], IN_FLIGHT),
        ):
            kinds.setdefault(g or "(whole topic)", {})[kind] = n
        out = {}
        for r in con.execute(
            f"SELECT {expr} AS g, count(*) AS requests, sum(new) AS new, sum(returned) AS ret, "
            "sum(rejected) AS rejected, "
            "sum(input_tokens) AS tin, sum(output_tokens) AS tout, sum(cost_usd) AS cost, "
            "count(cost_usd) AS priced, count(error_kind) AS errors, "
            "count(CASE WHEN error_kind = ? THEN 1 END) AS in_flight, "
            "count(CASE WHEN error_kind IN (?, ?) THEN 1 END) AS estimated, "
            "coalesce(sum(CASE WHEN error_kind IN (?, ?) THEN input_tokens END), 0) AS est_tokens "
            f"FROM calls WHERE run_id = ? GROUP BY g ORDER BY new DESC",
            (IN_FLIGHT, *UNANSWERED, *UNANSWERED, run["id"]),
        ):
            out[r["g"] or "(whole topic)"] = {
                "requests": r["requests"],
                "new": r["new"],
                "yield": r["new"] / r["ret"] if r["ret"] else None,
                # items dropped from replies: too long, junk, or holding a key (docs/reliability)
                "rejected": r["rejected"],
                "input_tokens": r["tin"],
                "output_tokens": r["tout"],
                "cost_usd": r["cost"] if r["priced"] == r["requests"] else None,
                "unique_per_min": r["new"] / minutes if active else None,
                "errors": r["errors"] - r["in_flight"],
                "errors_by_kind": kinds.get(r["g"] or "(whole topic)", {}),
                "in_flight": r["in_flight"],
                # requests without a reported count: in flight or interrupted
                "estimated_requests": r["estimated"],
                "estimated_input_tokens": r["est_tokens"],
            }
        return out

    freq = dict(
        con.execute(
            "SELECT times_proposed, count(*) FROM entries WHERE run_id = ? GROUP BY 1",
            (run["id"],),
        ).fetchall()
    )
    observed = sum(freq.values())
    proposals = sum(t * n for t, n in freq.items())
    cov = coverage(observed, proposals, freq.get(1, 0), freq.get(2, 0))
    return {
        "run_id": run["uid"],
        "topic": run["topic"],
        "status": run["status"],
        "entries": observed,
        "states": _states(con, run["id"]),
        "active_s": active,
        "sessions": sessions,
        "providers": group("provider || ':' || model"),
        "partitions": group("partition"),
        "coverage": cov.as_dict(),
    }


def cmd_stats(args: argparse.Namespace) -> int:
    con = open_readonly(args.db)
    runs = [resolve_run(con, ref) for ref in args.run]
    if args.plot is not None:
        return _plot(con, runs, args.plot, args.axis, args.db)
    if len(runs) > 1:
        raise CommandError("several runs are drawn together with --plot; stats shows one run")
    if args.partitions:
        return _partitions(con, runs[0])
    stats = run_stats(con, runs[0])
    if args.json:
        print(json.dumps(stats, indent=2, ensure_ascii=False))
        return 0
    st = stats["states"]
    print(f"run {stats['run_id']} · {_short(stats['topic'], 60)} · {stats['status']} · "
          f"{st['confirmed']:,} confirmed, {st['pending']:,} pending, {st['rejected']:,} "
          f"rejected, {st['merged']:,} merged")  # fmt: skip
    if len(stats["sessions"]) > 1:
        print()
        sessions = [
            (
                i, s["started"][:19].replace("T", " "),
                "" if s["duration_s"] is None else span(s["duration_s"]),
                "" if s["gap_before_s"] is None else span(s["gap_before_s"]),
                s["status"] or "", _short(s["stop_reason"] or "", 40),
            )
            for i, s in enumerate(stats["sessions"], 1)
        ]  # fmt: skip
        print(_table(["session", "started", "active", "idle before", "status", "reason"],
                     sessions))  # fmt: skip
    for title, key in (("provider:model", "providers"), ("partition", "partitions")):
        rows = [
            (
                _short(short_partition(name), 40), s["requests"], s["new"],
                "" if s["yield"] is None else f"{s['yield']:.1%}",
                s["input_tokens"] + s["output_tokens"],
                "unknown" if s["cost_usd"] is None else f"${s['cost_usd']:.4f}",
                "" if s["unique_per_min"] is None else f"{s['unique_per_min']:.0f}",
                s["errors"],
            )
            for name, s in stats[key].items()
        ]  # fmt: skip
        print()
        print(_table([title, "requests", "new", "yield", "tokens", "cost", "new/min", "errors"],
                     rows))  # fmt: skip
        for name, s in stats[key].items():
            if s["errors_by_kind"]:
                kinds = ", ".join(f"{k} {n}" for k, n in s["errors_by_kind"].items())
                print(f"  errors of {_short(name, 40)}: {kinds}")
            if s["rejected"]:
                items = count(s["rejected"], "item")
                print(f"  {_short(name, 40)}: {items} of its replies rejected (too long, junk, "
                      "or holding a key)")  # fmt: skip
            if s["estimated_requests"]:
                live = f", {s['in_flight']} of them in flight" if s["in_flight"] else ""
                requests = count(s["estimated_requests"], "request")
                print(
                    f"  {_short(name, 40)}: {s['estimated_input_tokens']:,} input tokens "
                    f"estimated, of {requests} without a reply{live}"
                )
    c = stats["coverage"]
    if c["chao1"]:
        print(f"\nproposal counts: Chao1 {c['chao1']:,.0f} (± {c['chao1_sd']:,.0f}) entries, "
              f"Good-Turing {c['good_turing']:.1%} (see docs/metrics.md)")  # fmt: skip
    return 0


def _plot(
    con: sqlite3.Connection, runs: list[sqlite3.Row], target: str, axis: str, db: Path
) -> int:
    """Draw the runs' discovery curves in the terminal (`target` "-") or into an image file
    (written over if it exists: a picture is made again, not kept)."""
    curves = []
    for run in runs:
        curve = discovery(con, run["id"], axis)
        if len(runs) > 1:
            arms = ", ".join(json.loads(run["settings"] or "{}").get("arms", []))
            curve.label = f"{run['uid'][:8]} {_short(run['topic'], 24)} · {_short(arms, 30)}"
        curves.append(curve)
    title = "" if len(runs) > 1 else f"{runs[0]['uid'][:8]} · {_short(runs[0]['topic'], 50)}"
    # One run: the estimated number of real entries when it ended, as a line (none stored
    # before schema 7).
    keys = runs[0].keys()
    total = runs[0]["estimated_total"] if len(runs) == 1 and "estimated_total" in keys else None
    if target == "-":
        size = shutil.get_terminal_size()
        height = max(10, min(25, size.lines - 4))
        print(text_plot(curves, axis, size.columns, height, total, color=sys.stdout.isatty(),
                        title=title))  # fmt: skip
        return 0
    path = Path(target).expanduser()
    if (clash := database_file(path, db)) is not None:
        raise CommandError(f"plot target {path} is the database's file {clash}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        image_plot(curves, axis, path, total, title=title)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from None
    except PlotError as exc:
        raise CommandError(str(exc)) from None
    print(f"igentai: wrote {path}", file=sys.stderr)
    return 0


def _partitions(con: sqlite3.Connection, run: sqlite3.Row) -> int:
    """Each partition's yield curve as a sparkline: new entries per list request."""
    rows = [
        (_short(short_partition(name) if name else "(whole topic)", 40), len(news), sum(news),
         sparkline(news), news[-1] if news else 0)
        for name, news in partition_yields(con, run["id"])
    ]  # fmt: skip
    print(f"run {run['uid']} · {_short(run['topic'], 60)} · new entries per request, "
          "oldest first")  # fmt: skip
    print(_table(["partition", "requests", "new", "per request", "last"], rows))
    return 0


def cmd_path(args: argparse.Namespace) -> int:
    if args.which == "db":
        print(args.db)
    elif args.which == "config":
        print(config_dir())
    else:
        print(f"database: {args.db}\nconfig:   {config_dir()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="igentai", description="Read the igentai database.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    def db(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--db", type=Path, default=None, help="database file")

    r = sub.add_parser("runs", help="list runs")
    db(r)
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_runs)
    e = sub.add_parser("export", help="export a run's entries")
    db(e)
    e.add_argument("run", help="run id, unique prefix, or last")
    e.add_argument("--format", "-f", choices=FORMATS, default="txt")
    e.add_argument("--with-provenance", action="store_true")
    e.add_argument("--output", "-o", type=Path, help="file (default: stdout)")
    e.add_argument("--force", action="store_true", help="overwrite an existing file")
    e.add_argument(
        "--status",
        default=CONFIRMED,
        metavar="STATES",
        help="entries to export: confirmed (default, what output.txt holds), pending, "
        "rejected, merged, comma-separated, or all",
    )
    e.set_defaults(func=cmd_export)
    m = sub.add_parser("merges", help="entries merged into another (variants), or undo one")
    db(m)
    m.add_argument("run", help="run id, unique prefix, or last")
    m.add_argument("--undo", type=int, metavar="ID", help="make entry ID an entry of its own")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_merges)
    s = sub.add_parser("stats", help="figures of a run, its discovery curve")
    db(s)
    s.add_argument("run", nargs="+", help="run id, unique prefix, or last (several with --plot)")
    s.add_argument("--json", action="store_true")
    s.add_argument(
        "--plot",
        nargs="?",
        const="-",
        metavar="FILE",
        help="draw the discovery curve (confirmed entries against --axis) in the terminal, or "
        "into FILE (.png or .svg; needs the plot extra)",
    )
    s.add_argument("--axis", choices=tuple(AXES), default="tokens", help="the curve's x axis")
    s.add_argument(
        "--partitions", action="store_true", help="each partition's new entries per request"
    )
    s.set_defaults(func=cmd_stats)
    pa = sub.add_parser("path", help="where the database and config live")
    g = pa.add_mutually_exclusive_group()
    g.add_argument("--db", dest="which", action="store_const", const="db")
    g.add_argument("--config", dest="which", action="store_const", const="config")
    pa.set_defaults(func=cmd_path, which=None)
    return p


COMMANDS = ("runs", "export", "stats", "merges", "path")


def main(argv: Sequence[str]) -> int:
    try:
        args = build_parser().parse_args(list(argv))
        if getattr(args, "db", None) is None:
            args.db = default_db_path()
        return args.func(args)
    except (UsageError, CommandError) as exc:
        print(f"igentai: error: {exc}", file=sys.stderr)
        return Exit.USAGE
    except BrokenPipeError:  # `igentai export last | head`
        silence_stdout()
        return Exit.OK
