"""The database file: checks before opening it, and SQLite's errors in one line each."""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path


class StoreError(Exception):
    """A database problem with a one-line, user-facing message naming the path."""


def check_path(path: Path, create: bool) -> None:
    """StoreError unless `path` is an SQLite file, an empty one, or (with `create`) one that
    can be made."""
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
