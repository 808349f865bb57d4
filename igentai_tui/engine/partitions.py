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

from collections.abc import Sequence

from igentai_tui.engine.normalize import Forms, forms
from igentai_tui.engine.partition import SEEN_MAX, Partition, Task, ewma_slow
from igentai_tui.engine.settle import MIN_SUBTOPICS, SPLIT_MIN_FOUND, SPLIT_REACH, Settling
from igentai_tui.engine.tree import SPLIT_PENDING, TOTAL_SEEN_MAX, combines, last_name, name_key
from igentai_tui.providers.base import estimate_tokens

__all__ = ["SEEN_MAX", "Partition", "Partitions", "Task"]

RETIRE_YIELD = 0.10  # a partition whose recent yield falls below this is dry
RETIRE_NEW = 5  # ... or whose latest request found fewer new entries than this, or than
RETIRE_SHARE = 0.25  # this share of the entries it asked for (a small request of a narrow
# partition finds few by its size, not because the partition is spent)
PLAN_MORE = 3  # a subtopic answer adding at least this many new names is followed by another
PLAN_COUNT = 40  # subtopics asked for per answer (models name fewer)
PLAN_GAP = 2  # list requests between two subtopic answers of one partition (while any can be
# made): asking again never starves mining, nor runs on when a model answers with entries
PLAN_ATTEMPTS = 2  # failed planning requests before falling back to letters
MAX_NAME_CHARS = 80
SHORT = 0.7  # a reply with fewer entries than this share of those asked for ran out: models
# asked for more than they know invent the rest, so the next request is a small probe
DEFAULT_REQUEST = 50
MIN_REQUEST = 10
MIN_NARROW_REQUEST = 5  # a letter or prefix partition may be asked for fewer
MASKED = 0.5  # share of a partition's proposals found elsewhere first that makes it crowded
PROBES = 2  # children of a split tried before the rest are judged by them
PROBE_WORTH = 0.25  # ... and not tried when they found under this share of the recent rate


class Partitions(Settling):
    """The partitions of one run and the policy that mines them."""

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
            self._set(p, "retired")
        retired = self._by_status["retired"].values()
        if reopen and retired and not self._plans_out:
            return self._list(min(retired, key=lambda p: (p.inflight, p.last_assigned)))
        return None

    def _may_ask_again(self, p: Partition) -> bool:
        """Whether another subtopic answer of `p` may be asked for now: its first, or after
        `PLAN_GAP` list requests since its latest, or when no partition can be mined."""
        return not p.plans or self._lists - p.plan_at >= PLAN_GAP or not self._by_status["active"]

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

    def released(self, p: Partition, plan: bool) -> None:
        """A request on `p` ended, whatever its outcome (a split request ends in `planned`
        or `plan_failed`)."""
        if not plan:
            p.inflight = max(0, p.inflight - 1)

    def observe(
        self, p: Partition, candidates: Sequence[Forms], new: int, tokens: int, asked: int = 0
    ) -> None:
        """Account a successful list request on `p` (that asked for `asked` entries), then
        retire or split it if it is done: dry (its reply ran out, see `SHORT`, its recent
        yield of real entries is under `RETIRE_YIELD`, or its latest request found fewer
        than `RETIRE_NEW`, or than `RETIRE_SHARE` of what it asked for when it asked for few)."""
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
        self._recent_rate = ewma_slow(self._recent_rate, p.recent_rate or 0.0)
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
        few = min(RETIRE_NEW, RETIRE_SHARE * (asked or DEFAULT_REQUEST))
        dry = p.short or (
            p.requests >= (1 if p.kind in ("letter", "prefix") else 2)
            and ((p.recent_yield or 0.0) < RETIRE_YIELD or p.last_new < few)
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
        it found `SPLIT_MIN_FOUND` (or, a letter or prefix, held as many of its parent's when
        it was made), and `SPLIT_REACH` of the most any focus found (its end was likely where
        a model's recall from one focus ends, not where its entries do), or most of what it
        proposed had been found elsewhere (`MASKED`: entries the run knows crowd its
        replies, more than its context can show)."""
        found = max(p.found, p.weight * p.real_share)
        if found >= max(SPLIT_MIN_FOUND, SPLIT_REACH * self._reach):
            return True
        return found >= SPLIT_MIN_FOUND and p.foreign >= MASKED * p.distinct

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
        mine = {name_key(last_name(q.name)) for q in self.children(p) if q.kind == "subtopic"}
        keys = {self._topic_key, name_key(last_name(p.name)) if p.name else self._topic_key}
        elsewhere = 0  # subtopics named under other partitions already
        for line in lines:
            f = forms(line)
            if f is None or len(f.text) > MAX_NAME_CHARS or f.key in keys or f.loose in keys:
                continue
            keys.update((f.key, f.loose))
            p.mentions[f.loose] = p.mentions.get(f.loose, 0) + 1
            if f.loose in mine or f.key in mine or combines(f.text, mine):
                continue
            elsewhere += f.loose in self._named
            names.append(f.text)
        given = {name_key(n) for n in names}
        names = [n for n in names if not combines(n, mine | (given - {name_key(n)}))]
        if p.plans == 1 or not self.children(p):
            poor = len(names) < MIN_SUBTOPICS or elsewhere * 2 > len(names)
            if poor:
                return self._split(p, [])
        made = self._split(p, names) if names else []
        p.planned = len(made) < PLAN_MORE
        self.dirty.add(p.name)
        return made

    def _plan_done(self, p: Partition) -> None:
        self._plans_out -= p.plan_inflight
        p.plan_inflight = False

    # -- what is left --------------------------------------------------------------------------
