"""Routing strategies: unit tests on synthetic outcomes, fleets of sim arms in simulated time,
and the orchestrator, the store and the command line wired to them."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from fleet import DEMO_ARMS, run_fleet

from igentai_tui.engine.failures import COOLDOWN_S
from igentai_tui.engine.orchestrator import Arm, Limits, Orchestrator, RunSettings
from igentai_tui.engine.routing import (
    Adaptive,
    Fixed,
    Outcome,
    RoundRobin,
    RoutingError,
    Weighted,
    make_router,
    parse_weights,
)
from igentai_tui.exits import UsageError
from igentai_tui.output import OutputFile
from igentai_tui.providers.sim import SimProvider
from igentai_tui.request import build_parser, run_request
from igentai_tui.store import MIGRATIONS, Store

A, B, C = "p:a", "p:b", "p:c"


def ok(new: int, tokens: int = 1000, latency: float = 1.0, cost: float | None = None) -> Outcome:
    return Outcome(latency, tokens, cost, new)


def fail(kind: str = "overloaded") -> Outcome:
    return Outcome(0.2, 0, None, 0, kind)


def picks(router, n: int, now: float, candidates=(A, B, C), current=None) -> list[str]:
    return [router.choose(current, list(candidates), now) for _ in range(n)]


# -- the simple strategies -------------------------------------------------------------------


def test_round_robin_takes_turns_over_the_usable_arms() -> None:
    r = RoundRobin([A, B, C])
    assert picks(r, 6, 0.0) == [A, B, C, A, B, C]
    assert picks(r, 4, 1.0, candidates=(A, C)) == [A, C, A, C]
    assert r.shares(1.0) == pytest.approx({A: 4 / 10, B: 2 / 10, C: 4 / 10})


def test_weighted_follows_the_weights_and_skips_unusable_arms() -> None:
    r = Weighted([A, B, C], {A: 3, B: 1})
    got = picks(r, 40, 0.0)
    assert got.count(A) == 30 and got.count(B) == 10 and got.count(C) == 0
    assert set(picks(r, 5, 0.0, candidates=(C,))) == {C}  # only C usable: C, weight or not


def test_fixed_keeps_each_producer_on_its_arm() -> None:
    r = Fixed([A, B])
    assert picks(r, 5, 0.0, current=B) == [B] * 5
    assert r.choose(B, [A], 0.0) == A  # B unusable (disabled or at its cap): elsewhere
    for _ in range(10):
        r.observe(B, fail(), 1.0)
    assert r.cooling(1.0) == {} and r.choose(B, [A, B], 1.0) == B  # no cooldowns


def test_parse_weights() -> None:
    arms = ["openai:gpt-4o-mini", "anthropic:claude-haiku-4-5"]
    assert parse_weights("openai:gpt-4o-mini=3, anthropic=1", arms) == {
        "openai:gpt-4o-mini": 3.0,
        "anthropic:claude-haiku-4-5": 1.0,
    }
    for bad, says in [
        ("openai:gpt-4o=3", "not one of the run's providers"),
        ("openai=x", "not a number"),
        ("openai=-1", "0 or more"),
        ("openai=0", "at least one weight"),
        ("openai", "expected PROVIDER:MODEL=WEIGHT"),
        ("openai=nan", "0 or more"),
    ]:
        with pytest.raises(RoutingError, match=says):
            parse_weights(bad, arms)
    with pytest.raises(RoutingError, match="needs weights"):
        make_router("weighted", arms)
    with pytest.raises(RoutingError, match="unknown routing"):
        make_router("random", arms)


# -- adaptive ---------------------------------------------------------------------------------


def feed(router, yields: dict[str, Outcome], seconds: float, start: float = 0.0) -> list[str]:
    """Route one request a second for `seconds`, each arm's call bringing its outcome."""
    chosen = []
    t = start
    while t < start + seconds:
        arm = router.choose(None, list(yields), t)
        router.observe(arm, yields[arm], t + 0.5)
        chosen.append(arm)
        t += 1.0
    return chosen


@pytest.mark.parametrize(
    ("objective", "best"),
    [("tokens", A), ("speed", B), ("cost", C)],
)
def test_adaptive_favours_the_best_arm_for_the_objective(objective: str, best: str) -> None:
    yields = {
        A: ok(30, tokens=1000, latency=6.0, cost=0.010),  # most per token
        B: ok(20, tokens=2000, latency=1.0, cost=0.010),  # most per second
        C: ok(10, tokens=1500, latency=6.0, cost=0.001),  # most per dollar
    }
    r = Adaptive([A, B, C], objective, seed=3)
    chosen = feed(r, yields, 400)
    after_warmup = chosen[100:]
    assert after_warmup.count(best) / len(after_warmup) >= 0.8
    assert all(after_warmup.count(a) > 0 for a in yields)  # the floor keeps probing the others
    assert max(r.scores(400.0), key=r.scores(400.0).get) == best


def test_adaptive_per_cost_falls_back_to_tokens_without_prices() -> None:
    r = Adaptive([A, B], "cost", seed=1)
    feed(r, {A: ok(30, tokens=1000), B: ok(10, tokens=1000)}, 60)  # prices unknown
    assert r.unit() == "new/1k tokens"
    r2 = Adaptive([A, B], "cost", seed=1)
    feed(r2, {A: ok(30, cost=0.0), B: ok(10, cost=0.0)}, 60)  # free: per dollar means nothing
    assert r2.unit() == "new/1k tokens"
    r3 = Adaptive([A, B], "cost", seed=1)
    feed(r3, {A: ok(30, cost=0.01), B: ok(10, cost=0.001)}, 200)
    assert r3.unit() == "new/$" and r3.scores(200)[B] > r3.scores(200)[A]


def test_adaptive_forgets_old_data_when_an_arm_degrades() -> None:
    r = Adaptive([A, B], "tokens", seed=5)
    feed(r, {A: ok(40), B: ok(20)}, 300)
    later = feed(r, {A: ok(5), B: ok(20)}, 300, start=300)  # A's part of the topic ran dry
    assert later[150:].count(B) / 150 >= 0.8


def test_adaptive_is_deterministic_under_a_seed() -> None:
    yields = {A: ok(30), B: ok(25), C: ok(20)}
    assert feed(Adaptive([A, B, C], seed=9), yields, 200) == feed(
        Adaptive([A, B, C], seed=9), yields, 200
    )


# -- cooldowns and the record ----------------------------------------------------------------


def test_a_failing_arm_cools_down_then_one_probe_brings_it_back() -> None:
    r = RoundRobin([A, B])
    for t in range(3):
        r.observe(A, fail(), float(t))
    assert r.cooling(3.0) == {A: pytest.approx(COOLDOWN_S - 1.0)}
    assert set(picks(r, 6, 3.0, candidates=(A, B))) == {B}
    rows = r.report(3.0)
    assert {d.arm for d in rows} == {A, B}
    assert "3 of the last 3 calls failed" in next(d.reason for d in rows if d.arm == A)
    # cooldown over: exactly one probe goes to A, the others wait for its outcome
    t = 2.0 + COOLDOWN_S + 0.1
    assert picks(r, 4, t, candidates=(A, B)) == [A, B, B, B]
    r.observe(A, fail(), t + 1)  # the probe failed: a longer cooldown
    assert r.cooling(t + 1)[A] == pytest.approx(2 * COOLDOWN_S)
    t2 = t + 1 + 2 * COOLDOWN_S + 0.1
    assert r.choose(None, [A, B], t2) == A
    r.observe(A, ok(10), t2 + 1)  # recovered
    assert r.cooling(t2 + 1) == {}
    rows = r.report(t2 + 1)
    assert rows and "p:a back: a probe succeeded" in rows[0].reason
    assert "probe failed" in rows[0].reason  # the earlier event, not reported until now
    assert sorted(set(picks(r, 4, t2 + 2, candidates=(A, B)))) == [A, B]


def test_cooldown_rules() -> None:
    r = RoundRobin([A, B])
    r.observe(A, fail("bad_request"), 0.0)  # not retryable: at once
    assert A in r.cooling(0.0)
    for t in range(10):
        r.observe(B, fail("context_too_long"), float(t))  # the prompt's fault, not B's
    for t in range(5):
        r.observe(B, ok(10), 20.0 + t)
    r.observe(B, fail(), 26.0)
    r.observe(B, fail(), 27.0)
    assert B not in r.cooling(27.0)  # 2 failures in 7 recent calls: not most of them
    r.observe(B, fail(), 100.0)
    r.observe(B, fail(), 101.0)
    assert B not in r.cooling(101.0)  # 2 calls in the last minute: too few to judge
    r.observe(B, fail(), 102.0)
    assert B in r.cooling(102.0)  # 3 of 3 in the last minute


def test_report_rows_only_when_shares_move() -> None:
    r = Weighted([A, B], {A: 1, B: 1})
    picks(r, 5, 0.0, candidates=(A, B))
    assert r.report(0.0) == []  # too few decisions yet
    picks(r, 9, 1.0, candidates=(A, B))
    first = r.report(1.0)
    assert [d.share for d in first] == [0.5, 0.5] and "first shares" in first[0].reason
    picks(r, 10, 20.0, candidates=(A, B))
    assert r.report(20.0) == []  # the same shares
    picks(r, 30, 30.0, candidates=(A,))
    moved = r.report(30.0)
    assert moved and moved[0].share > 0.7 and "shares moved" in moved[0].reason


# -- fleets of sim arms in simulated time ------------------------------------------------------

# The demo arms, with `fast` knowing a quarter of the topic: clearly weaker per token.
ARMS = {**DEMO_ARMS, "sim:fast": dataclasses.replace(DEMO_ARMS["sim:fast"], knowledge=0.25)}
TOPIC = "Kites (sim:8000)"


def test_adaptive_gives_the_best_arm_most_requests_and_beats_round_robin() -> None:
    adaptive = run_fleet(
        TOPIC, ARMS, make_router("adaptive", list(ARMS), objective="tokens", seed=1),
        duration_s=240, seed=1,
    )  # fmt: skip
    rr = run_fleet(TOPIC, ARMS, make_router("round-robin", list(ARMS)), duration_s=240, seed=1)
    assert adaptive.share("sim:strong", start=60) >= 0.7
    assert rr.share("sim:strong", start=60) == pytest.approx(1 / 3, abs=0.02)
    assert adaptive.per("tokens") > 1.2 * rr.per("tokens")


def test_traffic_leaves_a_failing_best_arm_within_30s_and_comes_back() -> None:
    down, up = 150.0, 270.0
    r = run_fleet(
        TOPIC, ARMS, make_router("adaptive", list(ARMS), objective="tokens", seed=2),
        duration_s=420, seed=2, outages={"sim:strong": [(down, up)]},
    )  # fmt: skip
    assert r.share("sim:strong", 60, down) >= 0.7
    assert r.share("sim:strong", down + 30, up) <= 0.1  # gone within 30 s (probes only)
    assert r.share("sim:strong", up + 90, 420) >= 0.7  # back after it recovered


# -- the orchestrator, the store and the command line -------------------------------------------


async def orchestrate(
    tmp_path: Path,
    routing: str,
    on_event: Callable[[Orchestrator], None] | None = None,
    **kw: object,
) -> sqlite3.Connection:
    instant = {"latency_base_s": 0.0, "latency_per_token_s": 0.0, "latency_jitter": 0.0}
    good = dataclasses.replace(ARMS["sim:strong"], **instant)
    poor = dataclasses.replace(ARMS["sim:cheap"], knowledge=0.05, **instant)
    providers = {
        "sim:good": SimProvider("good", seed=1, params=good),
        "sim:poor": SimProvider("poor", seed=1, params=poor),
    }
    settings = RunSettings(
        "Kites (sim:3000)",
        [Arm("sim", "good"), Arm("sim", "poor")],
        producers=4,
        limits=Limits(max_requests=160),
        seed=1,
        routing=routing,
        **kw,  # type: ignore[arg-type]
    )
    store = await Store.open(tmp_path / "igentai.db")
    output = OutputFile(tmp_path / "output.txt")
    orc = Orchestrator(settings, store, providers, output)
    if on_event is not None:
        orc.subscribe(lambda e: on_event(orc))
    try:
        await asyncio.wait_for(orc.run(), 60)
    finally:
        output.close()
        await store.close()
    return sqlite3.connect(tmp_path / "igentai.db")


async def test_orchestrator_routes_by_the_router_and_records_why(tmp_path: Path) -> None:
    con = await orchestrate(tmp_path, "adaptive", optimize="tokens")
    per_arm = dict(con.execute("SELECT model, count(*) FROM calls WHERE id > 80 GROUP BY model"))
    assert per_arm.get("good", 0) >= 0.7 * sum(per_arm.values()), per_arm
    rows = con.execute("SELECT arm, share, score, unit, reason FROM routing").fetchall()
    assert {r[0] for r in rows} == {"sim:good", "sim:poor"}
    assert all(0 <= r[1] <= 1 and r[2] is not None and r[3] == "new/1k tokens" for r in rows)
    assert any("best score" in r[4] for r in rows if r[0] == "sim:good"), rows


async def test_orchestrator_fixed_routing_keeps_producers_on_their_arms(tmp_path: Path) -> None:
    con = await orchestrate(tmp_path, "fixed")
    arms_of = con.execute("SELECT producer, count(DISTINCT model) FROM calls GROUP BY producer")
    assert all(n == 1 for _, n in arms_of)
    per_arm = dict(con.execute("SELECT model, count(*) FROM calls GROUP BY model"))
    assert set(per_arm) == {"good", "poor"}


async def test_a_producer_added_on_a_chosen_arm_stays_there(tmp_path: Path) -> None:
    added: list[int | None] = []

    def add_once(orc: Orchestrator) -> None:
        if not added and orc.metrics.total.requests >= 20:
            added.append(orc.add_producer("sim:poor"))

    con = await orchestrate(tmp_path, "adaptive", add_once, optimize="tokens")
    assert added == [5]
    models = dict(con.execute("SELECT model, count(*) FROM calls WHERE producer = 5 GROUP BY 1"))
    assert list(models) == ["poor"] and models["poor"] > 5
    others = con.execute("SELECT count(*) FROM calls WHERE producer < 5 AND id > 100").fetchone()
    assert others[0] > 0


def test_cli_routing_flags_and_resume() -> None:
    def request(argv: list[str], stored: dict | None = None):
        args = build_parser().parse_args([*argv, "--headless", "--db", "x.db"])
        return run_request(args, stored).settings

    s = request(["T", "--providers", "sim,sim:fast"])
    assert (s.routing, s.optimize, s.weights) == ("adaptive", "cost", {})
    weighted = ["--routing", "weighted", "--weights", "sim=3,sim:fast=1"]
    s = request(["T", "--providers", "sim,sim:fast", *weighted])
    assert s.weights == {"sim:default": 3.0, "sim:fast": 1.0}
    stored = {**s.as_dict(), "output_path": "o.txt"}
    again = request([], stored)  # --resume: the stored routing and weights
    assert (again.routing, again.weights) == ("weighted", s.weights)
    assert request(["--optimize", "speed"], stored).optimize == "speed"
    for argv, says in [
        (["T", "--routing", "weighted"], "needs --weights"),
        (["T", "--weights", "sim=1"], "only for --routing weighted"),
        (["T", "--routing", "weighted", "--weights", "openai=1"], "not one of the run's"),
    ]:
        with pytest.raises(UsageError, match=says):
            request([*argv, "--providers", "sim"])


async def test_migration_3_applies_whatever_else_the_file_has(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL,"
        " applied_at TEXT NOT NULL)"
    )
    for statement in MIGRATIONS[0].statements:
        con.execute(statement)
    con.execute("INSERT INTO schema_migrations VALUES (1, 'x', 'now'), (2, 'another', 'now')")
    con.commit()
    con.close()
    store = await Store.open(path)
    await store.close()
    con = sqlite3.connect(path)
    versions = [r[0] for r in con.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    con.close()
    assert versions == list(range(1, len(MIGRATIONS) + 1)) and "routing" in tables


def test_bad_weights_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from igentai_tui.cli import main

    argv = ["--headless", "T", "--providers", "sim", "--db", "x.db", "--routing", "weighted"]
    assert main([*argv, "--weights", "sim=many"]) == 2
    err = capsys.readouterr().err
    assert err == "igentai: error: --weights: weight of sim:default is not a number: 'many'\n"


def test_added_producers_start_on_the_best_scored_arm() -> None:
    r = Adaptive([A, B], "tokens", seed=1)
    assert r.place([A, B], 0.0) is None  # nothing known yet: spread evenly
    feed(r, {A: ok(10), B: ok(30)}, 100)
    assert r.place([A, B], 100.0) == B
    assert r.place([A], 100.0) == A  # B disabled
    assert RoundRobin([A, B]).place([A, B], 0.0) is None


def test_the_routing_title_says_per_token_when_nothing_costs_money() -> None:
    from igentai_tui.engine.routing import scored_per

    assert scored_per("cost", [(0.15, 0.6), (0.0, 0.0)]) == "dollar"
    assert scored_per("cost", [(0.0, 0.0), (0.0, 0.0)]) == "token"  # free models (sim)
    assert scored_per("cost", [(0.15, 0.6), None]) == "token"  # a price unknown
    assert scored_per("speed", [None]) == "second"
