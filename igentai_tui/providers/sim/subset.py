"""A focus's subset of a universe: the entries it covers, in popularity order, and what a
model recalls from it."""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from collections.abc import Sequence


class Subset:
    """The entries a focus covers, in popularity order, with cumulative Zipf weights."""

    __slots__ = (
        "_cum", "_order", "groups", "idx", "key", "letters", "members", "phantoms", "prefix",
        "subs",
    )  # fmt: skip

    def __init__(
        self,
        key: str,
        idx: list[int],
        subs: tuple[int, ...],
        letters: str | None,
        groups: tuple[int, ...] = (),
        prefix: str | None = None,
    ) -> None:
        self.key = key
        self.idx = idx
        self.members = frozenset(idx)
        self.subs = subs  # styles (invention templates) of the entries it covers
        self.letters = letters  # the first letters the focus allows, None for any
        self.prefix = prefix  # the folded prefix names must start with, None for any
        self.groups = groups  # the groups the focus names (the last part of a path)
        self.phantoms: dict[str, tuple[list[str], list[float]]] = {}
        self._cum: dict[float, list[float]] = {}
        self._order: list[int] | None = None

    def cum(self, exponent: float) -> list[float]:
        """Cumulative weights of `idx` for a Zipf exponent (cached)."""
        cum = self._cum.get(exponent)
        if cum is None:
            cum = cumulative(self.idx, exponent)
            self._cum[exponent] = cum
        return cum

    def known(self, limit: int) -> int:
        """How many of `idx` a model knowing the `limit` most popular entries knows."""
        return bisect_left(self.idx, limit)

    def sample(self, rng: random.Random, cum: list[float], known: int) -> int:
        """One entry index drawn by popularity among the first `known`."""
        k = bisect_right(cum, rng.random() * cum[known - 1], 0, known - 1)
        return self.idx[k]

    def reach(self, salience: Sequence[float], limit: int, depth: int) -> list[int]:
        """The entries a model recalls from this focus: the `depth` most salient of those it
        knows (popularity within the focus, times each entry's own salience), in popularity
        order. A broad focus reaches only its best-known entries; a narrow one reaches all."""
        order = self._order
        if order is None:
            sal = salience
            pos = {i: k for k, i in enumerate(self.idx)}
            order = self._order = sorted(self.idx, key=lambda i: (pos[i] + 1) / sal[i])
        if limit >= len(salience):
            return sorted(order[:depth])
        out: list[int] = []
        for i in order:
            if i < limit:
                out.append(i)
                if len(out) >= depth:
                    break
        return sorted(out)


def cumulative(idx: list[int], exponent: float) -> list[float]:
    total, cum = 0.0, []
    for i in idx:
        total += (i + 1) ** -exponent
        cum.append(total)
    return cum
