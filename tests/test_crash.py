"""Crash safety: SIGKILL `igentai --headless` at seeded random moments, resume, check every time.

After each kill, read straight from the database (sqlite3) and output.txt:
- every complete line of output.txt is a stored entry, and no key appears twice in either;
- the calls table is whole: ids without a gap, `sum(new)` equal to the stored entries, every
  entry's first call present, every answered call with its tokens;
- once a resumed process has said "resuming run" (the file was repaired), every entry stored
  before it started is in the file.
At the end a resume runs to its limit: the file then holds exactly the stored entries, and the
summary's requests and tokens are the calls table's. Against the local OpenAI server the test
also counts the requests the server saw that no calls row records (lost with a kill: replies
in flight or not yet committed) and checks that bound.

CI runs a few kills; IGENTAI_LONG_TESTS=1 runs 20 per provider (docs/reliability.md).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fakes import openai_server as oa
from fakes.server import Seen

from igentai_tui.engine.normalize import key_of
from igentai_tui.providers.openai import PLACEHOLDER_KEY

LONG = os.environ.get("IGENTAI_LONG_TESTS") == "1"
PRODUCERS = 4
SLOTS = max(16, 4 * PRODUCERS)  # the orchestrator's hand-over bound (submit back-pressure)
TOPIC = "Stars (sim:50000)"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env.update(PYTHONUNBUFFERED="1", IGENTAI_CONFIG_DIR=str(tmp_path / "config"), **extra)
    return env


def _query(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _has_run(db: Path) -> bool:
    if not db.exists():
        return False
    try:
        return bool(_query(db, "SELECT count(*) FROM runs")[0][0])
    except sqlite3.OperationalError:  # killed before the schema was committed
        return False


def _file_lines(path: Path) -> tuple[list[str], str]:
    """The complete lines of output.txt, and a last line cut short by the kill (or "")."""
    if not path.exists():
        return [], ""
    text = path.read_bytes().decode("utf-8", "replace")
    *lines, partial = text.split("\n")
    return lines, partial


def _wait_for_more(db: Path, stored: int, proc: subprocess.Popen[bytes]) -> None:
    """Wait until the run has stored more than `stored` entries (at most 30 s), or has ended."""
    deadline = time.monotonic() + 30
    while proc.poll() is None:
        try:
            if _has_run(db) and _query(db, "SELECT count(*) FROM entries")[0][0] > stored:
                return
        except sqlite3.OperationalError:  # busy: try again
            pass
        assert time.monotonic() < deadline, "the run stored nothing new within 30 s"
        time.sleep(0.05)


@dataclass
class Report:
    kills: int = 0
    killed_empty: int = 0
    repaired_then_killed: int = 0
    partial_lines: int = 0
    entries: int = 0
    calls: int = 0
    lost_calls: list[int] = field(default_factory=list)  # per kill, when a server counts


def check_after_kill(tmp_path: Path, report: Report) -> set[str]:
    """The invariants a SIGKILL must leave true; returns the stored keys."""
    db = tmp_path / "igentai.db"
    if not _has_run(db):
        return set()
    texts = [t for (t,) in _query(db, "SELECT text FROM entries ORDER BY id")]
    keys = [key_of(t) for t in texts]
    assert len(set(keys)) == len(keys), "a key stored twice"
    stored = set(keys)
    lines, partial = _file_lines(tmp_path / "output.txt")
    line_keys = [key_of(line) for line in lines]
    assert len(set(line_keys)) == len(line_keys), "a key twice in output.txt"
    assert set(line_keys) <= stored, "output.txt is ahead of the database"
    if partial:  # the kill cut a write: the cut line is the start of a stored entry
        report.partial_lines += 1
        assert any(t.startswith(partial) for t in texts)
    ids, new, tin, tout = _query(
        db, "SELECT count(*), coalesce(sum(new), 0), min(input_tokens), "
        "min(CASE WHEN returned > 0 THEN output_tokens END) FROM calls WHERE error_kind IS NULL",
    )[0]  # fmt: skip
    ((n_calls, lo, hi),) = _query(db, "SELECT count(*), min(id), max(id) FROM calls")
    assert n_calls == 0 or hi - lo + 1 == n_calls, "a gap in the calls table"
    assert new == len(texts), "entries without the call that found them, or the reverse"
    orphans = _query(db, "SELECT count(*) FROM entries WHERE first_call_id NOT IN "
                         "(SELECT id FROM calls)")[0][0]  # fmt: skip
    assert orphans == 0
    if ids:
        # an empty reply (a dry partition) may have no output tokens; one with entries has some
        assert tin > 0 and (tout is None or tout > 0), "an answered call stored without its tokens"
    report.entries, report.calls = len(texts), n_calls
    return stored


def crash_and_resume(tmp_path: Path, providers: str, kills: int, seed: int,
                     server: oa.OpenAIServer | None = None, env: dict[str, str] | None = None,
                     ) -> Report:  # fmt: skip
    rng = random.Random(seed)
    env = env or _env(tmp_path)
    report = Report()
    base = ["--providers", providers, "--producers", str(PRODUCERS), "--db", "igentai.db",
            "--seed", str(seed)]  # fmt: skip
    for cycle in range(kills):
        stored_before = check_after_kill(tmp_path, report)
        seen_before = server.count if server else 0
        calls_before = report.calls
        resuming = _has_run(tmp_path / "igentai.db")
        args = ["--resume", "last"] if resuming else [TOPIC, "--duration", "600"]
        err = (tmp_path / f"stderr-{cycle}.txt").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "igentai_tui", "--headless", *args, *base],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
        if rng.random() < 0.25:  # during start-up, or the resume's repair
            time.sleep(rng.uniform(0.05, 1.0))
        else:  # once the run is storing again, a little later
            _wait_for_more(tmp_path / "igentai.db", len(stored_before), proc)
            time.sleep(rng.uniform(0.0, 1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        err.close()
        report.kills += 1
        said = (tmp_path / f"stderr-{cycle}.txt").read_text(encoding="utf-8")
        assert proc.returncode == -signal.SIGKILL, f"the run ended by itself: {said}"
        stored = check_after_kill(tmp_path, report)
        if not stored:
            report.killed_empty += 1
        if "resuming run" in said:  # the file was repaired before the kill
            report.repaired_then_killed += 1
            lines, _ = _file_lines(tmp_path / "output.txt")
            assert stored_before <= {key_of(line) for line in lines}, "repair lost entries"
        if server is not None:  # requests the server answered that no calls row records
            report.lost_calls.append((server.count - seen_before) - (report.calls - calls_before))
    final_resume(tmp_path, base, env, report)
    return report


def final_resume(tmp_path: Path, base: list[str], env: dict[str, str], report: Report) -> None:
    db = tmp_path / "igentai.db"
    first = [] if _has_run(db) else [TOPIC]
    args = first or ["--resume", "last"]
    target = (report.entries if not first else 0) + 50
    r = subprocess.run(
        [sys.executable, "-m", "igentai_tui", "--headless", *args, *base, "--max-unique",
         str(target)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    check_after_kill(tmp_path, report)
    texts = [t for (t,) in _query(db, "SELECT text FROM entries ORDER BY id")]
    lines, partial = _file_lines(tmp_path / "output.txt")
    assert partial == ""
    assert sorted(key_of(t) for t in lines) == sorted(key_of(t) for t in texts)
    assert summary["unique"] == len(texts) == target
    ((n, tokens),) = _query(db, "SELECT count(*), sum(input_tokens + output_tokens) FROM calls")
    assert summary["requests"] == n
    assert summary["input_tokens"] + summary["output_tokens"] == tokens
    assert _query(db, "SELECT count(*), max(status) FROM runs")[0] == (1, "completed")


def _print(name: str, report: Report) -> None:
    lost = f", lost calls per kill {report.lost_calls}" if report.lost_calls else ""
    print(f"\n{name}: {report.kills} kills ({report.killed_empty} before any entry was stored, "
          f"{report.repaired_then_killed} after a repair, {report.partial_lines} cut lines); "
          f"{report.entries} entries, {report.calls} calls at the end{lost}")  # fmt: skip


@pytest.mark.parametrize("seed", [7])
def test_sigkill_and_resume_on_sim(tmp_path: Path, seed: int) -> None:
    report = crash_and_resume(tmp_path, "sim:instant", 20 if LONG else 5, seed)
    _print("sim", report)
    assert report.kills - report.killed_empty >= 1  # some kills hit a live run


@pytest.fixture
def local_openai() -> Iterator[oa.OpenAIServer]:
    counter = itertools.count()

    def answer(seen: Seen) -> str:  # fresh stars, with a few repeats of earlier ones
        start = next(counter) * 30
        fresh = [f"Star {n}" for n in range(start, start + 30)]
        return "\n".join(fresh + [f"Star {n // 3}" for n in range(start, start + 10, 2)])

    with oa.OpenAIServer(api_key=PLACEHOLDER_KEY) as server:
        server.answer = answer
        yield server


def test_sigkill_and_resume_on_a_local_openai_server(
    tmp_path: Path, local_openai: oa.OpenAIServer
) -> None:
    providers = f"openai:gpt-4o-mini@{local_openai.base_url}"
    report = crash_and_resume(tmp_path, providers, 20 if LONG else 3, 11, server=local_openai)
    _print("openai", report)
    # A kill loses at most what was in flight or handed over and not yet committed.
    assert all(0 <= lost <= PRODUCERS + SLOTS for lost in report.lost_calls), report.lost_calls
    # The clean end lost nothing: every other request the server saw has its calls row.
    assert local_openai.count - report.calls == sum(report.lost_calls)
