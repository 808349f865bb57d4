"""The partitions of one run as a tree: made, indexed by status, split into children,
remembering what each proposed, restored from a stored run.

`Settling` (settle.py) and `Partitions` (partitions.py) build on it: what is left and the stop,
then the policy that mines.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

from igentai_tui.engine.normalize import forms
from igentai_tui.engine.partition import Partition, first_letter, letter_groups, name_prefix
from igentai_tui.engine.prompts import (
    letter_partition,
    letters_of,
    prefix_of,
    prefix_partition,
    without_letters,
)
from igentai_tui.engine.records import PartitionRow

SPLIT_PENDING = "split_pending"  # a split is to be asked for; not mined meanwhile
PREFIX_MAX = 4  # the longest prefix a partition is narrowed to ("Kabr")
TOTAL_SEEN_MAX = 100_000  # entries remembered over all partitions; see PartitionTree._forget
FORGET_FLOOR = 20  # a partition always keeps its 20 most proposed
_AND = re.compile(r"\s*(?:,|&|\band\b|/)\s*", re.IGNORECASE)


class PartitionTree:
    """The partitions of one run, indexed so that choosing costs no scan of them all."""

    def __init__(self, topic: str, *, plan: bool = True) -> None:
        self.topic = topic
        self.root = Partition("")
        self.by_name: dict[str, Partition] = {"": self.root}
        self._topic_key = name_key(topic)
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
        self._initials: Counter[str] = Counter()  # new entries of the run by first letter
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

    def found_names(self, texts: Iterable[str]) -> None:
        """Count new entries of the run by first letter (see `Settling.switch_facet`)."""
        self._initials.update(map(first_letter, texts))

    def children(self, p: Partition) -> list[Partition]:
        return list(self._children.get(p.name, ()))

    def _split(self, p: Partition, names: list[str]) -> list[Partition]:
        """Make `p`'s children: the subtopics `names`, or (when empty) first letters, the
        single letters of a range, or prefixes one letter longer."""
        self.dirty.add(p.name)
        if names:
            made = [self._add(f"{p.name} > {n}" if p.name else n, p) for n in names]
            for n in names:
                self._named.add(name_key(n))
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

    def restore(
        self, rows: Sequence[PartitionRow], seen: Sequence[tuple[str, str, str, int]]
    ) -> None:
        """Continue from a stored run: its partitions, the entries each one found, and how
        many list requests it made (the run's entries by first letter are told apart, see
        `found_names`)."""
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
                self._named.add(name_key(last_name(p.name)))
        for name, text, loose, times in seen:
            q = self.by_name.get(name, self.root)
            q.seed(text, loose, times)
        for p in self.by_name.values():
            p.distinct = max(p.distinct, len(p.seen))
        self._lists = sum(r.requests for r in rows)
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


def last_name(name: str) -> str:
    """The last step of a partition's name ("A > B" -> "B")."""
    return name.rpartition(" > ")[2]


def combines(text: str, known: set[str]) -> bool:
    """Whether a subtopic name only joins ones already known ("Bridges and markets")."""
    parts = [x for x in _AND.split(text) if x]
    return len(parts) > 1 and all(name_key(x) in known for x in parts)


def name_key(text: str) -> str:
    """The key subtopic names are compared by (loose form, else case-folded)."""
    f = forms(text)
    return f.loose if f is not None else text.casefold()
