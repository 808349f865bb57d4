"""The file system says no: a read-only database, a full disk under the output or the database.

Each case is the real condition, not a simulation: a database file the kernel refuses to write
(`chattr +i` as root, who ignores permission bits; `chmod 444` otherwise), `/dev/full`, and a
database on a small tmpfs that fills up (mounting needs root: skipped otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_tui import make_app, until

from igentai_tui.cli import main
from igentai_tui.engine.words import count

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


# -- a full disk -------------------------------------------------------------------------------

BIG = ["--headless", "Stars (sim:50000)", "--providers", "sim:instant", "--producers", "4"]


def igentai(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "igentai_tui", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def stored(db: Path) -> tuple[tuple[str, str], list[str], dict[str | None, int]]:
    """The run's (status, stop reason), its confirmed entries (what output.txt holds), and its
    calls by error kind."""
    con = sqlite3.connect(db)
    (run,) = con.execute("SELECT status, stop_reason FROM runs").fetchall()
    sql = "SELECT text FROM entries WHERE status = 'confirmed' ORDER BY id"
    texts = [r[0] for r in con.execute(sql)]
    kinds = dict(con.execute("SELECT error_kind, count(*) FROM calls GROUP BY 1").fetchall())
    con.close()
    return run, texts, kinds


def test_output_on_a_full_disk_fails_the_run_cleanly(tmp_path: Path) -> None:
    p = igentai(*BIG, "--max-requests", "30", "--db", "i.db", "-o", "/dev/full", cwd=tmp_path)
    assert p.returncode == 1 and "Traceback" not in p.stderr, p.stderr
    summary = json.loads(p.stdout)
    reason = "output error: cannot write output file /dev/full: No space left on device"
    assert (summary["status"], summary["stop_reason"]) == ("failed", reason)
    assert "the database holds every entry found" in p.stderr
    run, texts, kinds = stored(tmp_path / "i.db")
    assert run == ("failed", reason) and len(texts) == summary["confirmed"] > 0
    assert "in_flight" not in kinds
    # What was stored stays: a resume writes the file out, then goes on.
    p = igentai("--headless", "--resume", "last", "--max-requests", "35", "--db", "i.db",
                "-o", "out.txt", cwd=tmp_path)  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert f"{count(len(texts), 'entry')} restored" in p.stderr
    lines = (tmp_path / "out.txt").read_text().splitlines()
    assert lines[: len(texts)] == texts  # written out in the order found, then the new ones
    assert sorted(lines) == sorted(stored(tmp_path / "i.db")[1])


def test_output_to_dev_null_is_fine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A device takes the lines but cannot be synced (fsync says EINVAL): not an error."""
    db = str(tmp_path / "i.db")
    assert main([*RUN, "--max-requests", "2", "--db", db, "-o", "/dev/null"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "completed"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs: a file system that really fills up (mounting needs root)."""
    where = tmp_path / "disk"
    where.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
                          capture_output=True, text=True)  # fmt: skip
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {made.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def test_the_database_disk_filling_fails_the_run_cleanly(tmp_path: Path, small_disk: Path) -> None:
    db = small_disk / "i.db"
    p = igentai(*BIG, "--max-requests", "5000", "--db", str(db), "-o", "out.txt", cwd=tmp_path)
    assert p.returncode == 1 and "Traceback" not in p.stderr, p.stderr
    summary = json.loads(p.stdout)
    assert summary["status"] == "failed"
    assert summary["stop_reason"] == "database error: database or disk is full"
    assert summary["requests"] < 5000  # the disk filled before the limit
    run, texts, kinds = stored(db)
    assert run == ("failed", "database error: database or disk is full")  # was left running
    assert "in_flight" not in kinds  # the requests cut short are marked interrupted
    # What was stored stays, and output.txt holds exactly that.
    assert len(texts) == summary["confirmed"] > 0
    assert sorted((tmp_path / "out.txt").read_text().splitlines()) == sorted(texts)


def test_a_resume_whose_output_disk_is_full_says_so(tmp_path: Path, small_disk: Path) -> None:
    """The resume's repair of the output file cannot write: one line, exit 1, nothing run."""
    out = small_disk / "out.txt"
    p = igentai(*BIG, "--max-requests", "4", "--db", "i.db", "-o", str(out), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    out.write_text("")  # the file is behind the database ...
    with contextlib.suppress(OSError), (small_disk / "filler").open("wb") as fh:
        while True:  # ... and its disk is full
            fh.write(b"\0" * 65536)
    before = stored(tmp_path / "i.db")
    p = igentai("--headless", "--resume", "last", "--db", "i.db", cwd=tmp_path)
    assert p.returncode == 1 and p.stdout == "" and "Traceback" not in p.stderr, p.stderr
    assert p.stderr.endswith(f"igentai: error: cannot write output file {out}: No space left on "
                             "device\n")  # fmt: skip
    assert stored(tmp_path / "i.db") == before
