"""The orchestrator and producers end to end, in-process, on sim and on scripted providers."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from igentai_tui.engine.events import Event, NewEntries, Notice, ProducerState, RunEnded
from igentai_tui.engine.normalize import forms, key_of
from igentai_tui.engine.orchestrator import Arm, Limits, Orchestrator, RunResult, RunSettings
from igentai_tui.engine.records import RunRow
from igentai_tui.engine.variants import LEARN
from igentai_tui.output import OutputFile
from igentai_tui.providers.base import (
    AuthenticationFailed,
    Completion,
    CompletionRequest,
    ContextTooLong,
    RateLimited,
)
from igentai_tui.providers.sim import SimProvider
from igentai_tui.store import Store


class Scripted:
    """A provider whose replies come from a function of the call number and the request."""

    name = "scripted"

    def __init__(self, reply: Callable[[int, CompletionRequest], str | Exception]) -> None:
        self._reply = reply
        self._n = 0
        self._lock = threading.Lock()
        self.requests: list[CompletionRequest] = []

    def complete(self, request: CompletionRequest) -> Completion:
        with self._lock:
            self._n += 1
            n = self._n
            self.requests.append(request)
        out = self._reply(n, request)
        if isinstance(out, Exception):
            raise out
        return Completion(out, len(request.prompt) // 4, len(out) // 4)

    def context_window(self, model: str) -> int:
        return 8000


async def run(
    tmp_path: Path,
    providers: dict[str, object],
    limits: Limits,
    *,
    producers: int = 3,
    on_event: Callable[[Orchestrator, Event], None] | None = None,
    partitions: bool = True,
    verify: bool | None = None,
) -> tuple[RunResult, Orchestrator, list[Event]]:
    """Run the engine on `providers`; verification is on when every provider is the sim (the
    scripted ones answer every prompt with a list)."""
    arms = [Arm(*label.split(":", 1)) for label in providers]
    if verify is None:
        verify = all(isinstance(p, SimProvider) for p in providers.values())
    settings = RunSettings(
        "Paris attractions", arms, producers=producers, limits=limits, seed=1,
        partitions=partitions, verify=verify,
    )  # fmt: skip
    store = await Store.open(tmp_path / "igentai.db")
    output = OutputFile(tmp_path / "output.txt")
    orc = Orchestrator(settings, store, providers, output, grace_s=5)  # type: ignore[arg-type]
    events: list[Event] = []

    def sub(e: Event) -> None:
        events.append(e)
        if on_event:
            on_event(orc, e)

    orc.subscribe(sub)
    try:
        result = await asyncio.wait_for(orc.run(), 60)
    finally:
        output.close()
        await store.close()
    return result, orc, events


def db_texts(tmp_path: Path, status: str = "confirmed") -> list[str]:
    con = sqlite3.connect(tmp_path / "igentai.db")
    rows = [r[0] for r in con.execute("SELECT text FROM entries WHERE status = ? ORDER BY id",
                                      (status,))]  # fmt: skip
    con.close()
    return rows


async def test_sim_run_stores_exactly_the_unique_limit(tmp_path: Path) -> None:
    sim = SimProvider("instant", seed=3)
    result, _orc, events = await run(tmp_path, {"sim:instant": sim}, Limits(max_unique=150))
    assert result.status == "completed" and "unique" in result.reason
    texts = db_texts(tmp_path)
    assert len(texts) == 150 == result.snapshot.confirmed  # the limit counts confirmed entries
    assert len({key_of(t) for t in texts}) == 150
    lines = (tmp_path / "output.txt").read_text().splitlines()
    assert sorted(lines) == sorted(texts)
    published = [e.text for ev in events if isinstance(ev, NewEntries) for e in ev.entries]
    assert published == lines  # what front ends are shown is output.txt, in its order
    assert isinstance(events[-1], RunEnded)


async def test_request_limit_is_exact_and_calls_are_recorded(tmp_path: Path) -> None:
    sim = SimProvider("instant", seed=4)
    result, _, _ = await run(tmp_path, {"sim:instant": sim}, Limits(max_requests=12))
    con = sqlite3.connect(tmp_path / "igentai.db")
    n, new, tokens = con.execute(
        "SELECT count(*), sum(new), sum(input_tokens) FROM calls "
        "WHERE prompt_version NOT LIKE 'verify%'"
    ).fetchone()
    (checks,) = con.execute("SELECT count(*) FROM calls WHERE prompt_version LIKE 'verify%'")
    pending = con.execute("SELECT count(*) FROM entries WHERE status = 'pending'").fetchone()[0]
    con.close()
    # twelve requests for entries, then what they found is checked before the run ends
    assert n == 12 and new == result.snapshot.unique and tokens > 0
    assert checks[0] >= 1 and result.snapshot.total.requests == 12 + checks[0]
    assert pending == result.snapshot.pending


async def test_a_verification_request_has_a_system_prompt_of_its_own(tmp_path: Path) -> None:
    from igentai_tui.engine.prompts import SYSTEM, VERIFY_SYSTEM

    def reply(n: int, req: CompletionRequest) -> str:
        if "Candidates:" in req.prompt:
            return "not real: none\nother name: none"
        return "\n".join(f"Entry {n}-{i}" for i in range(20))

    p = Scripted(reply)
    await run(tmp_path, {"s:m": p}, Limits(max_requests=6), partitions=False, verify=True)
    checks = [r for r in p.requests if "Candidates:" in r.prompt]
    assert checks and all(r.system == VERIFY_SYSTEM for r in checks)  # not "List entries…"
    assert all(r.system == SYSTEM for r in p.requests if r not in checks)


async def test_context_carries_newest_entries_within_budget(tmp_path: Path) -> None:
    def reply(n: int, req: CompletionRequest) -> str:
        return "\n".join(f"Entry {n}-{i} with a fairly long name" for i in range(40))

    p = Scripted(reply)
    await run(tmp_path, {"s:m": p}, Limits(max_requests=60), producers=2, partitions=False)
    last = p.requests[-1].prompt
    assert "Already found" in last
    shown = last.split("\n")[
        last.split("\n").index(next(x for x in last.split("\n") if x.startswith("Already found")))
        + 1 :
    ]
    assert 0 < len(shown) < 59 * 40  # never the whole list once it is long
    assert shown[0].startswith("Entry ") and len(last) // 4 <= 8000 // 4 + 400


async def test_auth_error_disables_the_provider_and_others_go_on(tmp_path: Path) -> None:
    bad = Scripted(lambda n, r: AuthenticationFailed("invalid x-api-key"))
    good = SimProvider("instant", seed=5)
    result, _orc, _events = await run(
        tmp_path, {"bad:m": bad, "sim:instant": good}, Limits(max_unique=200), producers=4
    )
    assert result.status == "completed"
    assert len(bad.requests) <= 2  # disabled after the first failure(s), never retried
    con = sqlite3.connect(tmp_path / "igentai.db")
    kinds = dict(con.execute("SELECT error_kind, count(*) FROM calls GROUP BY error_kind"))
    con.close()
    assert kinds.get("authentication", 0) == len(bad.requests)


async def test_no_usable_provider_fails_the_run(tmp_path: Path) -> None:
    bad = Scripted(lambda n, r: AuthenticationFailed("invalid key"))
    result, _, _ = await run(tmp_path, {"bad:m": bad}, Limits(max_requests=50))
    assert result.status == "failed" and "no usable provider" in result.reason


async def test_context_too_long_shrinks_the_context(tmp_path: Path) -> None:
    def reply(n: int, req: CompletionRequest) -> str | Exception:
        time.sleep(0.01)  # let the ingest loop store the previous replies
        if "Already found" in req.prompt and len(req.prompt) > 500:
            return ContextTooLong("maximum context length exceeded")
        return "\n".join(f"Thing {n} {i}" for i in range(20))

    p = Scripted(reply)
    limits = Limits(max_requests=40)
    result, _, _ = await run(tmp_path, {"s:m": p}, limits, producers=1, partitions=False)
    assert result.snapshot.total.errors_by_kind.get("context_too_long", 0) >= 1
    assert max(len(r.prompt) for r in p.requests[-5:]) <= 500


async def test_rate_limit_makes_the_producer_wait(tmp_path: Path) -> None:
    def reply(n: int, req: CompletionRequest) -> str | Exception:
        if n == 1:
            return RateLimited("slow down", retry_after=0.3)
        return "\n".join(f"Item {n} {i}" for i in range(10))

    states: list[str] = []

    def watch(orc: Orchestrator, e: Event) -> None:
        if isinstance(e, ProducerState):
            states.append(e.state)

    p = Scripted(reply)
    result, _, _ = await run(
        tmp_path, {"s:m": p}, Limits(max_requests=4), producers=1, on_event=watch
    )
    assert "rate_limited" in states
    assert result.snapshot.total.errors_by_kind == {"rate_limited": 1}


async def test_controls_pause_add_remove(tmp_path: Path) -> None:
    p = Scripted(lambda n, r: "\n".join(f"Name {n} {i}" for i in range(5)))
    seen: dict[str, object] = {}

    def control(orc: Orchestrator, e: Event) -> None:
        if isinstance(e, NewEntries) and "paused" not in seen:
            seen["paused"] = True
            orc.pause()
            seen["before"] = len(p.requests)

            def later() -> None:
                seen["during"] = len(p.requests)
                seen["added"] = orc.add_producer()
                seen["removed"] = orc.remove_producer(1)
                orc.resume()

            asyncio.get_running_loop().call_later(0.5, later)

    result, orc, _ = await run(
        tmp_path, {"s:m": p}, Limits(max_unique=400), producers=2, on_event=control
    )
    assert result.status == "completed"
    # while paused, no producer starts a request (one in flight each may complete)
    assert int(seen["during"]) - int(seen["before"]) <= 2  # type: ignore[call-overload]
    assert seen["added"] == 3 and seen["removed"] is True
    assert orc.producers[1].done.is_set()
    assert orc.metrics.producers[3].requests > 0


async def test_stop_before_any_reply_is_clean(tmp_path: Path) -> None:
    def stop_at_once(orc: Orchestrator, e: Event) -> None:
        orc.stop()

    sim = SimProvider("default", seed=1)
    result, _, _ = await run(
        tmp_path, {"sim:default": sim}, Limits(max_unique=100), on_event=stop_at_once
    )
    assert result.status == "stopped"
    assert sorted((tmp_path / "output.txt").read_text().splitlines()) == sorted(db_texts(tmp_path))


async def test_coverage_estimate_tracks_the_truth(tmp_path: Path) -> None:
    """Chao1 from proposal counts, checked against the sim's known universe size."""
    from igentai_tui.providers.sim import universe_for

    topic = "Kites (sim:3000)"
    sim = SimProvider("instant", seed=7)
    arms = [Arm("sim", "instant")]
    # Whole-topic sampling: the estimator's assumption. Partitioned runs tell each prompt what
    # its partition found, which hides repeats (see docs/metrics.md).
    settings = RunSettings(
        topic, arms, producers=2, limits=Limits(max_requests=100), seed=7, partitions=False
    )
    store = await Store.open(tmp_path / "igentai.db")
    output = OutputFile(tmp_path / "output.txt")
    result = await Orchestrator(settings, store, {"sim:instant": sim}, output).run()
    output.close()
    await store.close()
    truth = len(universe_for(topic).entries)
    cov = result.snapshot.coverage
    assert cov.chao1 is not None and cov.good_turing is not None and cov.chao1_sd
    assert result.snapshot.unique < cov.chao1
    # halfway through the topic, the estimate is within 40% of the true size
    assert 0.6 * truth <= cov.chao1 <= 1.4 * truth, (cov, truth)


async def test_a_burst_of_429s_lowers_concurrency_then_others_go_on(tmp_path: Path) -> None:
    lock = threading.Lock()
    live = {"now": 0, "max_after": 0}
    notices: list[str] = []

    def reply(n: int, req: CompletionRequest) -> str | Exception:
        with lock:
            live["now"] += 1
            if notices:
                live["max_after"] = max(live["max_after"], live["now"])
        try:
            time.sleep(0.02)
            if n <= 8:
                return RateLimited("429 Too Many Requests", retry_after=0.05)
            return "\n".join(f"Item {n} {i}" for i in range(10))
        finally:
            with lock:
                live["now"] -= 1

    def watch(orc: Orchestrator, e: Event) -> None:
        if isinstance(e, Notice):
            notices.append(e.message)

    p = Scripted(reply)
    result, orc, _ = await run(
        tmp_path, {"s:m": p}, Limits(max_requests=60), producers=8, on_event=watch
    )
    assert any("keeps rate-limiting" in m for m in notices), notices
    cap = orc.accounts.of("s:m").cap
    assert cap is not None and cap < 8
    assert live["max_after"] <= 4  # halved at least once from 8
    assert result.snapshot.total.requests == 60


async def test_until_saturated_splits_the_topic_and_stops_when_every_partition_is_done(
    tmp_path: Path,
) -> None:
    from igentai_tui.providers.sim import universe_for

    sim = SimProvider("instant", seed=3)
    limits = Limits(max_requests=5000, until_saturated=True)
    result, _, _ = await run(tmp_path, {"sim:instant": sim}, limits, producers=3)
    assert result.status == "completed" and result.reason.startswith("saturated:")
    con = sqlite3.connect(tmp_path / "igentai.db")
    parts = dict(con.execute("SELECT name, status FROM partitions"))
    assert len(parts) > 5
    if "costs" not in result.reason:  # not stopped by the cost of new entries: all explored
        assert parts[""] == "retired" and set(parts.values()) <= {"split", "retired"}
    calls = con.execute("SELECT partition, prompt_version, returned FROM calls").fetchall()
    assert {v for _, v, _ in calls} == {"list-v3", "subtopics-v2", "verify-v2"}
    assert all((p or "") in parts for p, _, _ in calls)  # every call records its partition
    assert all(r == 0 for _, v, r in calls if v == "subtopics-v2")
    texts = [t for (t,) in con.execute("SELECT text FROM entries WHERE status = 'confirmed'")]
    # what is still pending was held: taken for real, but from where inventions abound (2-5%
    # of what was confirmed, 5.1% seen once: how many depends on the run's thread timing)
    pending = con.execute("SELECT count(*) FROM entries WHERE status = 'pending'").fetchone()[0]
    assert pending == result.snapshot.pending < 0.1 * len(texts)
    entry_parts = {p or "" for (p,) in con.execute("SELECT DISTINCT partition FROM entries")}
    assert entry_parts <= set(parts) and len(entry_parts) > 5
    con.close()
    universe = universe_for("Paris attractions")
    covered = {i for i in map(universe.lookup, texts) if i is not None}
    # The stop allows 10% estimated unfound, and the estimate errs by about 5 points
    # (benchmarks.md, Exploration): 88-93% on this topic, 85% seen on a loaded machine (thread
    # timing changes the run); a planner that stopped splitting would be far below.
    assert len(covered) >= 0.8 * len(universe)


async def test_a_resumed_run_continues_its_partitions(tmp_path: Path) -> None:
    sim = SimProvider("instant", seed=5)
    first, _, _ = await run(tmp_path, {"sim:instant": sim}, Limits(max_requests=40), producers=2)
    con = sqlite3.connect(tmp_path / "igentai.db")
    before = dict(con.execute("SELECT name, requests FROM partitions"))
    plans_before = con.execute(
        "SELECT count(*) FROM calls WHERE prompt_version = 'subtopics-v2' AND partition IS NULL"
    ).fetchone()[0]
    con.close()
    assert len(before) > 5
    arms = [Arm("sim", "instant")]
    settings = RunSettings(
        "Paris attractions", arms, producers=2, limits=Limits(max_requests=80), seed=5
    )
    store = await Store.open(tmp_path / "igentai.db")
    output = OutputFile(tmp_path / "output.txt")
    orc = Orchestrator(settings, store, {"sim:instant": sim}, output)
    notices: list[str] = []
    orc.subscribe(lambda e: notices.append(e.message) if isinstance(e, Notice) else None)
    await orc.run(resume=first.run)
    output.close()
    await store.close()
    assert any(m.startswith("resumed after ") and " idle: " in m for m in notices), notices
    # What the topic's first letters are split by counts the first session's entries too.
    assert orc.partitions._lists >= sum(before.values()) + 10
    assert sum(orc.partitions._initials.values()) >= 0.9 * len(db_texts(tmp_path))
    con = sqlite3.connect(tmp_path / "igentai.db")
    sessions = con.execute("SELECT started_at, ended_at, status FROM sessions").fetchall()
    assert len(sessions) == 2 and all(end and status for _, end, status in sessions)
    assert sessions[0][1] <= sessions[1][0]  # the second began after the first ended
    plans = con.execute(
        "SELECT count(*) FROM calls WHERE prompt_version = 'subtopics-v2' AND partition IS NULL"
    ).fetchone()[0]
    after = dict(con.execute("SELECT name, requests FROM partitions"))
    con.close()
    assert plans == plans_before  # the topic was not split again
    assert set(before) <= set(after)
    assert sum(after.values()) > sum(before.values())


async def resume_listless(
    tmp_path: Path, sim: SimProvider, run_row: RunRow, asked: int
) -> Orchestrator:
    """Resume run `run_row` with one producer and no request for entries left (`asked` were
    made): only what was pending is checked again."""
    settings = RunSettings(
        "Paris attractions", [Arm("sim", "instant")], producers=1,
        limits=Limits(max_requests=asked), seed=3,
    )  # fmt: skip
    store = await Store.open(tmp_path / "igentai.db")
    output = OutputFile(tmp_path / "output.txt")
    orc = Orchestrator(settings, store, {"sim:instant": sim}, output)
    await orc.run(resume=run_row)
    output.close()
    await store.close()
    return orc


async def test_a_resumed_run_keeps_its_held_entries_held(tmp_path: Path) -> None:
    from dataclasses import replace

    from igentai_tui.providers.sim.params import PROFILES

    inventive = replace(PROFILES["instant"], invent_rate=0.1, invent_dry=0.6, believe_own=0.5)
    sim = SimProvider("instant", seed=3, params=inventive)
    limits = Limits(max_requests=5000, until_saturated=True)
    # One producer: with several, when the run stops depends on the threads' timing, and so
    # does how much is still held then (CI once saw one entry held).
    first, _, _ = await run(tmp_path, {"sim:instant": sim}, limits, producers=1)
    con = sqlite3.connect(tmp_path / "igentai.db")
    held = [i for (i,) in con.execute("SELECT id FROM entries WHERE status = 'pending'")]
    asked = con.execute(
        "SELECT count(*) FROM calls WHERE prompt_version NOT LIKE 'verify%'"
    ).fetchone()[0]
    con.close()
    assert len(held) >= 10, held  # taken for real, but from where inventions abound: held
    # Resumed with no request for entries left: what is pending is checked again, as real as
    # each partition was found to be before, so what was held stays held.
    await resume_listless(tmp_path, sim, first.run, asked)
    con = sqlite3.connect(tmp_path / "igentai.db")
    marks = ",".join("?" * len(held))
    states = [s for (s,) in con.execute(f"SELECT status FROM entries WHERE id IN ({marks})", held)]
    con.close()
    assert states.count("confirmed") <= 0.2 * len(held), states


async def test_a_resumed_run_keeps_what_its_answers_taught(tmp_path: Path) -> None:
    sim = SimProvider("instant", seed=3)
    limits = Limits(max_requests=5000, until_saturated=True)
    first, orc1, _ = await run(tmp_path, {"sim:instant": sim}, limits, producers=1)
    taught = {k: list(v) for k, v in orc1.verifier.variants.answers.items()}
    con = sqlite3.connect(tmp_path / "igentai.db")
    stored = {
        f: [a, b] for f, a, b in con.execute("SELECT frames, same, different FROM frame_answers")
    }
    asked = con.execute("SELECT count(*) FROM calls WHERE prompt_version NOT LIKE 'verify%'")
    asked = asked.fetchone()[0]
    con.close()
    assert stored and stored == taught  # every answer is stored with its verdicts
    orc = await resume_listless(tmp_path, sim, first.run, asked)
    resumed = orc.verifier.variants
    assert all(
        resumed.answers[f][0] >= a and resumed.answers[f][1] >= b for f, (a, b) in taught.items()
    )


async def test_without_until_saturated_an_exhausted_topic_is_announced_once(
    tmp_path: Path,
) -> None:
    from igentai_tui.engine.orchestrator import EXHAUSTED_NOTICE

    sim = SimProvider("instant", seed=3)
    result, _, events = await run(tmp_path, {"sim:instant": sim}, Limits(max_requests=1500))
    assert result.reason == "request limit reached"  # it went on mining retired partitions
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert notices.count(EXHAUSTED_NOTICE) == 1


def test_one_full_rate_window_halves_the_cap_once() -> None:
    """Twelve producers refused together by a full rate window: one cut, not down to one."""
    from igentai_tui.engine.failures import WINDOW_S, FailurePolicy

    t = FailurePolicy("sim")
    cuts = [t.rate_limited(12 - i, now=100.0 + i * 0.01) for i in range(12)]
    assert [c for c in cuts if c is not None] == [5]  # 3rd 429: half of the 10 then in flight
    assert t.rate_limited(5, now=100.0 + WINDOW_S - 1) is None  # still the same episode
    later = [t.rate_limited(5, now=200.0 + i) for i in range(3)]
    assert later[-1] == 2  # a new burst later halves again


async def test_a_resumed_run_folds_a_pending_variant_as_a_new_one_would_be(
    tmp_path: Path,
) -> None:
    sim = SimProvider("instant", seed=3)
    first, _, _ = await run(tmp_path, {"sim:instant": sim}, Limits(max_requests=6), producers=1)
    con = sqlite3.connect(tmp_path / "igentai.db")
    rid, into, text, part = con.execute(
        "SELECT run_id, id, text, partition FROM entries WHERE status = 'confirmed' "
        "AND text NOT LIKE '% %' ORDER BY id LIMIT 1"
    ).fetchone()
    variant = forms(f"{text} Quarter")
    assert variant is not None
    # Pending when the run stopped: "X Quarter", where "X" is in, and the run's answers had
    # settled that "X Quarter" is X (so a new "Y Quarter" would be folded at once).
    cur = con.execute(
        "INSERT INTO entries (run_id, key, loose, text, partition, first_seen, status) "
        "VALUES (?, ?, ?, ?, ?, '2026-12-07T00:00:00Z', 'pending')",
        (rid, variant.key, variant.loose, variant.text, part),
    )
    eid = cur.lastrowid
    con.execute("INSERT INTO frame_answers VALUES (?, 'sfx quarter', ?, 0)", (rid, LEARN))
    asked = con.execute("SELECT count(*) FROM calls WHERE prompt_version NOT LIKE 'verify%'")
    asked = asked.fetchone()[0]
    con.commit()
    con.close()
    orc = await resume_listless(tmp_path, sim, first.run, asked)
    con = sqlite3.connect(tmp_path / "igentai.db")
    row = con.execute("SELECT status, merged_into FROM entries WHERE id = ?", (eid,)).fetchone()
    con.close()
    assert row == ("merged", into)
    assert orc.metrics.merged >= 1 and eid not in orc.verifier.pending
    assert variant.text not in (tmp_path / "output.txt").read_text(encoding="utf-8")
