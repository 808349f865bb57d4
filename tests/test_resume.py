"""--resume after a SIGKILL: the same run continues, nothing lost, nothing twice."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from test_headless import env, igentai


def start(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "igentai_tui", "--headless", *args, "--db", "igentai.db"],
        cwd=tmp_path, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def entries(tmp_path: Path, status: str | None = None, column: str = "text") -> list[str]:
    """The run's entries' texts (or keys) in the order found (those with `status`, or all)."""
    con = sqlite3.connect(tmp_path / "igentai.db")
    sql = f"SELECT {column} FROM entries WHERE ? IS NULL OR status = ? ORDER BY id"
    rows = [r[0] for r in con.execute(sql, (status, status))]
    con.close()
    return rows


def wait_for_entries(
    tmp_path: Path, n: int, timeout: float = 20, status: str | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (tmp_path / "igentai.db").exists():
            try:
                if len(entries(tmp_path, status)) >= n:
                    return
            except sqlite3.OperationalError:
                pass
        time.sleep(0.1)
    raise AssertionError("the run stored nothing")


def test_resume_after_sigkill(tmp_path: Path) -> None:
    proc = start(tmp_path, "Paris attractions", "--providers", "sim:fast", "--duration", "60")
    wait_for_entries(tmp_path, 20, status="confirmed")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    before = entries(tmp_path, column="key")  # a text may change: shown without a qualifier
    before_confirmed = entries(tmp_path, "confirmed")
    # the crash left the file behind the DB (or cut mid-line): simulate the worst case
    out = tmp_path / "output.txt"
    lines = out.read_text(encoding="utf-8").splitlines()
    out.write_text("\n".join(lines[: len(lines) // 2]) + "\nPartial ent", encoding="utf-8")

    r = igentai(
        "--headless", "--resume", "last", "--max-unique", str(len(before_confirmed) + 40),
        "--db", "igentai.db", cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "resuming run" in r.stderr and "entries restored" in r.stderr
    summary = json.loads(r.stdout)
    after = entries(tmp_path, column="key")
    assert after[: len(before)] == before  # nothing lost
    assert len(after) == summary["unique"]
    assert len(set(after)) == len(after)  # nothing twice
    confirmed = entries(tmp_path, "confirmed")
    assert summary["confirmed"] == len(confirmed) == len(before_confirmed) + 40
    assert sorted(out.read_text(encoding="utf-8").splitlines()) == sorted(confirmed)
    con = sqlite3.connect(tmp_path / "igentai.db")
    assert con.execute("SELECT count(*), max(status) FROM runs").fetchone() == (1, "completed")
    con.close()
    # The crash and the gap are visible: two sessions, the first never ended.
    assert "idle: " in r.stderr
    stats = json.loads(
        igentai("stats", "last", "--json", "--db", "igentai.db", cwd=tmp_path).stdout
    )
    first, second = stats["sessions"]
    assert first["ended"] is None and second["status"] == "completed"
    assert stats["active_s"] is None  # the crashed session's length is unknown


def test_resuming_a_live_run_is_refused(tmp_path: Path) -> None:
    proc = start(tmp_path, "board games", "--providers", "sim:fast", "--duration", "60")
    try:
        wait_for_entries(tmp_path, 1)
        r = igentai("--headless", "--resume", "last", "--db", "igentai.db", cwd=tmp_path)
        assert r.returncode == 2
        assert "live in another process" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 130


def test_resume_unknown_run(tmp_path: Path) -> None:
    r = igentai("--headless", "--resume", "nope", "--db", "igentai.db", cwd=tmp_path)
    assert r.returncode == 2 and "--resume" in r.stderr


def test_reading_during_a_live_run(tmp_path: Path) -> None:
    proc = start(tmp_path, "board games", "--providers", "sim:fast", "--producers", "8",
                 "--duration", "60")  # fmt: skip
    try:
        wait_for_entries(tmp_path, 1)
        for _ in range(5):
            r = igentai("stats", "last", "--json", "--db", "igentai.db", cwd=tmp_path)
            assert r.returncode == 0, r.stderr
            stats = json.loads(r.stdout)
            # one snapshot: the entries counted are exactly the new ones the calls report
            assert stats["entries"] == sum(p["new"] for p in stats["providers"].values())
            r = igentai("export", "last", "--status", "all", "--db", "igentai.db", cwd=tmp_path)
            assert r.returncode == 0 and len(r.stdout.splitlines()) >= stats["entries"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert json.loads(out)["unique"] == len(entries(tmp_path))
