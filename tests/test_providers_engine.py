"""Real providers inside the engine: local servers, the orchestrator, the headless CLI.

What the engine does with each provider error (wait, back off, shrink the context, disable the
provider, end the run) is asserted from the calls table the run leaves behind.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from fakes import anthropic_server as an
from fakes import gemini_server as gm
from fakes import openai_server as oa
from fakes.server import Reply, Seen

from igentai_tui.common.clock import Clock, FakeClock
from igentai_tui.engine.events import Event, Notice
from igentai_tui.engine.orchestrator import (
    MAX_FAILURES_IN_A_ROW,
    Arm,
    Limits,
    Orchestrator,
    RunResult,
    RunSettings,
)
from igentai_tui.headless import run_headless
from igentai_tui.output import OutputFile
from igentai_tui.providers import make_provider
from igentai_tui.request import build_parser, run_request
from igentai_tui.store import Store

OPENAI_KEY = "sk-engine-test-secret-abcdef123456"
ANTHROPIC_KEY = "sk-ant-engine-test-secret-987654"
GEMINI_KEY = "AIza-engine-test-secret-5555555"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IGENTAI_CONFIG_DIR", str(tmp_path / "config"))
    for var in list(os.environ):
        if var.endswith(("_API_KEY", "_BASE_URL")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)


_tags = itertools.count(1)


def entries(seen: Seen | None = None, n: int = 30) -> str:
    """Distinct entries on every call."""
    tag = next(_tags)
    return "\n".join(f"Attraction {tag} number {i} of the long list" for i in range(n))


class QuotaAfter(oa.OpenAIServer):
    """Answers entries for the first `ok` requests, then 429 insufficient_quota."""

    def __init__(self, ok: int) -> None:
        super().__init__(api_key=OPENAI_KEY)
        self.ok = ok
        self.answer = entries

    def default(self, seen: Seen) -> Reply:
        if self.count > self.ok:
            return oa.insufficient_quota()
        return super().default(seen)


async def run(
    tmp_path: Path,
    arm: Arm | list[Arm],
    limits: Limits,
    producers: int = 3,
    *,
    clock: Clock | None = None,
    routing: str = "adaptive",
    events: list[Event] | None = None,
) -> RunResult:
    clock = clock or Clock()
    arms = arm if isinstance(arm, list) else [arm]
    providers = {a.label: make_provider(a.provider, a.model, seed=0, clock=clock) for a in arms}
    # Whole-topic mining, unverified: these tests are about the wire path, not about
    # partitions or verification (the fake servers answer every prompt with a list).
    settings = RunSettings(
        "Paris attractions", arms, producers=producers, limits=limits, seed=1, partitions=False,
        verify=False,
        routing=routing,
    )  # fmt: skip
    store = await Store.open(tmp_path / "igentai.db")
    output = OutputFile(tmp_path / "output.txt")
    orc = Orchestrator(settings, store, providers, output, clock=clock, grace_s=5)
    if events is not None:
        orc.subscribe(events.append)
    try:
        return await asyncio.wait_for(orc.run(), 30)
    finally:
        output.close()
        await store.close()


def calls(tmp_path: Path, db: str = "igentai.db") -> list[sqlite3.Row]:
    con = sqlite3.connect(tmp_path / db)
    con.row_factory = sqlite3.Row
    rows = con.execute("SELECT * FROM calls ORDER BY id").fetchall()
    con.close()
    return rows


def assert_no_key(texts: list[str] | list[bytes], *keys: str) -> None:
    for text in texts:
        blob = text if isinstance(text, bytes) else text.encode("utf-8")
        for key in keys:
            assert key.encode() not in blob


async def test_quota_exhausted_disables_openai_and_the_run_fails(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with QuotaAfter(ok=4) as server:
        arm = Arm("openai", f"gpt-4o-mini@{server.base_url}")
        result = await run(tmp_path, arm, Limits(max_requests=100))
    assert result.status == "failed"
    assert "no usable provider" in result.reason and "OPENAI_API_KEY" in result.reason
    rows = calls(tmp_path)
    ok = [r for r in rows if r["error_kind"] is None]
    failed = [r for r in rows if r["error_kind"] is not None]
    assert len(ok) == 4 and len(rows) == server.count  # one row per request, no hidden retry
    assert {r["error_kind"] for r in failed} == {"quota_exhausted"}
    for r in ok:  # usage and cost from each reply, per call
        assert r["input_tokens"] == 50 and r["output_tokens"] > 0
        assert r["cost_usd"] == pytest.approx((50 * 0.15 + r["output_tokens"] * 0.60) / 1e6)
        assert r["returned"] == 30 and r["new"] > 0
    assert result.snapshot.unique == sum(r["new"] for r in ok)
    # The key is nowhere: not in the DB, the output file, nor anything logged.
    assert caplog.records  # the SDK did log (at DEBUG): those lines are scanned too
    artifacts = [p.read_bytes() for p in tmp_path.iterdir() if p.is_file()]
    assert_no_key([*artifacts, caplog.text, result.reason], OPENAI_KEY)


async def test_rate_limit_makes_the_producer_wait_retry_after(tmp_path: Path) -> None:
    with oa.OpenAIServer(api_key=OPENAI_KEY) as server:
        server.answer = entries
        server.push(oa.rate_limited("0.4"))
        arm = Arm("openai", f"gpt-4o-mini@{server.base_url}")
        result = await run(tmp_path, arm, Limits(max_requests=3), producers=1)
    assert result.status == "completed"
    rows = calls(tmp_path)
    assert [r["error_kind"] for r in rows] == ["rate_limited", None, None]
    assert started(rows[1]) - started(rows[0]) >= 0.4  # waited retry-after (plus jitter)


async def test_producers_move_off_a_provider_out_of_quota(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    with QuotaAfter(ok=0) as openai_server, gm.GeminiServer(api_key=GEMINI_KEY) as gemini_server:
        gemini_server.answer = entries
        monkeypatch.setenv("GEMINI_BASE_URL", gemini_server.url)
        arms = [
            Arm("openai", f"gpt-4o-mini@{openai_server.base_url}"),
            Arm("gemini", "gemini-2.5-flash"),
        ]
        result = await run(tmp_path, arms, Limits(max_requests=12), producers=4)
    assert result.status == "completed" and result.reason == "request limit reached"
    rows = calls(tmp_path)
    openai_rows = [r for r in rows if r["provider"] == "openai"]
    gemini_rows = [r for r in rows if r["provider"] == "gemini"]
    assert 1 <= len(openai_rows) <= 4  # at most the producers that were on it when it failed
    assert {r["error_kind"] for r in openai_rows} == {"quota_exhausted"}
    assert len(gemini_rows) == 12 - len(openai_rows) == gemini_server.count
    assert all(r["error_kind"] is None and r["input_tokens"] == 30 for r in gemini_rows)
    assert all(r["cost_usd"] is not None for r in gemini_rows)


def started(row: sqlite3.Row) -> float:
    value = row["started_at"]
    try:
        return float(value)
    except ValueError:
        return datetime.fromisoformat(str(value)).timestamp()


async def test_context_too_long_shrinks_the_context(tmp_path: Path) -> None:
    with oa.OpenAIServer(api_key=OPENAI_KEY) as server:
        server.answer = lambda seen: entries(n=150)
        arm = Arm("openai", f"gpt-4o-mini@{server.base_url}")
        server.push(Reply(200, oa.completion(entries(n=150))))
        server.push(Reply(200, oa.completion(entries(n=150))))
        server.push(Reply(200, oa.completion(entries(n=150))))
        server.push(oa.context_too_long())
        result = await run(tmp_path, arm, Limits(max_requests=5), producers=1)
    assert result.status == "completed"
    rows = calls(tmp_path)
    assert [r["error_kind"] for r in rows][3:] == ["context_too_long", None]
    before, after = rows[3]["context_entries"], rows[4]["context_entries"]
    assert before > 0 and after < before * 0.75  # the next prompt carried less context


def test_headless_run_over_openai_and_anthropic_until_both_run_out(tmp_path: Path) -> None:
    class AnthropicQuotaAfter(an.AnthropicServer):
        def default(self, seen: Seen) -> Reply:
            return an.credit_balance() if self.count > 5 else super().default(seen)

    anthropic_server = AnthropicQuotaAfter(api_key=ANTHROPIC_KEY)
    anthropic_server.answer = entries
    with QuotaAfter(ok=5) as openai_server, anthropic_server:
        env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
        env.update(
            OPENAI_API_KEY=OPENAI_KEY,
            ANTHROPIC_API_KEY=ANTHROPIC_KEY,
            OPENAI_BASE_URL=openai_server.base_url,
            ANTHROPIC_BASE_URL=anthropic_server.url,
            IGENTAI_CONFIG_DIR=str(tmp_path / "config"),
            PYTHONUNBUFFERED="1",
        )
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "igentai_tui",
                "--headless",
                "Paris attractions",
                "--providers",
                "openai:gpt-4o-mini,anthropic:claude-haiku-4-5",
                "--producers",
                "4",
                "--max-requests",
                "200",
                "--db",
                str(tmp_path / "igentai.db"),
                "--output",
                str(tmp_path / "output.txt"),
                "--no-verify",  # the fake servers answer every prompt with a list
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["status"] == "failed"
    assert "no usable provider" in proc.stderr
    assert "disabled" in proc.stderr
    rows = calls(tmp_path)
    by = {p: [r for r in rows if r["provider"] == p] for p in ("openai", "anthropic")}
    assert len(by["openai"]) == openai_server.count  # every request recorded, none retried
    assert len(by["anthropic"]) == anthropic_server.count
    for p in by:  # both providers were used, and their usage recorded per call
        good = [r for r in by[p] if r["error_kind"] is None]
        assert len(good) == 5 and all(r["input_tokens"] > 0 for r in good)
        assert {r["error_kind"] for r in by[p]} - {None} == {"quota_exhausted"}
    assert summary["unique"] == sum(r["new"] for r in rows) > 0
    artifacts = [p.read_bytes() for p in tmp_path.iterdir() if p.is_file()]
    assert_no_key([*artifacts, proc.stdout, proc.stderr], OPENAI_KEY, ANTHROPIC_KEY)


NO_SUCH_MODEL = "The model `gpt-nonesuch` does not exist or you do not have access to it."


class NoSuchModel(oa.OpenAIServer):
    """Answers every request (but those pushed first) 404: the model name has a typo."""

    def __init__(self) -> None:
        super().__init__(api_key=OPENAI_KEY)
        self.answer = entries

    def default(self, seen: Seen) -> Reply:
        return oa.error(404, NO_SUCH_MODEL, "invalid_request_error", "model_not_found")


def test_a_provider_that_fails_every_request_ends_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The only provider answers 404 to everything: dropped after MAX_FAILURES_IN_A_ROW, and
    the run, under the default stop of --headless, ends: exit 1, the reason in the summary.
    (--max-requests only keeps the old behaviour, an endless run, from hanging the test.)"""
    with NoSuchModel() as server:
        argv = ["--headless", "Paris attractions", "--until-saturated", "--max-requests", "200",
                "--providers", f"openai:gpt-nonesuch@{server.base_url}", "--producers", "3",
                "--db", str(tmp_path / "i.db"), "-o", str(tmp_path / "o.txt")]  # fmt: skip
        code = run_headless(run_request(build_parser().parse_args(argv)), FakeClock())
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert code == 1 and summary["status"] == "failed", err
    assert summary["stop_reason"].startswith("no usable provider: openai:gpt-nonesuch@")
    assert f"{MAX_FAILURES_IN_A_ROW} requests in a row failed" in summary["stop_reason"]
    assert NO_SUCH_MODEL in summary["stop_reason"]  # names the error
    assert "disabled for this run" in err and NO_SUCH_MODEL in err
    rows = calls(tmp_path, "i.db")
    # Requests already out when the last counted failure came back are answered too.
    assert MAX_FAILURES_IN_A_ROW <= len(rows) == server.count < MAX_FAILURES_IN_A_ROW + 3
    assert {r["error_kind"] for r in rows} == {"bad_request"}


async def test_a_dead_arm_is_dropped_and_the_others_go_on(tmp_path: Path) -> None:
    """Two producers on a dead arm, two on a healthy one (fixed routing: they would stay): the
    dead arm is dropped, its producers move, the run goes on to its limit."""
    events: list[Event] = []
    with NoSuchModel() as server, oa.OpenAIServer(api_key=OPENAI_KEY) as healthy:
        healthy.answer = entries
        dead = f"gpt-nonesuch@{server.base_url}"
        arms = [Arm("openai", dead), Arm("openai", f"gpt-4o-mini@{healthy.base_url}")]
        result = await run(tmp_path, arms, Limits(max_requests=100), producers=4,
                           clock=FakeClock(), routing="fixed", events=events)  # fmt: skip
    assert (result.status, result.reason) == ("completed", "request limit reached")
    notices = [e.message for e in events if isinstance(e, Notice) and "disabled" in e.message]
    assert notices == [
        f"openai:{dead} disabled for this run: {MAX_FAILURES_IN_A_ROW} requests in a row failed,"
        f" the last: bad_request: openai 404: {NO_SUCH_MODEL}"
    ]
    rows = calls(tmp_path)
    failed = [r for r in rows if r["model"] == dead]
    assert MAX_FAILURES_IN_A_ROW <= len(failed) == server.count < MAX_FAILURES_IN_A_ROW + 2
    assert len(rows) == 100 == len(failed) + healthy.count
    assert all(r["error_kind"] is None for r in rows if r["model"] != dead)


def _empty() -> Reply:
    return Reply(200, {**oa.completion("x"), "choices": []})  # a bad_response


@pytest.mark.parametrize(
    ("script", "dropped_after"),
    [
        # A success resets the count: 7 bad replies, 1 good, over and over, is never dropped.
        ([*[_empty()] * 7, Reply(200, oa.completion(entries()))] * 3, None),
        # Transient errors neither count nor reset it: 4 bad, a 503, 4 bad: dropped at the 9th.
        ([*[_empty()] * 4, oa.error(503, "overloaded", "server_error"), *[_empty()] * 4], 9),
    ],
    ids=["success resets", "transient errors do not count"],
)
async def test_what_counts_as_failing_in_a_row(
    tmp_path: Path, script: list[Reply], dropped_after: int | None
) -> None:
    with NoSuchModel() as server:
        server.push(*script)
        if dropped_after is None:
            server.default = lambda seen: oa.OpenAIServer.default(server, seen)  # type: ignore[method-assign]
        arm = Arm("openai", f"gpt-4o-mini@{server.base_url}")
        result = await run(tmp_path, arm, Limits(max_requests=len(script) + 4), producers=1,
                           clock=FakeClock())  # fmt: skip
    if dropped_after is None:
        assert (result.status, result.reason) == ("completed", "request limit reached")
    else:
        assert result.status == "failed" and "8 requests in a row failed" in result.reason
        assert server.count == dropped_after
