"""Uniqueness measured on real-world pairs (tests/data/pairs.tsv).

A false merge is a "different" pair whose keys or loose signatures are equal (one entry would
be lost); a missed duplicate is a "same" pair whose keys and loose signatures both differ (a
near-duplicate would be listed twice). The baselines are what normalization achieves today:
the test fails if either number rises. Known failures are listed in docs/uniqueness.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from igentai_tui.engine.normalize import forms

PAIRS = Path(__file__).parent / "data" / "pairs.tsv"
FALSE_MERGES_BASELINE = 4
MISSED_DUPLICATES_BASELINE = 23


class Pair(NamedTuple):
    category: str
    same: bool
    a: str
    b: str


def load_pairs() -> list[Pair]:
    pairs = []
    for line in PAIRS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        category, label, a, b = line.split("\t")
        assert label in ("same", "different"), line
        pairs.append(Pair(category, label == "same", a, b))
    return pairs


def merged(p: Pair) -> bool:
    fa, fb = forms(p.a), forms(p.b)
    assert fa is not None and fb is not None, p
    return fa.key == fb.key or fa.loose == fb.loose


def test_pair_table_is_big_and_varied() -> None:
    pairs = load_pairs()
    assert len(pairs) >= 100
    assert len({p.category for p in pairs}) >= 8
    assert sum(p.same for p in pairs) >= 40 and sum(not p.same for p in pairs) >= 40


def test_false_merges_and_missed_duplicates() -> None:
    pairs = load_pairs()
    false_merges = [p for p in pairs if not p.same and merged(p)]
    missed = [p for p in pairs if p.same and not merged(p)]
    different = sum(not p.same for p in pairs)
    print(f"\nfalse merges: {len(false_merges)} of {different} different pairs")
    for p in false_merges:
        print(f"  [{p.category}] {p.a!r} = {p.b!r}")
    print(f"missed duplicates: {len(missed)} of {len(pairs) - different} same pairs")
    for p in missed:
        print(f"  [{p.category}] {p.a!r} != {p.b!r}")
    assert len(false_merges) <= FALSE_MERGES_BASELINE
    assert len(missed) <= MISSED_DUPLICATES_BASELINE
