"""The file system says no: a read-only database, a full disk under the output or the database.

Each case is the real condition, not a simulation: a database file the kernel refuses to write
(`chattr +i` as root, who ignores permission bits; `chmod 444` otherwise), `/dev/full`, and a
database on a small tmpfs that fills up (mounting needs root: skipped otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_tui import make_app, until

from igentai_tui.cli import main

RUN = ["--headless", "Paris attractions", "--providers", "sim:instant"]


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """`path` made read-only for real, for whoever runs the tests."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        undo = ["chmod", "644", str(path)]
    else:
        made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
        if made.returncode != 0:
            pytest.skip(f"chattr +i is not available here: {made.stderr.strip()}")
        undo = ["chattr", "-i", str(path)]
    try:
        with pytest.raises(PermissionError):  # the condition is real: the kernel refuses
            path.open("r+b").close()
        yield
    finally:
        subprocess.run(undo, check=True)


def _stored_run(tmp_path: Path) -> bytes:
    """A database holding one short run, checkpointed into the main file; its bytes."""
    db = tmp_path / "ro.db"
    with contextlib.redirect_stdout(None), contextlib.redirect_stderr(None):
        code = main([*RUN, "--max-requests", "2", "--db", str(db), "-o", str(tmp_path / "o.txt")])
    assert code == 0
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return db.read_bytes()


def test_a_read_only_database_is_exit_2_headless(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _stored_run(tmp_path)
    capsys.readouterr()
    db = tmp_path / "ro.db"
    with read_only(db):
        code = main([*RUN, "--max-requests", "2", "--db", str(db), "-o", str(tmp_path / "n.txt")])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err == (
        f"igentai: error: cannot write database {db}: it is read-only (attempt to write a "
        "readonly database); make it writable, or give another file with --db\n"
    )
    assert db.read_bytes() == before  # the stored run is untouched


def test_a_read_only_database_is_exit_2_in_the_tui(tmp_path: Path) -> None:
    before = _stored_run(tmp_path)
    (tmp_path / "ro.db").rename(tmp_path / "t.db")  # the file make_app's run uses
    db = tmp_path / "t.db"

    async def drive() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.return_code is not None)

    with read_only(db):
        app = make_app(tmp_path, "--providers", "sim:instant", provider="real")
        asyncio.run(drive())
    assert app.return_value == 2
    assert app.message.startswith(f"igentai: error: cannot write database {db}: it is read-only")
    assert db.read_bytes() == before


def test_the_read_only_message_reaches_the_terminal_without_a_traceback(tmp_path: Path) -> None:
    """The installed command, as a user types it."""
    _stored_run(tmp_path)
    db = tmp_path / "ro.db"
    with read_only(db):
        p = subprocess.run(
            [sys.executable, "-m", "igentai_tui", *RUN, "--db", str(db), "-o", "x.txt"],
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert p.returncode == 2 and p.stdout == "" and p.stderr.count("\n") == 1
    assert p.stderr.startswith("igentai: error: cannot write database")
