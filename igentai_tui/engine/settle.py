"""What is left of a topic and when to stop: verification's verdicts per partition, the
estimate of real entries not found yet, re-planning, and the rule that declares the topic
exhausted (docs/architecture.md, "The stop").
"""

from __future__ import annotations

from igentai_tui.engine.partition import LETTERS, REAL_PRIOR, Partition, letter_groups
from igentai_tui.engine.prompts import letter_partition
from igentai_tui.engine.tree import SPLIT_PENDING, PartitionTree

SPLIT_MIN_FOUND = 40  # a dry partition that found at least this many entries is split, not
# retired: its focus may reach only the best-known of its entries
SPLIT_REACH = 0.35  # ... or found this share of the most any one focus has found: a focus
# that found as many as the broadest one did was likely stopped by what a model recalls from
# one focus, not by the end of its entries
ROOT_LETTERS_AFTER = 10  # list requests per first letter a run has made before the whole
# topic, split into subtopics, is split by first letters too (a tenth of what it spent or less)
MIN_SUBTOPICS = 3  # a first split into fewer distinct new subtopics is poor: letters instead
MOSTLY_REJECTED = 0.5  # a partition whose checked entries are less real than this is dry
VERIFIER_DOUBT = 0.02  # real entries a verifier calls not real (assumed; see estimated_real)
VERIFIER_BELIEF = 0.25  # inventions a verifier takes for real, at most (assumed)
REPLY_PRIOR = 10.0  # entries' worth of its partition's rate in a reply's (see estimated_real)
SATURATION_LEFT = 0.10  # the topic may be exhausted once less than this is estimated unfound
REPLAN_PROBES = 10  # ... or once the last this many partitions looked at again brought under
REPLAN_GAIN = 1.0  # this many confirmed entries each (re-planning says done, whatever the
# estimate says)
GAIN_PRIOR = 0.5  # entries a split finds below a partition, per entry it had found (before
# any split has shown what this topic's are); see Settling.unfound


class Settling(PartitionTree):
    """The partition tree, told what verification decided, estimating what is left."""

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

    def estimated_real(
        self,
        name: str | None,
        checked: int = 0,
        rejected: int = 0,
        reply: list[int] | None = None,
    ) -> float:
        """The share of the new entries of partition `name` estimated to be real, once the
        verifier's own errors are allowed for: it rejects about `VERIFIER_DOUBT` of real
        entries and accepts up to `VERIFIER_BELIEF` of inventions, so a partition whose
        entries it rejects at rate q is (1 - (q - doubt) / (1 - belief - doubt)) real.
        `checked` and `rejected` count a verdict not told to the partition yet. With `reply`
        ([checked, rejected] of one reply's entries), the share of that reply's: a model
        that has run out of what it knows invents a run of names, so its reply's own
        verdicts count, the partition's rate standing for `REPLY_PRIOR` of them."""
        p = self.by_name.get(name or "")
        if p is None:
            return 1.0
        q = (p.rejected + rejected + REAL_PRIOR * (1 - self._share)) / (
            p.checked + checked + REAL_PRIOR
        )
        if reply is not None:
            q = (reply[1] + REPLY_PRIOR * q) / (reply[0] + REPLY_PRIOR)
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
        means: dict[str | None, float] = {}  # parent -> its children's mean: once a parent
        for p in self._by_status["active"].values():
            if p.requests:
                total += min(p.unseen(), 2.0 * p.distinct) * p.real_share
            else:
                if p.parent not in means:
                    means[p.parent] = self._sibling_mean(p)
                total += means[p.parent]
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
        partition any list); last, the whole topic, once the run has made `ROOT_LETTERS_AFTER`
        list requests per letter (its subtopics may have reached only what the model files
        under some category: a flat list of names), each letter counting the run's entries
        with it as found in it. False when there is none left to switch."""
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
        root = self.root
        if (
            not root.reopened
            and self._lists >= ROOT_LETTERS_AFTER * len(LETTERS)
            and any(c.kind == "subtopic" for c in self._children.get(root.name, ()))
        ):
            root.reopened = True
            for c in LETTERS:
                q = self._add(letter_partition(c), root, c)
                q.weight = self._initials[c]
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

    def _gain(self) -> float:
        """Entries the splits of this run found below a partition, per entry it had found
        when it was split (`GAIN_PRIOR` before any split has finished)."""
        done = [q for q in self._by_status["split"].values() if q.split_found and q.planned]
        gains = sum(q.below / q.split_found for q in done)
        return (gains + GAIN_PRIOR) / (len(done) + 1)
