"""Reading the database afterwards: `igentai runs`, `export`, `stats`, `path`.

These commands open the database read-only, so they work while a run is writing (WAL) and
never change it.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from igentai_tui.config import config_dir, default_db_path
from igentai_tui.curve import AXES
from igentai_tui.exits import Exit, Parser, UsageError
from igentai_tui.export import FORMATS, cmd_export
from igentai_tui.history import (
    CommandError,
    all_runs,
    open_readonly,
    resolve_run,
    short_text,
    text_table,
)
from igentai_tui.signals import silence_stdout
from igentai_tui.stats import cmd_stats
from igentai_tui.store import (
    BUSY_TIMEOUT_MS,
    CONFIRMED,
    MERGED,
)


def cmd_runs(args: argparse.Namespace) -> int:
    con = open_readonly(args.db)
    runs = all_runs(con)
    if args.json:
        print(json.dumps(runs, indent=2, ensure_ascii=False))
        return 0
    if not runs:
        print("no runs yet")
        return 0
    rows = [
        (
            r["id"],
            short_text(r["topic"], 40),
            r["started"][:19].replace("T", " "),
            "" if r["duration_s"] is None else f"{r['duration_s']:.0f}s",
            r["status"],
            short_text(r["stop_reason"] or "", 30),
            r["entries"],
            r["requests"],
            r["tokens"],
            "unknown" if r["cost_usd"] is None else f"${r['cost_usd']:.4f}",
        )
        for r in runs
    ]
    headers = ["id", "topic", "started (UTC)", "time", "status", "reason", "entries"]
    print(text_table([*headers, "requests", "tokens", "cost"], rows))
    return 0


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
    print(text_table(["id", "entry", "merged into", "by call"],
                 [(r["id"], short_text(r["text"], 50), short_text(r["into_text"], 50),
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
