"""The stop by cost: a new entry over the last stretch against the run's average
(engine/saturation.py)."""

from __future__ import annotations

from igentai_tui.engine.saturation import MARGINAL_CALLS, MARGINAL_COST, Marginal


def test_a_stretch_much_dearer_than_the_run_says_exhausted_a_steady_one_does_not() -> None:
    steady, dearer = Marginal(), Marginal()
    for m in (steady, dearer):
        for _ in range(3 * MARGINAL_CALLS):
            m.add(1_000, 10)  # 100 tokens an entry
    for _ in range(2 * MARGINAL_CALLS):
        steady.add(1_000, 10)
        dearer.add(1_000, 1)  # 1,000 tokens an entry: 10x
    assert not steady.exhausted() and steady.ratio() == 1.0
    ratio = dearer.ratio()
    assert ratio is not None and ratio > MARGINAL_COST and dearer.exhausted()


def test_nothing_is_said_before_there_is_a_run_to_compare_with() -> None:
    m = Marginal()
    for _ in range(2 * MARGINAL_CALLS - 1):
        m.add(1_000, 0)
    assert m.ratio() is None and not m.exhausted()


def test_a_resumed_run_compares_its_new_requests_with_the_whole_runs_average() -> None:
    m = Marginal()
    m.restore(calls=500, tokens=500_000, found=5_000)  # 100 tokens an entry so far
    for _ in range(MARGINAL_CALLS - 1):
        m.add(1_000, 0)
    assert m.ratio() is None  # not one stretch of requests yet: nothing said
    for _ in range(MARGINAL_CALLS + 1):
        m.add(1_000, 1)
    assert m.exhausted()  # 1,000 tokens an entry now: 10x the run's average
