"""Crash safety: SIGKILL `igentai --headless` at seeded random moments, resume, check every time.

After each kill, read straight from the database (sqlite3) and output.txt:
- every complete line of output.txt is a stored entry, and no key appears twice in either;
- the calls table is whole: ids without a gap, `sum(new)` equal to the stored entries, every
  entry's first call present, every answered call with its tokens;
- once a resumed process has said "resuming run" (the file was repaired), every entry stored
  before it started is in the file.
- every request in flight has its calls row (`in_flight`, input tokens estimated), committed
  before it was sent: at most one a producer.
At the end a resume runs to its limit: the file then holds exactly the stored entries, no row
is left in flight, and the summary's requests and tokens are the calls table's. Against the
local OpenAI server the test also checks that every request the server received has its calls
row (a kill may leave a few rows more: committed, killed before sending), and that the tokens
it billed are all in the table: exactly for answered calls, estimated for interrupted ones.

CI runs a few kills; IGENTAI_LONG_TESTS=1 runs 20 per provider (docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fakes import openai_server as oa
from fakes.server import Reply, Seen

from igentai_tui.engine.normalize import key_of
from igentai_tui.engine.orchestrator import Arm, Orchestrator, RunSettings
from igentai_tui.output import OutputFile
from igentai_tui.providers.base import Completion, CompletionRequest, estimate_tokens
from igentai_tui.providers.openai import PLACEHOLDER_KEY
from igentai_tui.store import Store

LONG = os.environ.get("IGENTAI_LONG_TESTS") == "1"
PRODUCERS = 4
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
    confirmed: int = 0
    kills: int = 0
    killed_empty: int = 0
    repaired_then_killed: int = 0
    partial_lines: int = 0
    entries: int = 0
    calls: int = 0
    flying: set[int] = field(default_factory=set)  # ids of the calls rows now in flight
    in_flight: list[int] = field(default_factory=list)  # how many after each kill
    interrupted: set[int] = field(default_factory=set)  # ids that were in flight after a kill
    unsent: list[int] = field(default_factory=list)  # per kill, rows the server never received


def _settle(server: oa.OpenAIServer) -> None:
    """Wait until the server's request count has not moved for 0.2 s."""
    count = -1
    while count != server.count:
        count = server.count
        time.sleep(0.2)


def check_after_kill(tmp_path: Path, report: Report) -> set[str]:
    """The invariants a SIGKILL must leave true; returns the keys of the confirmed entries
    (output.txt's: it may lag behind them, never run ahead)."""
    db = tmp_path / "igentai.db"
    if not _has_run(db):
        return set()
    texts = [t for (t,) in _query(db, "SELECT text FROM entries ORDER BY id")]
    keys = [k for (k,) in _query(db, "SELECT key FROM entries")]
    assert len(set(keys)) == len(keys), "a key stored twice"
    confirmed = [t for (t,) in _query(db, "SELECT text FROM entries WHERE status = 'confirmed'")]
    stored = {key_of(t) for t in confirmed}
    lines, partial = _file_lines(tmp_path / "output.txt")
    line_keys = [key_of(line) for line in lines]
    assert len(set(line_keys)) == len(line_keys), "a key twice in output.txt"
    assert set(line_keys) <= stored, "output.txt is ahead of the database"
    if partial:  # the kill cut a write: the cut line is the start of a confirmed entry
        report.partial_lines += 1
        assert any(t.startswith(partial) for t in confirmed)
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
    unestimated = _query(
        db, "SELECT count(*) FROM calls WHERE error_kind IN ('in_flight', 'interrupted') "
        "AND (estimated != 1 OR input_tokens <= 0)",
    )[0][0]  # fmt: skip
    assert unestimated == 0, "a call without a reply and without its estimated tokens"
    report.entries, report.calls, report.confirmed = len(texts), n_calls, len(confirmed)
    report.flying = {
        i for (i,) in _query(db, "SELECT id FROM calls WHERE error_kind = 'in_flight'")
    }
    return stored


def crash_and_resume(tmp_path: Path, providers: str, kills: int, seed: int,
                     server: oa.OpenAIServer | None = None, env: dict[str, str] | None = None,
                     extra: list[str] | None = None) -> Report:  # fmt: skip
    rng = random.Random(seed)
    env = env or _env(tmp_path)
    report = Report()
    base = ["--providers", providers, "--producers", str(PRODUCERS), "--db", "igentai.db",
            "--seed", str(seed), *(extra or [])]  # fmt: skip
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
        if server is not None:  # a request the killed process had written may arrive late
            _settle(server)
        stored = check_after_kill(tmp_path, report)
        if not stored:
            report.killed_empty += 1
        # Each producer has at most one request in flight, and its row was committed first.
        assert len(report.flying) <= PRODUCERS, report.flying
        report.in_flight.append(len(report.flying))
        report.interrupted |= report.flying
        if "resuming run" in said:  # the file was repaired before the kill
            report.repaired_then_killed += 1
            lines, _ = _file_lines(tmp_path / "output.txt")
            assert stored_before <= {key_of(line) for line in lines}, "repair lost entries"
        if server is not None:  # every request the server received has its calls row
            unsent = (report.calls - calls_before) - (server.count - seen_before)
            assert 0 <= unsent <= report.in_flight[-1], (unsent, report.in_flight[-1])
            report.unsent.append(unsent)
    final_resume(tmp_path, base, env, report)
    return report


def final_resume(tmp_path: Path, base: list[str], env: dict[str, str], report: Report) -> None:
    db = tmp_path / "igentai.db"
    first = [] if _has_run(db) else [TOPIC]
    args = first or ["--resume", "last"]
    target = (report.confirmed if not first else 0) + 50
    r = subprocess.run(
        [sys.executable, "-m", "igentai_tui", "--headless", *args, *base, "--max-unique",
         str(target)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    check_after_kill(tmp_path, report)
    texts = [t for (t,) in _query(db, "SELECT text FROM entries ORDER BY id")]
    confirmed = [t for (t,) in _query(db, "SELECT text FROM entries WHERE status = 'confirmed'")]
    lines, partial = _file_lines(tmp_path / "output.txt")
    assert partial == ""
    assert sorted(key_of(t) for t in lines) == sorted(key_of(t) for t in confirmed)
    assert summary["unique"] == len(texts) and summary["confirmed"] == len(confirmed) == target
    ((n, tokens),) = _query(db, "SELECT count(*), sum(input_tokens + output_tokens) FROM calls")
    assert not report.flying, "a clean stop left a request in flight"
    if report.interrupted:  # the resumes marked what the kills left in flight
        marks = ",".join(map(str, report.interrupted))
        kinds = _query(db, f"SELECT DISTINCT error_kind FROM calls WHERE id IN ({marks})")
        assert kinds == [("interrupted",)], kinds
    assert summary["requests"] == n
    assert summary["input_tokens"] + summary["output_tokens"] == tokens
    assert _query(db, "SELECT count(*), max(status) FROM runs")[0] == (1, "completed")


def _print(name: str, report: Report) -> None:
    lost = f", rows never sent per kill {report.unsent}" if report.unsent else ""
    print(f"\n{name}: {report.kills} kills ({report.killed_empty} before any entry was stored, "
          f"{report.repaired_then_killed} after a repair, {report.partial_lines} cut lines); "
          f"{report.entries} entries, {report.calls} calls at the end; in flight after each "
          f"kill {report.in_flight}{lost}")  # fmt: skip


@pytest.mark.parametrize("seed", [7])
def test_sigkill_and_resume_on_sim(tmp_path: Path, seed: int) -> None:
    report = crash_and_resume(tmp_path, "sim:instant", 20 if LONG else 5, seed)
    _print("sim", report)
    assert report.kills - report.killed_empty >= 1  # some kills hit a live run


@pytest.fixture
def local_openai() -> Iterator[oa.OpenAIServer]:
    counter = itertools.count()

    def answer(seen: Seen) -> Reply:  # fresh stars, with a few repeats of earlier ones
        start = next(counter) * 30
        fresh = [f"Star {n}" for n in range(start, start + 30)]
        text = "\n".join(fresh + [f"Star {n // 3}" for n in range(start, start + 10, 2)])
        usage = {"prompt_tokens": BILLED[0], "completion_tokens": BILLED[1]}
        return Reply(200, oa.completion(text, **usage), dict(oa.RATE_HEADERS))

    with oa.OpenAIServer(api_key=PLACEHOLDER_KEY) as server:
        server.default = answer  # type: ignore[method-assign]
        yield server


BILLED = (50, 100)  # the tokens the local server bills each request: input, output


def test_sigkill_and_resume_on_a_local_openai_server(
    tmp_path: Path, local_openai: oa.OpenAIServer
) -> None:
    providers = f"openai:gpt-4o-mini@{local_openai.base_url}"
    # The server answers every prompt with a list: verification is off (its path is crashed
    # on sim above).
    report = crash_and_resume(
        tmp_path, providers, 20 if LONG else 3, 11, server=local_openai, extra=["--no-verify"]
    )
    _print("openai", report)
    # Every request the server received is a calls row; the others were never sent.
    db = tmp_path / "igentai.db"
    ((answered, tokens, interrupted),) = _query(
        db, "SELECT count(CASE WHEN error_kind IS NULL THEN 1 END), "
        "sum(CASE WHEN error_kind IS NULL THEN input_tokens + output_tokens END), "
        "count(CASE WHEN error_kind = 'interrupted' THEN 1 END) FROM calls",
    )  # fmt: skip
    assert report.calls - local_openai.count == sum(report.unsent)
    # What it billed is in the table: exactly for each answered call; a request whose reply a
    # kill lost is an interrupted call with its input tokens estimated.
    assert tokens == answered * sum(BILLED)
    assert local_openai.count - answered <= interrupted


class Gate:
    """A provider that, when called, reads the calls table through its own connection; its
    third call blocks until `release` is set."""

    name = "gate"

    def __init__(self, db: Path, blocked: threading.Event) -> None:
        self.db = db
        self.blocked = blocked
        self.release = threading.Event()
        self.seen: list[tuple] = []  # the newest calls row at each call, and the estimate
        self._n = 0

    def complete(self, request: CompletionRequest) -> Completion:
        row = _query(self.db, "SELECT id, producer, error_kind, estimated, input_tokens, "
                              "latency_s FROM calls ORDER BY id DESC LIMIT 1")  # fmt: skip
        self.seen.append((*row[0], estimate_tokens(request.system + request.prompt)))
        self._n += 1
        if self._n == 3:
            self.blocked.set()
            self.release.wait(30)
        text = "\n".join(f"Gate {self._n}-{i}" for i in range(10))
        return Completion(text, 40, 20)

    def context_window(self, model: str) -> int:
        return 8000


async def test_a_request_row_is_committed_before_sending_and_a_stop_leaves_none_in_flight(
    tmp_path: Path,
) -> None:
    db = tmp_path / "igentai.db"
    blocked = threading.Event()
    gate = Gate(db, blocked)
    settings = RunSettings("Paris attractions", [Arm("gate", "m")], producers=1, partitions=False)
    store = await Store.open(db)
    output = OutputFile(tmp_path / "output.txt")
    orc = Orchestrator(settings, store, {"gate:m": gate}, output, grace_s=0.2)  # type: ignore[dict-item]
    threading.Thread(target=lambda: blocked.wait(30) and orc.stop(), daemon=True).start()
    try:
        result = await asyncio.wait_for(orc.run(), 60)
    finally:
        gate.release.set()  # the producer left behind ends
        output.close()
        await store.close()
    # At each call the provider saw its own row, committed, in flight, with the estimate.
    assert [s[0] for s in gate.seen] == [1, 2, 3]
    for _id, producer, kind, estimated, tokens, latency, estimate in gate.seen:
        assert (producer, kind, estimated, tokens, latency) == (1, "in_flight", 1, estimate, None)
    rows = _query(db, "SELECT id, error_kind, estimated, input_tokens, output_tokens, latency_s "
                      "FROM calls ORDER BY id")  # fmt: skip
    assert rows[:2] == [(1, None, 0, 40, 20, rows[0][5]), (2, None, 0, 40, 20, rows[1][5])]
    # The stop came while the third request was out; its reply never came in the grace period.
    assert rows[2] == (3, "interrupted", 1, gate.seen[2][-1], 0, None)
    t = result.snapshot.total
    assert (t.requests, t.input_tokens, t.errors) == (3, 80 + gate.seen[2][-1], 1)


async def test_a_request_whose_row_cannot_be_stored_is_not_sent(tmp_path: Path) -> None:
    db = tmp_path / "igentai.db"
    store = await Store.open(db)
    con = sqlite3.connect(db)  # every new calls row fails, as on a full disk
    con.execute("CREATE TRIGGER full BEFORE INSERT ON calls BEGIN SELECT RAISE(ABORT, 'full'); END")
    con.commit()
    con.close()
    gate = Gate(db, threading.Event())
    settings = RunSettings("Paris attractions", [Arm("gate", "m")], producers=2, partitions=False)
    output = OutputFile(tmp_path / "output.txt")
    orc = Orchestrator(settings, store, {"gate:m": gate}, output)  # type: ignore[dict-item]
    try:
        result = await asyncio.wait_for(orc.run(), 60)
    finally:
        output.close()
        await store.close()
    assert gate.seen == []  # the provider was never called
    assert (
        result.status == "failed" and "database error" in result.reason and "full" in result.reason
    )
    assert _query(db, "SELECT count(*) FROM calls") == [(0,)]
