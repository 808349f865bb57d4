"""`igentai export` (also the TUI's export): a run's entries as txt, csv, jsonl or md, with
provenance, neutralised for spreadsheets and markdown."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from igentai_tui.common.sanitize import clean_control
from igentai_tui.config import database_file
from igentai_tui.engine.words import count
from igentai_tui.history import CommandError, open_readonly, resolve_run
from igentai_tui.store import (
    CONFIRMED,
    STATUSES,
)

FORMATS = ("txt", "csv", "jsonl", "md")
PROVENANCE = (
    "provider", "model", "producer", "partition", "first_seen", "times_proposed", "status",
    "merged_into",
)  # fmt: skip


def safe_cell(value: object) -> object:
    """Neutralize spreadsheet formulas: a cell starting with = + - @ (or tab, CR) gets a
    leading quote, so Excel, LibreOffice and Sheets show it as text instead of running it."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


_MD_ESCAPES = {c: "\\" + c for c in "\\`*_[]()#!~|"} | {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_MD = str.maketrans(_MD_ESCAPES)


def md_cell(value: object) -> str:
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
        w.writerows([safe_cell(r[c]) for c in cols] for r in rows)
        return buf.getvalue()
    if fmt != "md":
        raise CommandError(f"unknown format {fmt!r} (use one of {', '.join(FORMATS)})")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(md_cell("" if r[c] is None else r[c]) for c in cols) + " |"
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
    statuses = parse_statuses(args.status)
    text = export_text(con, run["id"], args.format, args.with_provenance, statuses)
    if args.output is None or str(args.output) == "-":
        sys.stdout.write(text)
        return 0
    write_export(text, args.output, args.db, force=args.force)
    n = text.count("\n") - HEADER_LINES[args.format]
    print(f"wrote {count(n, 'entry')} to {args.output}", file=sys.stderr)
    return 0


def parse_statuses(text: str) -> tuple[str, ...]:
    """The entry states `--status` names ("confirmed,pending", "all")."""
    names = [x.strip().lower() for x in text.split(",") if x.strip()]
    if "all" in names:
        return STATUSES
    unknown = [x for x in names if x not in STATUSES]
    if unknown or not names:
        raise CommandError(f"--status {text!r}: use one or more of {', '.join(STATUSES)}, or all")
    return tuple(dict.fromkeys(names))
