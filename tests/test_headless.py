"""`igentai --headless` as a user runs it: a subprocess, its JSON summary, the DB, output.txt."""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import pty
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    e["PYTHONUNBUFFERED"] = "1"
    return e


def igentai(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "igentai_tui", *args],
        cwd=cwd,
        env=env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def check_consistent(tmp_path: Path, summary: dict) -> list[str]:
    con = sqlite3.connect(tmp_path / "igentai.db")
    run_id, status = con.execute(
        "SELECT id, status FROM runs WHERE uid = ?", (summary["run_id"],)
    ).fetchone()
    texts, keys = [], set()
    for text, key in con.execute(
        "SELECT text, key FROM entries WHERE run_id = ? ORDER BY id", (run_id,)
    ):
        texts.append(text)
        keys.add(key)
    confirmed = [
        r[0]
        for r in con.execute(
            "SELECT text FROM entries WHERE run_id = ? AND status = 'confirmed'", (run_id,)
        )
    ]
    requests, tokens = con.execute(
        "SELECT count(*), sum(input_tokens + output_tokens) FROM calls WHERE run_id = ?", (run_id,)
    ).fetchone()
    con.close()
    lines = (tmp_path / "output.txt").read_text(encoding="utf-8").splitlines()
    assert sorted(lines) == sorted(confirmed)  # output.txt holds the confirmed entries
    assert len(keys) == len(texts)
    assert summary["unique"] == len(texts) and summary["confirmed"] == len(confirmed)
    assert summary["requests"] == requests
    assert summary["input_tokens"] + summary["output_tokens"] == tokens
    assert status == summary["status"]
    return texts


def test_headless_run_end_to_end(tmp_path: Path) -> None:
    r = igentai(
        "--headless", "Paris attractions", "--providers", "sim:fast", "--producers", "4",
        "--max-unique", "120", "--db", "igentai.db", "--seed", "2", cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert (
        summary["status"] == "completed" and summary["stop_reason"] == "unique-entry limit reached"
    )
    texts = check_consistent(tmp_path, summary)
    lines = (tmp_path / "output.txt").read_text(encoding="utf-8").splitlines()
    assert summary["confirmed"] == len(lines) == 120  # the limit counts confirmed entries
    assert set(summary["producers"]) == {"1", "2", "3", "4"}
    assert summary["providers"]["sim:fast"]["new"] == len(texts)
    assert summary["providers"]["sim:fast"]["confirmed"] == 120
    cov = summary["coverage"]  # the estimate of real entries and its band
    low, high = cov["estimated_band"]
    assert 120 <= low <= cov["estimated_total"] <= high
    assert cov["completeness"] == pytest.approx(120 / cov["estimated_total"])
    assert "Traceback" not in r.stderr


def test_default_run_says_it_uses_sim(tmp_path: Path) -> None:
    r = igentai(
        "--headless", "board games", "--max-requests", "3", "--db", "igentai.db", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    assert "using sim" in r.stderr
    check_consistent(tmp_path, json.loads(r.stdout))


def start(tmp_path: Path, *args: str, env_extra: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "igentai_tui", "--headless", "Paris attractions", "--providers",
         "sim:fast", "--db", "igentai.db", "--duration", "60", *args],
        cwd=tmp_path, env={**env(), **(env_extra or {})}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def running(proc: subprocess.Popen) -> str:
    """Wait until the run is up (its first progress line); the stderr lines before it."""
    lines = []
    assert proc.stderr is not None
    while not (line := proc.stderr.readline()).startswith("["):
        assert line, f"the run ended before it started: {lines}"
        lines.append(line)
    return "".join(lines)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_before_the_engine_is_up_exits_130(tmp_path: Path, sig: signal.Signals) -> None:
    """Held where igentai reads its keys file (a FIFO nobody writes yet), past its imports and
    before the engine exists, the process gets the signal twice: exit 130, as README says."""
    config = tmp_path / "config"
    config.mkdir()
    fifo = config / "keys.json"
    os.mkfifo(fifo)
    proc = start(tmp_path, env_extra={"IGENTAI_CONFIG_DIR": str(config)})
    for _ in range(3000):  # until it opens the FIFO (ENXIO while nobody reads it)
        try:
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.01)
    else:
        pytest.fail("igentai never read its keys file")
    try:
        # Once igentai is blocked in its read of the FIFO (a signal that lands in the moment
        # between its open and its read, before Python checks for signals, is only seen when
        # the read returns: never, here; a regular keys file does not block).
        time.sleep(0.5)
        proc.send_signal(sig)
        proc.send_signal(sig)  # twice in a row: the second must not cut the exit short
        out, err = proc.communicate(timeout=30)
    finally:
        os.close(writer)
    assert proc.returncode == 130, err
    assert out == "" and err.strip() == "igentai: interrupted", err
    assert not (tmp_path / "igentai.db").exists()  # nothing was stored yet


def test_sigint_stores_everything_and_exits_130(tmp_path: Path) -> None:
    proc = start(tmp_path)
    running(proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)  # twice in a row
    out, err = proc.communicate(timeout=30)
    assert "Traceback" not in err
    assert proc.returncode == 130, err
    summary = json.loads(out)
    assert summary["status"] == "stopped"
    check_consistent(tmp_path, summary)


def test_sigterm_behaves_like_ctrl_c(tmp_path: Path) -> None:
    proc = start(tmp_path)
    running(proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    summary = json.loads(out)
    assert "SIGTERM" in summary["stop_reason"]
    check_consistent(tmp_path, summary)


def run_in_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str) -> str:
    """`igentai --headless ARGS` on sim in `tmp_path`; its stderr."""
    from igentai_tui.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IGENTAI_CONFIG_DIR", str(tmp_path / "config"))
    for var in list(os.environ):
        if var.endswith("_API_KEY"):
            monkeypatch.delenv(var)
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(["--headless", *args, "--providers", "sim:instant", "--max-requests", "3"])
    assert code == 0, err.getvalue()
    return err.getvalue()


def test_output_folders_are_made_like_the_databases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_in_process(monkeypatch, tmp_path, "Stars", "--db", "a/b/x.db", "-o", "c/d/list.txt")
    assert (tmp_path / "a/b/x.db").is_file()
    assert (tmp_path / "c/d/list.txt").read_text(encoding="utf-8").strip()


def test_a_new_run_says_when_its_list_file_already_holds_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run_in_process(monkeypatch, tmp_path, "Paris attractions", "--db", "x.db")
    assert "already holds" not in first
    lines = len((tmp_path / "output.txt").read_text(encoding="utf-8").splitlines())
    uid = sqlite3.connect(tmp_path / "x.db").execute("SELECT uid FROM runs").fetchone()[0]
    err = run_in_process(monkeypatch, tmp_path, "Board games", "--db", "x.db")
    assert (f"output.txt already holds {lines} lines from the topic 'Paris attractions' "
            f"(run {uid}): this run appends its entries after them") in err  # fmt: skip
    sql = "SELECT uid FROM runs WHERE topic = 'Board games'"
    uid = sqlite3.connect(tmp_path / "x.db").execute(sql).fetchone()[0]
    err = run_in_process(monkeypatch, tmp_path, "Board games", "--db", "x.db")
    assert f"from an earlier run of this topic ({uid}): this run appends its entries" in err
    assert f"repeats included (--resume {uid} continues that run instead)" in err
    err = run_in_process(monkeypatch, tmp_path, "Enzymes", "--db", "other.db")
    assert "lines that this database did not write" in err
    err = run_in_process(monkeypatch, tmp_path, "Enzymes", "--db", "x.db", "-o", "own.txt")
    assert "already holds" not in err


def _stored_something(db: Path) -> bool:
    if not db.exists():
        return False
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT count(*) FROM entries").fetchone()[0] > 0
    except sqlite3.Error:  # not made yet
        return False
    finally:
        con.close()


def run_then_close_its_terminal(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run igentai on a pseudo-terminal of 100x30, its controlling terminal (headless: stdout
    to a file, as `igentai --headless … > summary.json`), close the terminal once the run has
    stored something, as closing a terminal window does; return the exit status and stdout."""
    pid, master = pty.fork()
    if pid == 0:  # the child: exec at once, hanging up as a terminal's program does even when
        # the tests run under `nohup` (igentai keeps an inherited "ignore" on purpose)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        if "--headless" in args:
            fd = os.open(tmp_path / "stdout.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 1)
        os.chdir(tmp_path)
        argv = [sys.executable, "-m", "igentai_tui", *args]
        os.execvpe(sys.executable, argv, {**env(), "TERM": "xterm-256color"})
    status = None
    try:
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))  # 100x30
        os.set_blocking(master, False)
        deadline = time.monotonic() + 60  # guards against a hang; nothing here is measured
        while not _stored_something(tmp_path / "igentai.db"):
            assert time.monotonic() < deadline, "the run stored nothing"
            with contextlib.suppress(BlockingIOError):
                os.read(master, 65536)  # keep the terminal drained
            time.sleep(0.05)
        os.close(master)  # the terminal goes away: the kernel sends SIGHUP
        deadline = time.monotonic() + 60
        while (ended := os.waitpid(pid, os.WNOHANG))[0] == 0:
            assert time.monotonic() < deadline, "igentai did not end after its terminal closed"
            time.sleep(0.05)
        status = ended[1]
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    out = tmp_path / "stdout.txt"
    return os.waitstatus_to_exitcode(status), out.read_text() if out.exists() else ""


def test_closing_the_terminal_stores_everything_and_exits_129(tmp_path: Path) -> None:
    code, out = run_then_close_its_terminal(
        tmp_path, "--headless", "Paris attractions", "--providers", "sim:fast", "--db",
        "igentai.db", "--duration", "60",
    )  # fmt: skip
    assert code == 129  # was -1: killed by the signal, nothing printed, the run left running
    summary = json.loads(out)
    assert (summary["status"], summary["stop_reason"]) == ("stopped", "interrupted by SIGHUP")
    check_consistent(tmp_path, summary)  # the run row says so too; output.txt = the entries


def test_sighup_is_ignored_under_nohup(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "igentai_tui", "--headless", "Paris attractions", "--providers",
         "sim:fast", "--db", "igentai.db", "--duration", "2"],
        cwd=tmp_path, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),  # what nohup does
    )  # fmt: skip
    assert proc.stderr is not None
    proc.stderr.readline()  # the run has started
    proc.send_signal(signal.SIGHUP)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert json.loads(out)["stop_reason"] == "duration reached"


def test_a_reader_that_goes_loses_the_summary_not_the_run(tmp_path: Path) -> None:
    """`igentai --headless ... | head`, and `igentai runs | head`: the reader of stdout has gone
    before the summary is printed. No traceback, the run's own exit status, everything
    stored; the read commands likewise."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "igentai_tui", "--headless", "Paris attractions", "--providers",
         "sim:instant", "--db", "igentai.db", "--max-requests", "3"],
        cwd=tmp_path, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader goes before anything is printed on stdout
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    con = sqlite3.connect(tmp_path / "igentai.db")
    status, entries = con.execute(
        "SELECT status, (SELECT count(*) FROM entries) FROM runs"
    ).fetchone()
    con.close()
    assert status == "completed" and entries > 0
    for command in (["runs"], ["export", "last"], ["stats", "last"]):
        proc = subprocess.Popen(
            [sys.executable, "-m", "igentai_tui", *command, "--db", "igentai.db"],
            cwd=tmp_path, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        err = proc.stderr.read()
        assert proc.wait(timeout=60) == 0, (command, err)
        assert "Traceback" not in err and "BrokenPipe" not in err, (command, err)


@pytest.mark.parametrize(("sig", "status"), [("SIGTERM", 130), ("SIGHUP", 129)])
def test_a_stop_signal_while_the_summary_is_printed_ends_with_its_status(
    sig: str, status: int
) -> None:
    """After the run's event loop has closed (its handlers with it), while the summary is
    printed: SIGTERM or SIGHUP end igentai with 130 or 129, not killed with no status (-15)."""
    code = (
        "import os, signal, time\n"
        "from igentai_tui.signals import ending\n"
        "with ending():\n"
        f"    os.kill(os.getpid(), signal.{sig})\n"
        "    time.sleep(5)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL),  # even under `nohup`
    )  # fmt: skip
    assert r.returncode == status, r.stderr
