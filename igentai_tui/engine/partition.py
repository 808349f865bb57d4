"""One partition of a topic (a vein mined with one focus) and what mining it has given; the
letters and prefixes names are partitioned by.

Plain data: `Partitions` (partitions.py) decides what to do with them.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from igentai_tui.engine.normalize import Forms
from igentai_tui.engine.records import PartitionRow

EWMA = 0.5  # weight of the newest request in the recent yield
RUN_EWMA = 0.05  # weight of the newest request in the run's recent rate
SEEN_MAX = 600  # entries remembered per partition (its context shows fewer); halved when passed
REAL_PRIOR = 3  # entries' worth of the run's real share in a partition's own
RETIRED_LEFT = 0.5  # a retired partition still holds this share of what its last request found
LETTERS = string.ascii_uppercase
LETTER_GROUP_FOUND = 12  # a dry subtopic is split into ranges of first letters holding about
# this many of its entries each: every partition costs at least one request, so one letter
# each would cost a request for a handful of entries (and invite inventions to fill it)


def first_letter(text: str) -> str:
    """The upper-case first letter or digit of a name, accents folded ("Île" -> "I")."""
    for ch in unicodedata.normalize("NFKD", text):
        if ch.isalnum():
            return ch.upper()
    return ""


def name_prefix(text: str, n: int) -> str:
    """The first `n` letters or digits of a name, folded ("Île-de-France", 3 -> "ile")."""
    out = []
    for ch in unicodedata.normalize("NFKD", text.casefold()):
        if ch.isalnum():
            out.append(ch)
            if len(out) == n:
                break
    return "".join(out)


@dataclass(slots=True)
class Partition:
    """One vein of the topic and what mining it has given so far."""

    name: str  # "" for the whole topic; otherwise the focus text sent to the LLM
    parent: str | None = None
    kind: str = "topic"  # topic, subtopic, letter, prefix
    depth: int = 0
    status: str = "active"  # active, split_pending, split, retired
    letters: str | None = None  # letter partitions: entries start with one of these
    prefix: str | None = None  # prefix partitions: entries start with this (folded)
    requests: int = 0
    returned: int = 0
    new: int = 0
    tokens: int = 0
    distinct: int = 0  # entries proposed here (that fit its letters), each counted once
    foreign: int = 0  # ... of which the run had found elsewhere first
    recent_yield: float | None = None  # EWMA of new / returned
    recent_new: float | None = None  # EWMA of new entries per request
    last_new: int = 0  # new entries of the latest request
    recent_rate: float | None = None  # EWMA of new entries per 1,000 tokens
    inflight: int = 0
    planned: bool = False  # no (more) subtopic answers to ask for
    plans: int = 0  # subtopic answers applied
    plan_inflight: bool = False
    plan_failures: int = 0
    plan_at: int = 0  # list requests of the run when its latest subtopic answer came
    last_assigned: int = 0
    below: int = 0  # new entries found by the partitions below it (its split's gain)
    split_found: int = 0  # entries it had found when it was split
    reopened: bool = False  # mined or split again after it was retired (see Partitions.replan)
    short: bool = False  # its latest reply had fewer entries than asked for (see SHORT)
    weight: int = 0  # for a letter or prefix partition, its parent's entries that fit it
    rejected: int = 0  # of its entries checked by verification, how many were not real
    checked: int = 0
    merged: int = 0  # of its entries, how many named an entry already there
    mentions: dict[str, int] = field(default_factory=dict)  # subtopic key -> answers naming it
    # loose -> (text, times, order). Tuples of strings and ints are untracked by the garbage
    # collector, so 100,000 remembered entries do not lengthen its full collections.
    seen: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    _ranked: list[tuple[str, str, int]] | None = None
    _order: int = 0

    @property
    def label(self) -> str | None:
        """The partition as calls and entries record it (None for the whole topic)."""
        return self.name or None

    prior: float = 1.0  # the run's real share, for a partition with few entries checked

    @property
    def real_share(self) -> float:
        """The share of its new entries expected to be real: what verification found of its
        own entries, starting from the run's share (`REAL_PRIOR` entries' worth)."""
        return (self.checked - self.rejected + REAL_PRIOR * self.prior) / (
            self.checked + REAL_PRIOR
        )

    def record(self, candidates: Sequence[Forms], new: int, tokens: int) -> None:
        """Count one successful request and what it proposed."""
        self.requests += 1
        self.returned += len(candidates)
        self.new += new
        self.tokens += tokens
        seen = self.seen
        first = 0  # proposed here for the first time
        for f in candidates:
            hit = seen.get(f.loose)
            if hit is None:
                self._order += 1
                fits = self.admits(f.text)  # a model's leaks out of it do not count
                self.distinct += fits
                first += fits
                seen[f.loose] = (f.text, 1, self._order)
            else:
                seen[f.loose] = (hit[0], hit[1] + 1, hit[2])
        if len(seen) > SEEN_MAX:  # keep memory bounded
            self.keep(SEEN_MAX // 2)
        self.foreign += max(0, first - new)
        self._ranked = None
        real = new * self.real_share
        y = real / len(candidates) if candidates else 0.0
        rate = 1000 * real / tokens if tokens else 0.0
        self.recent_yield = ewma(self.recent_yield, y)
        self.recent_new = ewma(self.recent_new, real)
        self.last_new = round(real)
        self.recent_rate = ewma(self.recent_rate, rate)

    def seed(self, text: str, loose: str, times: int) -> None:
        """Know an entry proposed in this partition before (a resumed run)."""
        if loose not in self.seen:
            self._order += 1
            self.seen[loose] = (text, times, self._order)
            if len(self.seen) > SEEN_MAX:
                self.keep(SEEN_MAX // 2)
        self._ranked = None

    def keep(self, n: int) -> None:
        """Remember only the `n` entries most likely to be repeated: the most proposed, then
        the newest."""
        self.seen = dict(sorted(self.seen.items(), key=_rank)[:n])
        self._ranked = None

    def row(self) -> PartitionRow:
        """This partition as the partitions table stores it."""
        return PartitionRow(
            self.name, self.parent, self.kind, self.depth, self.status, self.requests,
            self.returned, self.new, self.tokens, self.recent_yield,
        )  # fmt: skip

    @property
    def found(self) -> float:
        """Real entries proposed here, estimated: those that fit it, less the variants of
        others, as real as verification has found its entries."""
        return max(0, self.distinct - self.merged) * self.real_share

    def unseen(self) -> float:
        """Entries of this partition not proposed yet, estimated from how often those it
        knows were proposed (bias-corrected Chao1: many proposed once, few twice, means
        much is left)."""
        f1 = f2 = 0
        for _, times, _ in self.seen.values():
            f1 += times == 1
            f2 += times == 2
        return f1 * (f1 - 1) / (2 * (f2 + 1))

    def left(self) -> float:
        """Real entries a dry partition still holds, estimated: `RETIRED_LEFT` of what its last
        request found, none when that reply ran short (the model had listed all it recalls
        there)."""
        return 0.0 if self.short else RETIRED_LEFT * self.last_new

    def ranked(self) -> list[tuple[str, str, int]]:
        """(loose, text, times proposed) of the entries proposed here, most proposed first,
        then newest."""
        if self._ranked is None:
            self._ranked = [(k, v[0], v[1]) for k, v in sorted(self.seen.items(), key=_rank)]
        return self._ranked

    def admits(self, text: str) -> bool:
        """Whether a name fits this partition's letters or prefix (any name when it has
        none)."""
        if self.prefix is not None:
            return name_prefix(text, len(self.prefix)) == self.prefix
        if self.letters is not None:
            c = first_letter(text)
            return bool(c) and c in self.letters
        return True


def _rank(item: tuple[str, tuple[str, int, int]]) -> tuple[int, int]:
    return (-item[1][1], -item[1][2])


def ewma(old: float | None, value: float) -> float:
    return value if old is None else EWMA * value + (1 - EWMA) * old


def ewma_slow(old: float, value: float) -> float:
    return RUN_EWMA * value + (1 - RUN_EWMA) * old if old else value


@dataclass(frozen=True, slots=True)
class Task:
    """What to ask next: a list of entries of `partition`, or a split of it (`plan`)."""

    partition: Partition
    plan: bool = False


def letter_groups(p: Partition) -> list[str]:
    """First letters grouped into ranges ("ABC", "D", ...) holding about `LETTER_GROUP_FOUND`
    of `p`'s entries each (at least two ranges), in alphabetical order; single letters when
    `p` has found nothing to tell how its names spread. A letter holding more than a range's
    share is a range of its own."""
    counts = dict.fromkeys(LETTERS, 0)
    for text, _, _ in p.seen.values():
        c = first_letter(text)
        if c in counts:
            counts[c] += 1
    total = sum(counts.values())
    if total == 0:
        return list(LETTERS)
    target = total / max(2, round(total / LETTER_GROUP_FOUND))
    groups: list[tuple[str, int]] = []  # (letters, entries found in them)
    group, acc = "", 0
    for c in LETTERS:
        if group and acc + counts[c] > 1.5 * target:
            groups.append((group, acc))
            group, acc = "", 0
        group += c
        acc += counts[c]
        if acc >= target:
            groups.append((group, acc))
            group, acc = "", 0
    if group:  # the rest joins the last range unless that makes it too big
        if groups and groups[-1][1] + acc <= 1.5 * target:
            last, n = groups.pop()
            group, acc = last + group, n + acc
        groups.append((group, acc))
    return [g for g, _ in groups]
