"""Export a run's entries from the database to txt, csv, jsonl or md.

Reads through a separate read-only connection (the database is in WAL mode), so it works
during a run as well as after it. Runs in a worker thread.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

FORMATS = ("txt", "csv", "jsonl", "md")
FIELDS = ("text", "provider", "model", "producer", "partition", "first_seen", "times_proposed")


def read_entries(db: Path, run_id: int) -> list[dict[str, object]]:
    """The run's entries in the order they were found, with their provenance."""
    conn = sqlite3.connect(f"{Path(db).expanduser().resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT text, first_provider, first_model, first_producer, partition, first_seen, "
            "times_proposed FROM entries WHERE run_id = ? ORDER BY id",
            (run_id,),
        ).fetchall()
    finally:
        conn.close()
    return [dict(zip(FIELDS, r, strict=True)) for r in rows]


def _md(text: str) -> str:
    """Escape what Markdown would otherwise interpret in a list item."""
    out = []
    for ch in text:
        if ch in "\\`*_{}[]<>()#+-.!|":
            out.append("\\")
        out.append(ch)
    return "".join(out)


def write_export(path: Path, fmt: str, topic: str, entries: list[dict[str, object]]) -> int:
    """Write `entries` to `path` in `fmt`; return how many were written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (use one of {', '.join(FORMATS)})")
    path = Path(path).expanduser()
    with path.open("w", encoding="utf-8", newline="") as fh:
        if fmt == "txt":
            fh.writelines(f"{e['text']}\n" for e in entries)
        elif fmt == "csv":
            w = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n")
            w.writeheader()
            w.writerows(entries)
        elif fmt == "jsonl":
            fh.writelines(json.dumps(e, ensure_ascii=False) + "\n" for e in entries)
        else:
            fh.write(f"# {_md(topic)}\n\n")
            fh.writelines(f"- {_md(str(e['text']))}\n" for e in entries)
    return len(entries)


def export_run(db: Path, run_id: int, topic: str, fmt: str, path: Path) -> int:
    """Read the run's entries and write them; OSError or sqlite3.Error on failure."""
    return write_export(path, fmt, topic, read_entries(db, run_id))
