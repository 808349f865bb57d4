"""Partitions of a topic: planning subtopics, choosing what to mine, splitting, and the stop.

The topic starts as one partition, the root. The first request of a run asks the LLM to split
the topic into subtopics; each becomes a partition that producers mine with a `Focus:` line and
a context of its own entries. A model recalls from one focus only its best-known entries, so a
partition that has found many entries is split again when it runs dry (into subtopics, first
letters, longer prefixes), as deep as the data goes; a small dry one is retired. Subtopics are
themselves a list to exhaust: a split partition is asked again, showing the subtopics it
has, until an answer adds next to nothing. When nothing is left to mine and the estimate of
what is left unfound is small, the topic is exhausted.

Plain data and decisions only: the orchestrator holds the lock, sends the prompts and feeds the
replies back. Nothing here knows about providers, the store or threads.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from igentai_tui.engine.normalize import Forms, forms
from igentai_tui.engine.prompts import (
    letter_partition,
    letters_of,
    prefix_of,
    prefix_partition,
    without_letters,
)
from igentai_tui.providers.base import estimate_tokens
from igentai_tui.store import PartitionRow

RETIRE_YIELD = 0.10  # a partition whose recent yield falls below this is dry
RETIRE_NEW = 5  # ... or whose latest request found fewer new entries than this
EWMA = 0.5  # weight of the newest request in the recent yield
SPLIT_MIN_FOUND = 40  # a dry partition that found at least this many entries is split, not
# retired: its focus may reach only the best-known of its entries
MIN_SUBTOPICS = 3  # a first split into fewer distinct new subtopics is poor: letters instead
PLAN_MORE = 3  # a subtopic answer adding at least this many new names is followed by another
PLAN_COUNT = 40  # subtopics asked for per answer (models name fewer)
PLAN_GAP = 2  # list requests between two subtopic answers of one partition (while any can be
# made): asking again never starves mining, nor runs on when a model answers with entries
SPLIT_PENDING = "split_pending"  # a split is to be asked for; not mined meanwhile
PLAN_ATTEMPTS = 2  # failed planning requests before falling back to letters
MAX_NAME_CHARS = 80
PREFIX_MAX = 4  # the longest prefix a partition is narrowed to ("Kabr")
SEEN_MAX = 600  # entries remembered per partition (its context shows fewer); halved when passed
TOTAL_SEEN_MAX = 100_000  # entries remembered over all partitions; see Partitions._forget
FORGET_FLOOR = 20  # a partition always keeps its 20 most proposed
LETTERS = string.ascii_uppercase
LETTER_GROUP_FOUND = 12  # a dry subtopic is split into ranges of first letters holding about
# this many of its entries each: every partition costs at least one request, so one letter
# each would cost a request for a handful of entries (and invite inventions to fill it)
SHORT = 0.7  # a reply with fewer entries than this share of those asked for ran out: models
# asked for more than they know invent the rest, so the next request is a small probe
DEFAULT_REQUEST = 50
MIN_REQUEST = 10
MIN_NARROW_REQUEST = 5  # a letter or prefix partition may be asked for fewer
SPLIT_REACH = 0.35  # ... or found this share of the most any one focus has found: a focus
# that found as many as the broadest one did was likely stopped by what a model recalls from
# one focus, not by the end of its entries
REAL_PRIOR = 3  # entries' worth of the run's real share in a partition's own
MOSTLY_REJECTED = 0.5  # a partition whose checked entries are less real than this is dry
MASKED = 0.5  # share of a partition's proposals found elsewhere first that makes it crowded
PROBES = 2  # children of a split tried before the rest are judged by them
PROBE_WORTH = 0.25  # ... and not tried when they found under this share of the recent rate
RUN_EWMA = 0.05  # weight of the newest request in the run's recent rate
VERIFIER_DOUBT = 0.02  # real entries a verifier calls not real (assumed; see estimated_real)
VERIFIER_BELIEF = 0.25  # inventions a verifier takes for real, at most (assumed)
RETIRED_LEFT = 0.5  # a retired partition still holds this share of what its last request found
SATURATION_LEFT = 0.10  # the topic may be exhausted once less than this is estimated unfound
REPLAN_PROBES = 10  # ... or once the last this many partitions looked at again brought under
REPLAN_GAIN = 1.0  # this many confirmed entries each (re-planning says done, whatever the
# estimate says)
GAIN_PRIOR = 0.5  # entries a split finds below a partition, per entry it had found (before
# any split has shown what this topic's are); see Partitions.unfound
_AND = re.compile(r"\s*(?:,|&|\band\b|/)\s*", re.IGNORECASE)


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
    skipped: bool = False  # retired untried: its siblings' first requests found too little
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
        self.recent_yield = _ewma(self.recent_yield, y)
        self.recent_new = _ewma(self.recent_new, real)
        self.last_new = round(real)
        self.recent_rate = _ewma(self.recent_rate, rate)

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


def _ewma(old: float | None, value: float) -> float:
    return value if old is None else EWMA * value + (1 - EWMA) * old


def _ewma_slow(old: float, value: float) -> float:
    return RUN_EWMA * value + (1 - RUN_EWMA) * old if old else value


@dataclass(frozen=True, slots=True)
class Task:
    """What to ask next: a list of entries of `partition`, or a split of it (`plan`)."""

    partition: Partition
    plan: bool = False


class Partitions:
    """The partitions of one run and the policy that mines them."""

    def __init__(self, topic: str, *, plan: bool = True) -> None:
        self.topic = topic
        self.root = Partition("")
        self.by_name: dict[str, Partition] = {"": self.root}
        self._topic_key = _key(topic)
        self._ticket = 0
        self.dirty: set[str] = {""}  # partitions whose row is out of date
        self.changed = True  # a partition was made or changed status since the last take
        self._seen_total = 0  # entries remembered over all partitions
        self.root.planned = not plan
        # Kept up to date as partitions change, so that choosing costs no scan of them all
        # (thousands on a long run): the partitions by status, in the order they got it; the
        # sum and number of known recent rates per parent; split requests in flight; the
        # children of each partition; subtopic names already given anywhere.
        self._by_status: dict[str, dict[str, Partition]] = {
            s: {} for s in ("active", SPLIT_PENDING, "split", "retired")
        }
        self._by_status["active"][""] = self.root
        self._rates: dict[str | None, list[float]] = {}
        self._plans_out = 0
        self._children: dict[str, list[Partition]] = {}
        self._named: set[str] = set()  # keys of every subtopic name made a partition
        self._checked = self._rejected = 0  # entries verification decided, and rejected
        self._lists = 0  # list requests observed
        self._found = 0.0  # confirmed entries, as settle was last told
        self._reopened_at: list[float] = []  # confirmed entries when each partition was
        # looked at again (see settle)
        self._share = 1.0
        self._reach = 0.0  # the most real entries a partition had found when it ran dry
        self._first: dict[str | None, list[float]] = {}  # parent -> [sum, count] of the
        # real entries per 1,000 tokens its children's first requests found
        self._recent_rate = 0.0  # real entries per 1,000 tokens of the latest list requests
        self._first_new: dict[str | None, list[float]] = {}  # parent -> [real entries its
        # children's first requests found, their parent's entries that fit them, children]

    # -- choosing ------------------------------------------------------------------------------

    def next(self, *, reopen: bool = True) -> Task | None:
        """The next request to make, or None when there is nothing to do now.

        Splits come first (the root's before anything else), then more subtopics for
        partitions whose list still grows, then the active partition with the fewest requests
        in flight and the best recent rate. With `reopen`, once every partition is retired,
        retired ones are mined again, least recently used first."""
        self._ticket += 1
        root = self.root
        if not root.planned and not root.plan_inflight and self._may_ask_again(root):
            return self._plan(root)
        for p in self._by_status[SPLIT_PENDING].values():
            if not p.plan_inflight:
                return self._plan(p)
        for p in self._by_status["split"].values():
            if not p.planned and not p.plan_inflight and self._may_ask_again(p):
                return self._plan(p)
        active = self._by_status["active"]
        while active:
            expected = self._expected
            p = min(
                active.values(),
                key=lambda p: (p.inflight, -expected(p), -p.weight, p.last_assigned),
            )
            if p.requests or p.inflight or not self._not_worth_trying(p):
                return self._list(p)
            p.skipped = True
            self._set(p, "retired")
        retired = self._by_status["retired"].values()
        if reopen and retired and not self._plans_out:
            return self._list(min(retired, key=lambda p: (p.inflight, p.last_assigned)))
        return None

    def _may_ask_again(self, p: Partition) -> bool:
        """Whether another subtopic answer of `p` may be asked for now: its first, or after
        `PLAN_GAP` list requests since its latest, or when no partition can be mined."""
        return (
            not p.plans
            or self._lists - p.plan_at >= PLAN_GAP
            or not self._by_status["active"]
        )

    def _not_worth_trying(self, p: Partition) -> bool:
        """Whether a partition not tried yet is not worth a request: its siblings' first
        requests (`PROBES` of them at least) found real entries at under `PROBE_WORTH` of the
        rate requests find them at lately. A split of a partition that had found all there
        was costs a few probes, not one request per letter."""
        first = self._first.get(p.parent)
        return (
            p.parent != ""  # the topic's own subtopics are each a group of its own
            and first is not None
            and first[1] >= PROBES
            and first[0] / first[1] < PROBE_WORTH * self._recent_rate
        )

    def _expected(self, p: Partition) -> float:
        """A partition's expected new entries per 1,000 tokens: its recent rate; for one not
        tried yet, the mean rate of its tried siblings, or infinity when none is."""
        if p.recent_rate is not None:
            return p.recent_rate
        acc = self._rates.get(p.parent)
        return acc[0] / acc[1] if acc else float("inf")

    def exhausted(self) -> bool:
        """True when every partition is split or retired and no split is pending or asked."""
        by_status = self._by_status
        return (
            self.root.planned
            and not by_status["active"]
            and not by_status[SPLIT_PENDING]
            and self._plans_out == 0
            and all(p.planned for p in by_status["split"].values())
        )

    def _list(self, p: Partition) -> Task:
        p.inflight += 1
        p.last_assigned = self._ticket
        return Task(p)

    def _plan(self, p: Partition) -> Task:
        self._plans_out += not p.plan_inflight
        p.plan_inflight = True
        p.last_assigned = self._ticket
        return Task(p, plan=True)

    # -- request shape -------------------------------------------------------------------------

    def request_size(self, p: Partition, default: int = DEFAULT_REQUEST) -> int:
        """Entries to ask for: the default while a partition is fresh (for a letter range or
        prefix, what its parent found in it and 5 more: asked for more than exist, models
        invent), then about twice what its recent requests found, so a nearly dry partition
        costs little; after a reply that ran out, the least."""
        narrow = p.kind in ("letter", "prefix")
        least = MIN_NARROW_REQUEST if narrow else MIN_REQUEST
        if p.recent_new is None:
            if not narrow:
                return default
            family = self._first_new.get(p.parent)
            if family is None or family[2] < PROBES:  # what the parent found in it, halved
                return max(least, min(default, p.weight // 2 + 5))
            per_known = family[0] / max(1, family[1])  # what its siblings' first requests
            return max(least, min(default, round(1.5 * per_known * p.weight) + 3))  # found
        if p.short:  # the model ran out of entries to give last time: a small probe
            return least
        return max(least, min(default, round(2 * p.recent_new) + 5))

    def context(self, p: Partition, budget_tokens: int) -> list[str]:
        """The entries to show for `p`, those most likely to be repeated first, within the
        budget (see `_known`)."""
        out: list[str] = []
        used = 0
        for _, text, _ in self._known(p):
            used += estimate_tokens(text) + 1
            if used > budget_tokens:
                break
            out.append(text)
        return out

    def _known(self, p: Partition) -> Iterator[tuple[str, str, int]]:
        """(loose, text, times proposed) of the entries known in `p`, those most likely to be
        repeated first: those proposed in it (most proposed first, then newest); for a letter
        or prefix partition, then its parent's entries that fit it."""
        chain = [p]
        narrowed = p.letters is not None or p.prefix is not None
        if narrowed and p.parent is not None:
            chain.append(self.by_name[p.parent])
        shown: set[str] = set()
        for node in chain:
            for loose, text, times in node.ranked():
                if loose in shown or (narrowed and not p.admits(text)):
                    continue
                shown.add(loose)
                yield loose, text, times

    # -- results -------------------------------------------------------------------------------

    def released(self, p: Partition, plan: bool) -> None:
        """A request on `p` ended, whatever its outcome (a split request ends in `planned`
        or `plan_failed`)."""
        if not plan:
            p.inflight = max(0, p.inflight - 1)

    def observe(
        self, p: Partition, candidates: Sequence[Forms], new: int, tokens: int, asked: int = 0
    ) -> None:
        """Account a successful list request on `p` (that asked for `asked` entries), then
        retire or split it if it is done: dry (its reply ran out, see `SHORT`, or its recent
        yield of real entries is under `RETIRE_YIELD`)."""
        before = len(p.seen)
        rate = p.recent_rate
        self._lists += 1
        p.prior = self._share
        p.record(candidates, new, tokens)
        p.short = bool(asked) and len(candidates) < SHORT * asked
        if rate is None:  # its first request: what a fresh sibling finds
            first = self._first.setdefault(p.parent, [0.0, 0])
            first[0] += p.recent_rate or 0.0
            first[1] += 1
            family = self._first_new.setdefault(p.parent, [0.0, 0, 0])
            family[0] += p.recent_new or 0.0
            family[1] += p.weight
            family[2] += 1
        self._recent_rate = _ewma_slow(self._recent_rate, p.recent_rate or 0.0)
        acc = self._rates.setdefault(p.parent, [0.0, 0.0])
        acc[0] += (p.recent_rate or 0.0) - (rate or 0.0)
        acc[1] += rate is None
        self._seen_total += len(p.seen) - before
        if self._seen_total > TOTAL_SEEN_MAX:
            self._forget()
        self.dirty.add(p.name)
        up = p.parent
        while up is not None and new:  # the gain of each split above it
            q = self.by_name[up]
            q.below += new
            up = q.parent
        if p.status != "active":
            return
        dry = p.short or (
            p.requests >= (1 if p.kind in ("letter", "prefix") else 2)
            and ((p.recent_yield or 0.0) < RETIRE_YIELD or p.last_new < RETIRE_NEW)
        )
        if not dry:
            return
        self._reach = max(self._reach, p.found)
        if self._splittable(p) and self._much_left(p):
            self._split_now(p)
        else:
            self._set(p, "retired")

    def _much_left(self, p: Partition) -> bool:
        """Whether a dry partition holds enough real entries to be split rather than retired:
        it found `SPLIT_MIN_FOUND`, and `SPLIT_REACH` of the most any focus found (its end
        was likely where a model's recall from one focus ends, not where its entries do), or
        most of what it proposed had been found elsewhere (`MASKED`: entries the run knows
        crowd its replies, more than its context can show)."""
        if p.found >= max(SPLIT_MIN_FOUND, SPLIT_REACH * self._reach):
            return True
        return p.found >= SPLIT_MIN_FOUND and p.foreign >= MASKED * p.distinct

    def _gain(self) -> float:
        """Entries the splits of this run found below a partition, per entry it had found
        when it was split (`GAIN_PRIOR` before any split has finished)."""
        done = [q for q in self._by_status["split"].values() if q.split_found and q.planned]
        gains = sum(q.below / q.split_found for q in done)
        return (gains + GAIN_PRIOR) / (len(done) + 1)

    def _splittable(self, p: Partition) -> bool:
        """Whether `p` can be narrowed further: the root is split by planning; a prefix
        partition up to `PREFIX_MAX` letters."""
        if p is self.root or p.status not in ("active", "retired"):
            return False
        if p.prefix is not None:
            return len(p.prefix) < PREFIX_MAX
        return True

    def _split_now(self, p: Partition) -> None:
        """Split `p`: letters and prefixes at once; subtopics through a planning request."""
        if p.kind in ("letter", "prefix"):
            self._split(p, [])
        else:
            self._set(p, SPLIT_PENDING)

    def _forget(self) -> None:
        """Halve what the partitions remember, keeping each one's most proposed and newest:
        memory stays bounded however long the run."""
        total = 0
        for q in self.by_name.values():
            if len(q.seen) > 2 * FORGET_FLOOR:
                q.keep(max(FORGET_FLOOR, len(q.seen) // 2))
            total += len(q.seen)
        self._seen_total = total

    def plan_failed(self, p: Partition) -> list[Partition]:
        """A planning request failed; after `PLAN_ATTEMPTS`, fall back to first letters (or,
        once it has subtopics, stop asking for more)."""
        self._plan_done(p)
        p.plan_failures += 1
        if p.plan_failures < PLAN_ATTEMPTS:
            return []
        if self.children(p):
            p.planned = True
            self.dirty.add(p.name)
            return []
        return self._split(p, [])

    def planned(self, p: Partition, lines: Sequence[str]) -> list[Partition]:
        """Apply the LLM's split of `p`; returns the partitions it created.

        Names that echo the topic or the partition, repeat a subtopic `p` has, or combine
        ones it has ("A and B"), are dropped. A poor first split (fewer than `MIN_SUBTOPICS`
        new subtopics, or mostly names already given elsewhere: generic categories, not a
        split of this focus) falls back to first letters. Each later answer adds what the
        earlier ones missed; `p` is asked again while an answer adds at least `PLAN_MORE`."""
        self._plan_done(p)
        p.plans += 1
        p.plan_at = self._lists
        names: list[str] = []
        mine = {_key(_last(q.name)) for q in self.children(p) if q.kind == "subtopic"}
        keys = {self._topic_key, _key(_last(p.name)) if p.name else self._topic_key}
        elsewhere = 0  # subtopics named under other partitions already
        for line in lines:
            f = forms(line)
            if f is None or len(f.text) > MAX_NAME_CHARS or f.key in keys or f.loose in keys:
                continue
            keys.update((f.key, f.loose))
            p.mentions[f.loose] = p.mentions.get(f.loose, 0) + 1
            if f.loose in mine or f.key in mine or _combines(f.text, mine):
                continue
            elsewhere += f.loose in self._named
            names.append(f.text)
        given = {_key(n) for n in names}
        names = [n for n in names if not _combines(n, mine | (given - {_key(n)}))]
        if p.plans == 1 or not self.children(p):
            poor = len(names) < MIN_SUBTOPICS or elsewhere * 2 > len(names)
            if poor:
                return self._split(p, [])
        made = self._split(p, names) if names else []
        p.planned = len(made) < PLAN_MORE
        self.dirty.add(p.name)
        return made

    def children(self, p: Partition) -> list[Partition]:
        return list(self._children.get(p.name, ()))

    def _split(self, p: Partition, names: list[str]) -> list[Partition]:
        """Make `p`'s children: the subtopics `names`, or (when empty) first letters, the
        single letters of a range, or prefixes one letter longer."""
        self.dirty.add(p.name)
        if names:
            made = [self._add(f"{p.name} > {n}" if p.name else n, p) for n in names]
            for n in names:
                self._named.add(_key(n))
        else:
            p.planned = True
            head = without_letters(p.name)
            made = []
            for part, letters, prefix in self._narrower(p):
                name = f"{head}; {part}" if head else part
                q = self._add(name, p, letters, prefix)
                q.weight = sum(1 for _ in self._known(q))
                made.append(q)
        if p is not self.root and p.status != "split":
            p.split_found = round(p.found)
            self._set(p, "split")
        return made

    def _narrower(self, p: Partition) -> list[tuple[str, str | None, str | None]]:
        """(focus clause, letters, prefix) of the partitions one step narrower than `p`."""
        if p.prefix is not None or (p.letters is not None and len(p.letters) == 1):
            n = len(p.prefix) + 1 if p.prefix else 2
            found = sorted(
                {name_prefix(t, n) for t, _, _ in p.seen.values() if p.admits(t)}
                | {name_prefix(t, n) for _, t, _ in self._known(p)}
            )
            found = [x for x in found if len(x) == n and x.isalpha()]
            if found:
                return [(prefix_partition(x), None, x) for x in found]
            return []
        if p.letters is not None:  # a range: its letters
            return [(letter_partition(c), c, None) for c in p.letters]
        return [(letter_partition(g), g, None) for g in letter_groups(p)]

    def _add(
        self,
        name: str,
        parent: Partition,
        letters: str | None = None,
        prefix: str | None = None,
    ) -> Partition:
        q = self.by_name.get(name)
        if q is None:
            kind = "prefix" if prefix else "letter" if letters else "subtopic"
            q = Partition(name, parent.name, kind, parent.depth + 1, letters=letters)
            q.prefix = prefix
            self.by_name[name] = q
            self._by_status[q.status][name] = q
            self._children.setdefault(parent.name, []).append(q)
            self.dirty.add(name)
            self.changed = True
        return q

    def _set(self, p: Partition, status: str) -> None:
        del self._by_status[p.status][p.name]
        self._by_status[status][p.name] = p
        p.status = status
        self.dirty.add(p.name)
        self.changed = True

    def _plan_done(self, p: Partition) -> None:
        self._plans_out -= p.plan_inflight
        p.plan_inflight = False

    # -- what is left --------------------------------------------------------------------------

    def verified(self, name: str | None, checked: int, rejected: int, merged: int = 0) -> None:
        """Verification checked `checked` entries first found in partition `name`, and found
        `rejected` of them not real: its yields count real entries only, and one whose
        answers are mostly rejected is dry."""
        self._checked += checked
        self._rejected += rejected
        share = (self._checked - self._rejected + 1) / (self._checked + 1)
        p = self.by_name.get(name or "")
        if p is None:
            return
        p.checked += checked
        p.rejected += rejected
        p.merged += merged
        if p.status == "active" and p.checked >= REAL_PRIOR and p.real_share < MOSTLY_REJECTED:
            self._set(p, "retired")
        self._share = share

    @property
    def real_share(self) -> float:
        """The share of entries verification has found real so far in this run."""
        return self._share

    def estimated_real(self, name: str | None, checked: int = 0, rejected: int = 0) -> float:
        """The share of the new entries of partition `name` estimated to be real, once the
        verifier's own errors are allowed for: it rejects about `VERIFIER_DOUBT` of real
        entries and accepts up to `VERIFIER_BELIEF` of inventions, so a partition whose
        entries it rejects at rate q is (1 - (q - doubt) / (1 - belief - doubt)) real.
        `checked` and `rejected` count a verdict not told to the partition yet."""
        p = self.by_name.get(name or "")
        if p is None:
            return 1.0
        q = (p.rejected + rejected + REAL_PRIOR * (1 - self._share)) / (
            p.checked + checked + REAL_PRIOR
        )
        real = 1 - (q - VERIFIER_DOUBT) / (1 - VERIFIER_BELIEF - VERIFIER_DOUBT)
        return min(1.0, max(0.0, real))

    def unfound(self) -> float:
        """Entries of the topic estimated not found yet: for each partition still being
        mined, Chao1 on its own proposals (at most twice what it found); for one waiting to
        be split, what the splits of this run found below a partition per entry it had
        found (`GAIN_PRIOR` before any); for a retired one, `Partition.left` (not Chao1,
        which reads far too high where exclusion lists hide the repeats it counts); for a
        split one whose subtopic list is still growing, the subtopics not named yet (Chao1 on
        how often answers named each) times what its subtopics found on average."""
        gain = self._gain()
        total = 0.0
        for p in self._by_status["active"].values():
            if p.requests:
                total += min(p.unseen(), 2.0 * p.distinct) * p.real_share
            else:
                total += self._sibling_mean(p)
        for p in self._by_status[SPLIT_PENDING].values():
            total += gain * p.found
        for p in self._by_status["retired"].values():
            if not p.reopened and p.requests:
                total += p.left()
        for p in self._by_status["split"].values():
            if not p.planned and p.mentions:
                f1 = sum(1 for n in p.mentions.values() if n == 1)
                f2 = sum(1 for n in p.mentions.values() if n == 2)
                kids = self._children.get(p.name, ())
                mean = sum(q.new for q in kids) / len(kids) if kids else 0.0
                total += f1 * (f1 - 1) / (2 * (f2 + 1)) * mean
        return total

    def _sibling_mean(self, p: Partition) -> float:
        kids = [q for q in self._children.get(p.parent or "", ()) if q.requests]
        return sum(q.new for q in kids) / len(kids) if kids else 0.0

    def settle(self, found: float) -> str:
        """Whether the topic may be declared exhausted, `found` real entries being found:
        "mining" while any partition is active or a split is pending; otherwise, before
        "exhausted", a partition that reached a model's recall is split by letters too
        (`switch_facet`), and while `SATURATION_LEFT` or more of the topic is estimated
        unfound, retired partitions are looked at again (`replan`): "reopened"."""
        if not self.exhausted():
            return "mining"
        self._found = found
        if self.switch_facet() or self._split_big():
            return "reopened"
        left = self.unfound()
        if left < SATURATION_LEFT * (found + left) or self._replans_dry() or not self.replan():
            return "exhausted"
        return "reopened"

    def _replans_dry(self) -> bool:
        """Whether re-planning says done: since the `REPLAN_PROBES`-th last partition was
        looked at again, fewer than `REPLAN_GAIN` confirmed entries came per partition."""
        at = self._reopened_at
        return (
            len(at) >= REPLAN_PROBES
            and self._found - at[-REPLAN_PROBES] < REPLAN_GAIN * REPLAN_PROBES
        )

    def switch_facet(self) -> bool:
        """Before the topic may be declared exhausted: a partition that had reached as far as
        a model recalls from one focus, and was split into subtopics, is split by first
        letters too (subtopics may overlap, or be a model's made-up categories; letters
        partition any list). False when there is none left to switch."""
        least = max(SPLIT_MIN_FOUND, SPLIT_REACH * self._reach)
        facets = [
            q for q in self._by_status["split"].values()
            if not q.reopened and q.kind == "subtopic" and q.split_found >= least
            and any(c.kind == "subtopic" for c in self._children.get(q.name, ()))
        ]  # fmt: skip
        if facets:
            p = max(facets, key=lambda q: q.split_found)
            p.reopened = True
            head = p.name
            for g in letter_groups(p):
                q = self._add(f"{head}; {letter_partition(g)}", p, g)
                q.weight = sum(1 for _ in self._known(q))
            return True
        return False

    def _split_big(self) -> bool:
        """Before the topic may be declared exhausted, a retired subtopic or letter partition
        that found `SPLIT_MIN_FOUND` real entries and was never split is split (the most found
        first; prefixes narrow by their own rule, or there would be thousands):
        its end may be where a model's recall from one focus ends, and its children are
        probed (`PROBES`), so a split of one that held no more costs a few requests."""
        big = [
            p for p in self._by_status["retired"].values()
            if not p.reopened and p.kind != "prefix" and p.found >= SPLIT_MIN_FOUND
            and self._splittable(p)
        ]  # fmt: skip
        if not big:
            return False
        p = max(big, key=lambda q: q.found)
        self._reopen(p)
        self._split_now(p)
        return True

    def _reopen(self, p: Partition) -> None:
        p.reopened = True
        self._reopened_at.append(self._found)

    def replan(self) -> bool:
        """Look again while much is estimated unfound: the retired partition whose last
        request found the most (as `unfound` counts it) is split (or, when it cannot be, mined
        again). False when no partition is left to look at."""
        candidates = [p for p in self._by_status["retired"].values() if not p.reopened]
        if not candidates:
            return False
        p = max(candidates, key=lambda q: (q.left(), q.distinct))
        self._reopen(p)
        if self._splittable(p) and p.distinct >= MIN_SUBTOPICS:
            self._split_now(p)
        else:
            self._set(p, "active")
        return True

    def restore(
        self, rows: Sequence[PartitionRow], seen: Sequence[tuple[str, str, str, int]]
    ) -> None:
        """Continue from a stored run: its partitions, and the entries each one found."""
        for r in rows:
            p = self.by_name.get(r.name)
            if p is None:
                letters = letters_of(r.name) if r.kind == "letter" else None
                p = self.by_name[r.name] = Partition(
                    r.name, r.parent, r.kind, r.depth, letters=letters
                )
                if r.kind == "prefix":
                    p.prefix = (prefix_of(r.name) or "").casefold() or None
            p.status, p.requests, p.returned, p.new = r.status, r.requests, r.returned, r.new
            p.tokens, p.recent_yield = r.tokens, r.recent_yield
            p.planned = True  # a resumed run does not ask for more subtopics
            if r.parent is not None and r.parent in self.by_name:
                self.by_name[r.parent].planned = True
        self.root.planned = self.root.planned or len(rows) > 1
        for index in self._by_status.values():
            index.clear()
        self._children.clear()
        for p in self.by_name.values():
            self._by_status.setdefault(p.status, {})[p.name] = p
            if p.parent is not None:
                self._children.setdefault(p.parent, []).append(p)
            if p.kind == "subtopic":
                self._named.add(_key(_last(p.name)))
        for name, text, loose, times in seen:
            q = self.by_name.get(name, self.root)
            q.seed(text, loose, times)
        for p in self.by_name.values():
            p.distinct = max(p.distinct, len(p.seen))
        self._seen_total = sum(len(p.seen) for p in self.by_name.values())
        if self._seen_total > TOTAL_SEEN_MAX:
            self._forget()
        self.dirty.clear()

    def take_dirty(self) -> list[PartitionRow]:
        """The rows of the partitions changed since the last call, to store them."""
        out = [self.by_name[n].row() for n in self.dirty if n in self.by_name]
        self.dirty.clear()
        self.changed = False
        return out


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


def _last(name: str) -> str:
    return name.rpartition(" > ")[2]


def _combines(text: str, known: set[str]) -> bool:
    """Whether a subtopic name only joins ones already known ("Bridges and markets")."""
    parts = [x for x in _AND.split(text) if x]
    return len(parts) > 1 and all(_key(x) in known for x in parts)


def _key(text: str) -> str:
    f = forms(text)
    return f.loose if f is not None else text.casefold()
