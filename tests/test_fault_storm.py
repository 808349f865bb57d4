"""Provider fault storm: one healthy server and three faulty ones (OpenAI, Anthropic, Gemini).

The faulty servers answer from a seeded deck of every fault in fakes.faults.FAULTS (429 bursts
with and without retry-after, 500, 503, 529, timeouts, slow drip, resets, cut bodies, truncated
JSON, empty replies, 5 MB bodies, HTML pages, a wrong content-type) for minutes of simulated
time (a FakeClock: backoffs pass at once, HTTP does not), and until every faulty server has
served a whole deck. The run must keep producing on the healthy server, retry no failing server
faster than the producer's floor, record every request the servers saw as one calls row with
the right error kind, and report every kind in its stats.

CI runs 15 simulated minutes; IGENTAI_LONG_TESTS=1 runs 60 with twice the producers.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from fakes import anthropic_server as an
from fakes import gemini_server as gm
from fakes import openai_server as oa
from fakes.faults import FAULTS, TIMEOUT_S, Storm
from fakes.server import FakeServer

from igentai_tui.common.clock import FakeClock
from igentai_tui.engine.events import Event, MetricsUpdated, Notice
from igentai_tui.engine.failures import MIN_RETRY_S
from igentai_tui.engine.orchestrator import Arm, Limits, Orchestrator, RunResult, RunSettings
from igentai_tui.history import open_readonly, resolve_run
from igentai_tui.output import OutputFile
from igentai_tui.providers.anthropic import AnthropicProvider
from igentai_tui.providers.base import Provider
from igentai_tui.providers.gemini import GeminiProvider
from igentai_tui.providers.openai import OpenAIProvider
from igentai_tui.stats import run_stats
from igentai_tui.store import Store

LONG = os.environ.get("IGENTAI_LONG_TESTS") == "1"
KEY = "sk-storm-test-key-000000"


@dataclass
class Storming:
    healthy: oa.OpenAIServer
    storms: dict[str, Storm]  # arm label -> the storm its server serves
    providers: dict[str, Provider]
    clock: FakeClock


@pytest.fixture
def storming(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Storming]:
    monkeypatch.setenv("IGENTAI_CONFIG_DIR", str(tmp_path / "config"))
    clock = FakeClock()
    with ExitStack() as stack:
        healthy = stack.enter_context(oa.OpenAIServer(api_key=KEY))
        counter = iter(range(10**9))
        healthy.answer = lambda seen: "\n".join(f"Healthy star {next(counter)}" for _ in range(30))
        servers: list[FakeServer] = [
            stack.enter_context(oa.OpenAIServer(api_key=KEY)),
            stack.enter_context(an.AnthropicServer(api_key=KEY)),
            stack.enter_context(gm.GeminiServer(api_key=KEY)),
        ]
        storms: dict[str, Storm] = {}
        providers: dict[str, Provider] = {
            f"openai:gpt-4o-mini@{healthy.base_url}": OpenAIProvider(
                api_key=KEY, base_url=healthy.base_url, timeout=TIMEOUT_S
            )
        }
        for i, server in enumerate(servers):
            storm = Storm(server, seed=100 + i, now=clock.monotonic)
            server.answer = lambda seen, storm=storm: storm.entries()
            if isinstance(server, oa.OpenAIServer):
                label = f"openai:gpt-4o-mini@{server.base_url}"
                p: Provider = OpenAIProvider(api_key=KEY, base_url=server.base_url,
                                             timeout=TIMEOUT_S)  # fmt: skip
            elif isinstance(server, an.AnthropicServer):
                label = "anthropic:claude-haiku-4-5"
                p = AnthropicProvider(api_key=KEY, base_url=server.url, timeout=TIMEOUT_S)
            else:
                label = "gemini:gemini-2.5-flash"
                p = GeminiProvider(api_key=KEY, base_url=server.url, timeout=TIMEOUT_S)
            storms[label] = storm
            providers[label] = p
        yield Storming(healthy, storms, providers, clock)
        for p in providers.values():
            p.close()  # type: ignore[attr-defined]


DONE = "the simulated time is up and every faulty server has served a whole deck"


async def run_storm(tmp_path: Path, s: Storming, sim_seconds: float, per_arm: int
                    ) -> tuple[RunResult, list[Event]]:  # fmt: skip
    arms = [Arm(*label.split(":", 1)) for label in s.providers]
    # Fixed routing: every faulty server keeps its producers (adaptive routing would bench it,
    # which tests/test_routing.py covers); simulated time passes only in their backoffs.
    settings = RunSettings("Stars", arms, producers=per_arm * len(arms), limits=Limits(),
                           seed=3, routing="fixed", verify=False)  # fmt: skip
    store = await Store.open(tmp_path / "igentai.db")
    output = OutputFile(tmp_path / "output.txt")
    events: list[Event] = []
    orc = Orchestrator(settings, store, s.providers, output, clock=s.clock, grace_s=3 * TIMEOUT_S)

    def watch(event: Event) -> None:
        # Not on the simulated time alone: the producers of one server can spend real seconds
        # in timeouts while the others' backoffs use the shared fake clock up, and that server
        # then had not served every fault (one run in ten under load).
        events.append(event)
        if (isinstance(event, MetricsUpdated) and event.snapshot.elapsed_s >= sim_seconds
                and all(storm.whole_decks >= 1 for storm in s.storms.values())):  # fmt: skip
            orc.stop(DONE, "completed")

    orc.subscribe(watch)
    try:
        result = await asyncio.wait_for(orc.run(), 600)
    finally:
        output.close()
        await store.close()
    return result, events


def _t(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_fault_storm(tmp_path: Path, storming: Storming) -> None:
    minutes, per_arm = (60, 4) if LONG else (15, 2)
    result, events = asyncio.run(run_storm(tmp_path, storming, minutes * 60.0, per_arm))
    assert (result.status, result.reason) == ("completed", DONE)
    assert not [e for e in events if isinstance(e, Notice) and "subscriber" in e.message]

    con = sqlite3.connect(tmp_path / "igentai.db")
    con.row_factory = sqlite3.Row
    rows = con.execute("SELECT * FROM calls ORDER BY id").fetchall()
    entries = con.execute("SELECT count(*) FROM entries").fetchone()[0]
    con.close()
    arm_of = {label.split(":", 1)[1]: label for label in storming.providers}
    by_arm: dict[str, list[sqlite3.Row]] = {label: [] for label in storming.providers}
    for r in rows:
        by_arm[arm_of[r["model"]]].append(r)

    # Every request each server saw is one calls row, and each fault its error kind.
    healthy = f"openai:gpt-4o-mini@{storming.healthy.base_url}"
    assert len(by_arm[healthy]) == storming.healthy.count
    for label, storm in storming.storms.items():
        served = {f for _, f in storm.served}
        assert served >= set(FAULTS), f"{label} never served {set(FAULTS) - served}"
        assert len(by_arm[label]) == storm.server.count == len(storm.served)
        got, want = Counter(r["error_kind"] for r in by_arm[label]), Counter(storm.expected_kinds())
        assert got == want, (label, "unexpected:", got - want, "missing:", want - got)

    # The healthy server kept producing throughout: in every tenth of the failing calls.
    assert all(r["error_kind"] is None for r in by_arm[healthy])
    failing = [r["id"] for r in rows if r["error_kind"] is not None]
    healthy_ids = [r["id"] for r in by_arm[healthy]]
    tenth = len(failing) // 10
    for k in range(10):
        lo, hi = failing[k * tenth], failing[(k + 1) * tenth - 1]
        assert any(lo <= i <= hi for i in healthy_ids), f"healthy stalled in tenth {k}"
    assert result.snapshot.arms[healthy].new > 0 and entries == result.snapshot.unique

    # Never spins: after a failed call its producer waits at least MIN_RETRY_S before the next.
    last: dict[int, sqlite3.Row] = {}
    for r in rows:
        prev = last.get(r["producer"])
        if prev is not None and prev["error_kind"] not in (None, "context_too_long"):
            gap = _t(r["started_at"]) - _t(prev["started_at"]) - (prev["latency_s"] or 0)
            assert gap >= MIN_RETRY_S - 0.002, (prev["error_kind"], prev["error_message"], gap)
        last[r["producer"]] = r
    # ... so no failing server sees more than this many requests in a simulated minute.
    producers = per_arm * len(storming.providers)
    for label, storm in storming.storms.items():
        times = [t for t, f in storm.served if FAULTS.get(f)]
        peak = max(sum(1 for u in times if t <= u < t + 60) for t in times)
        assert peak <= 60 / MIN_RETRY_S + producers, (label, peak)
        print(f"\n{label}: {len(storm.served)} requests, {len(times)} failed, "
              f"peak {peak} failed requests per simulated minute")  # fmt: skip

    # Every failure kind is in the stats: the live snapshot and `igentai stats`.
    con = open_readonly(tmp_path / "igentai.db")
    stats = run_stats(con, resolve_run(con, "last"))
    con.close()
    for label, storm in storming.storms.items():
        want = Counter(k for k in storm.expected_kinds() if k)
        assert stats["providers"][label]["errors_by_kind"] == want
        assert result.snapshot.arms[label].errors_by_kind == want


def test_a_server_that_always_says_context_too_long_is_not_hammered(tmp_path: Path) -> None:
    clock = FakeClock()
    with oa.OpenAIServer(api_key=KEY) as server:
        server.default = lambda seen: oa.context_too_long()  # type: ignore[method-assign]
        label = f"openai:gpt-4o-mini@{server.base_url}"
        provider = OpenAIProvider(api_key=KEY, base_url=server.base_url, timeout=TIMEOUT_S)
        settings = RunSettings("Stars", [Arm(*label.split(":", 1))], producers=1,
                               limits=Limits(max_requests=12))  # fmt: skip

        async def go() -> None:
            store = await Store.open(tmp_path / "igentai.db")
            output = OutputFile(tmp_path / "output.txt")
            await Orchestrator(settings, store, {label: provider}, output, clock=clock).run()
            output.close()
            await store.close()

        asyncio.run(go())
        provider.close()
    con = sqlite3.connect(tmp_path / "igentai.db")
    rows = con.execute("SELECT started_at, latency_s, context_entries FROM calls ORDER BY id")
    starts = [(_t(s), lat) for s, lat, _ in rows.fetchall()]
    con.close()
    gaps = [b[0] - a[0] - a[1] for a, b in itertools.pairwise(starts)]
    assert len(starts) == 12
    # Six halvings of the context are retried at once; from the least context on, it backs off.
    assert all(g < MIN_RETRY_S for g in gaps[:6]) and all(g >= MIN_RETRY_S for g in gaps[6:])
