"""Partitions of a topic: planning subtopics, choosing what to mine, and saturation.

The topic starts as one partition, the root. The first request of a run asks the LLM to split
the topic into subtopics; each becomes a partition that producers mine with a `Focus:` line and
a context of its own entries. A partition whose recent yield (new entries / entries returned)
falls below `RETIRE_YIELD` is split further when it has produced enough to have a tail worth
reaching (into subtopics, or first letters when the LLM's split is poor), and retired
otherwise. When no partition is left to mine, the topic is exhausted.

Plain data and decisions only: the orchestrator holds the lock, sends the prompts and feeds the
replies back. Nothing here knows about providers, the store or threads.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from igentai_tui.engine.normalize import Forms, forms
from igentai_tui.engine.prompts import letter_partition, letters_of
from igentai_tui.providers.base import estimate_tokens
from igentai_tui.store import PartitionRow

RETIRE_YIELD = 0.10  # a partition whose recent yield falls below this is done (or split)
RETIRE_NEW = 5  # ... or whose latest request found fewer new entries than this
SPLIT_LIST = 80  # a partition with more entries than this to show is split: long lists are
# ignored by models, and cost input tokens on every request
EWMA = 0.5  # weight of the newest request in the recent yield
SPLIT_MIN_FOUND = 80  # a dry partition with at least this many entries is split, not retired
SPLIT_MIN_UNSEEN = 40  # ... or with at least this many entries estimated not proposed yet: a
# model that gives short lists on a subtopic it knows well makes it look dry too soon
MAX_DEPTH = 2  # root (0) -> subtopics (1) -> finer subtopics or letters (2)
MIN_SUBTOPICS = 3  # a split into fewer distinct new subtopics is poor: fall back to letters
MAX_SUBTOPICS = 40
PLAN_COUNT = 30  # subtopics asked for
SPLIT_PENDING = "split_pending"  # a split is to be asked for; not mined meanwhile
ROOT_PLANS = 2  # the topic is split twice: the second answer adds what the first missed
PLAN_ATTEMPTS = 2  # failed planning requests before falling back to letters
MAX_NAME_CHARS = 80
SEEN_MAX = 600  # entries remembered per partition (its context shows fewer); halved when passed
TOTAL_SEEN_MAX = 100_000  # entries remembered over all partitions; see Partitions._forget
FORGET_FLOOR = 20  # a partition always keeps its 20 most proposed
LETTERS = string.ascii_uppercase
LETTER_GROUP_FOUND = 12  # a dry subtopic is split into ranges of first letters holding about
# this many of its entries each: every partition costs at least one request, so one letter
# each would cost a request for a handful of entries (and invite inventions to fill it)
DEFAULT_REQUEST = 50
MIN_REQUEST = 10


def first_letter(text: str) -> str:
    """The upper-case first letter or digit of a name, accents folded ("Île" -> "I")."""
    for ch in unicodedata.normalize("NFKD", text):
        if ch.isalnum():
            return ch.upper()
    return ""


@dataclass(slots=True)
class Partition:
    """One vein of the topic and what mining it has given so far."""

    name: str  # "" for the whole topic; otherwise the focus text sent to the LLM
    parent: str | None = None
    kind: str = "topic"  # topic, subtopic, letter
    depth: int = 0
    status: str = "active"  # active, split, retired
    letters: str | None = None  # for letter partitions: entries start with one of these
    requests: int = 0
    returned: int = 0
    new: int = 0
    tokens: int = 0
    recent_yield: float | None = None  # EWMA of new / returned
    recent_new: float | None = None  # EWMA of new entries per request
    last_new: int = 0  # new entries of the latest request
    recent_rate: float | None = None  # EWMA of new entries per 1,000 tokens
    inflight: int = 0
    planned: bool = False  # no (more) split to ask for
    plans: int = 0  # split replies applied
    plan_inflight: bool = False
    plan_failures: int = 0
    last_assigned: int = 0
    # loose -> (text, times, order). Tuples of strings and ints are untracked by the garbage
    # collector, so 100,000 remembered entries do not lengthen its full collections.
    seen: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    _ranked: list[tuple[str, str, int]] | None = None
    _order: int = 0

    @property
    def label(self) -> str | None:
        """The partition as calls and entries record it (None for the whole topic)."""
        return self.name or None

    def record(self, candidates: Sequence[Forms], new: int, tokens: int) -> None:
        """Count one successful request and what it proposed."""
        self.requests += 1
        self.returned += len(candidates)
        self.new += new
        self.tokens += tokens
        seen = self.seen
        for f in candidates:
            hit = seen.get(f.loose)
            if hit is None:
                self._order += 1
                seen[f.loose] = (f.text, 1, self._order)
            else:
                seen[f.loose] = (hit[0], hit[1] + 1, hit[2])
        if len(seen) > SEEN_MAX:  # keep memory bounded
            self.keep(SEEN_MAX // 2)
        self._ranked = None
        y = new / len(candidates) if candidates else 0.0
        rate = 1000 * new / tokens if tokens else 0.0
        self.recent_yield = _ewma(self.recent_yield, y)
        self.recent_new = _ewma(self.recent_new, new)
        self.last_new = new
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

    def unseen(self) -> float:
        """Entries of this partition not proposed yet, estimated from how often those it
        knows were proposed (bias-corrected Chao1: many proposed once, few twice, means
        much is left)."""
        f1 = f2 = 0
        for _, times, _ in self.seen.values():
            f1 += times == 1
            f2 += times == 2
        return f1 * (f1 - 1) / (2 * (f2 + 1))

    def ranked(self) -> list[tuple[str, str, int]]:
        """(loose, text, times proposed) of the entries proposed here, most proposed first,
        then newest."""
        if self._ranked is None:
            self._ranked = [(k, v[0], v[1]) for k, v in sorted(self.seen.items(), key=_rank)]
        return self._ranked


def _rank(item: tuple[str, tuple[str, int, int]]) -> tuple[int, int]:
    return (-item[1][1], -item[1][2])


def _ewma(old: float | None, value: float) -> float:
    return value if old is None else EWMA * value + (1 - EWMA) * old


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
        # sum and number of known recent rates per parent; split requests in flight.
        self._by_status: dict[str, dict[str, Partition]] = {
            s: {} for s in ("active", SPLIT_PENDING, "split", "retired")
        }
        self._by_status["active"][""] = self.root
        self._rates: dict[str | None, list[float]] = {}
        self._plans_out = 0

    # -- choosing ------------------------------------------------------------------------------

    def next(self, *, reopen: bool = True) -> Task | None:
        """The next request to make, or None when there is nothing to do now.

        Splits come first (the root's before anything else), then the active partition with
        the fewest requests in flight and the best recent rate. With `reopen`, once every
        partition is retired, retired ones are mined again, least recently used first."""
        self._ticket += 1
        root = self.root
        if not root.planned and not root.plan_inflight:
            return self._plan(root)
        for p in self._by_status[SPLIT_PENDING].values():
            if not p.plan_inflight:
                return self._plan(p)
        active = self._by_status["active"].values()
        if active:
            expected = self._expected
            return self._list(
                min(active, key=lambda p: (p.inflight, -expected(p), p.last_assigned))
            )
        retired = self._by_status["retired"].values()
        if reopen and retired:
            return self._list(min(retired, key=lambda p: (p.inflight, p.last_assigned)))
        return None

    def _expected(self, p: Partition) -> float:
        """A partition's expected new entries per 1,000 tokens: its recent rate; for one not
        tried yet, the mean rate of its tried siblings, or infinity when none is."""
        if p.recent_rate is not None:
            return p.recent_rate
        acc = self._rates.get(p.parent)
        return acc[0] / acc[1] if acc else float("inf")

    def best_expected_rate(self) -> float | None:
        """The best expected rate among active partitions, None when none is active."""
        rates = [self._expected(p) for p in self._by_status["active"].values()]
        return max(rates) if rates else None

    def exhausted(self) -> bool:
        """True when every partition is split or retired and no split is pending."""
        by_status = self._by_status
        return (
            self.root.planned
            and not by_status["active"]
            and not by_status[SPLIT_PENDING]
            and self._plans_out == 0
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
        """Entries to ask for: the default while a partition is fresh (for a letter range,
        about twice what its parent found in it: asked for more than exist, models invent),
        then about twice what its recent requests found, so a nearly dry partition costs
        little."""
        if p.recent_new is None:
            if p.kind != "letter":
                return default
            known = sum(1 for _ in self._known(p))
            return max(MIN_REQUEST, min(default, 2 * known + 5))
        return max(MIN_REQUEST, min(default, round(2 * p.recent_new) + 5))

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
        partition, then its parent's entries in its letters."""
        letters = p.letters
        chain = [p]
        if letters is not None and p.parent is not None:
            chain.append(self.by_name[p.parent])
        shown: set[str] = set()
        for node in chain:
            for loose, text, times in node.ranked():
                if loose in shown or (letters is not None and not _starts(text, letters)):
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
        self, p: Partition, candidates: Sequence[Forms], new: int, tokens: int, context_cap: int
    ) -> None:
        """Account a successful list request on `p`, then retire or split it if it is done:
        dry (recent yield under `RETIRE_YIELD`), or too big for its context."""
        before = len(p.seen)
        rate = p.recent_rate
        p.record(candidates, new, tokens)
        acc = self._rates.setdefault(p.parent, [0.0, 0.0])
        acc[0] += p.recent_rate - (rate or 0.0)  # type: ignore[operator]
        acc[1] += rate is None
        self._seen_total += len(p.seen) - before
        if self._seen_total > TOTAL_SEEN_MAX:
            self._forget()
        self.dirty.add(p.name)
        if p.status != "active":
            return
        dry = p.requests >= (1 if p.kind == "letter" else 2) and (
            (p.recent_yield or 0.0) < RETIRE_YIELD or p.last_new < RETIRE_NEW
        )
        overflow = len(p.seen) > min(SPLIT_LIST, context_cap)
        splittable = 0 < p.depth < MAX_DEPTH and not p.planned
        if splittable and (overflow or (dry and _much_left(p))):
            self._set(p, SPLIT_PENDING)
        elif dry:
            self._set(p, "retired")

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
        """A planning request failed; after `PLAN_ATTEMPTS`, fall back to first letters."""
        self._plan_done(p)
        p.plan_failures += 1
        return self._split(p, []) if p.plan_failures >= PLAN_ATTEMPTS else []

    def planned(self, p: Partition, lines: Sequence[str]) -> list[Partition]:
        """Apply the LLM's split of `p`; returns the partitions it created. Names that repeat
        the topic, the partition or any existing partition are dropped; a poor first split
        (fewer than `MIN_SUBTOPICS` distinct new subtopics, or more repeats than new ones)
        falls back to first letters. The topic is split `ROOT_PLANS` times: a second answer
        adds the subtopics the first one missed."""
        self._plan_done(p)
        p.plans += 1
        names: list[str] = []
        known = {_key(q.name.rpartition(" > ")[2]) for q in self.by_name.values() if q.name}
        keys = {self._topic_key}
        repeats = 0  # subtopics that already exist as partitions
        for line in lines:
            f = forms(line)
            if f is None or len(f.text) > MAX_NAME_CHARS or f.key in keys or f.loose in keys:
                continue
            keys.update((f.key, f.loose))
            if f.key in known or f.loose in known:
                repeats += 1
                continue
            names.append(f.text)
            if len(names) >= MAX_SUBTOPICS:
                break
        if p.plans > 1:  # another round: whatever it adds
            p.planned = True
            return [self._add(n, p, None) for n in names]
        # Poor: too few new subtopics, or mostly the ones already known (the LLM did not
        # split the focus, it repeated the topic's split).
        poor = len(names) < MIN_SUBTOPICS or repeats >= len(names)
        return self._split(p, [] if poor else names)

    def children(self, p: Partition) -> list[Partition]:
        return [q for q in self.by_name.values() if q.parent == p.name and q is not p]

    def _split(self, p: Partition, names: list[str]) -> list[Partition]:
        """Make `p`'s children: the subtopics `names`, or first letters when empty."""
        p.planned = not names or p.depth > 0 or p.plans >= ROOT_PLANS
        self.dirty.add(p.name)
        if names:
            made = [self._add(f"{p.name} > {n}" if p.name else n, p, None) for n in names]
        else:
            made = [
                self._add(
                    f"{p.name}; {letter_partition(g)}" if p.name else letter_partition(g), p, g
                )
                for g in letter_groups(p)
            ]
        if p.depth > 0:  # the root keeps being mined until it runs dry
            self._set(p, "split")
            if names:  # its subtopics do not show its entries (first letters do)
                self._seen_total -= len(p.seen)
                p.keep(0)
        return made

    def _add(self, name: str, parent: Partition, letters: str | None) -> Partition:
        q = self.by_name.get(name)
        if q is None:
            kind = "letter" if letters else "subtopic"
            q = Partition(name, parent.name, kind, parent.depth + 1, letters=letters)
            q.planned = q.depth >= MAX_DEPTH or letters is not None
            self.by_name[name] = q
            self._by_status[q.status][name] = q
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
            p.status, p.requests, p.returned, p.new = r.status, r.requests, r.returned, r.new
            p.tokens, p.recent_yield = r.tokens, r.recent_yield
            p.planned = r.status == "split" or r.kind == "letter" or r.depth >= MAX_DEPTH
            if r.parent is not None and r.parent in self.by_name:
                self.by_name[r.parent].planned = True
        for index in self._by_status.values():
            index.clear()
        for p in self.by_name.values():
            self._by_status.setdefault(p.status, {})[p.name] = p
        for name, text, loose, times in seen:
            self.by_name.get(name, self.root).seed(text, loose, times)
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


def _much_left(p: Partition) -> bool:
    """Whether a dry partition holds enough to be split rather than retired."""
    return p.new >= SPLIT_MIN_FOUND or p.unseen() >= SPLIT_MIN_UNSEEN


def _starts(text: str, letters: str) -> bool:
    c = first_letter(text)
    return bool(c) and c in letters


def _key(text: str) -> str:
    f = forms(text)
    return f.loose if f is not None else text.casefold()
