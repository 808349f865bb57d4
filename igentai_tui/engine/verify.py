"""Entry states: pending when first seen, then confirmed or rejected (or merged into another).

Models recognise far better than they recall: asked "which of these are not real members of
TOPIC?" they keep most real names and drop most inventions. Names proposed independently by
different models are rarely invented. The verifier uses both:

- **agreement**: an entry proposed by `AGREE_ARMS` different provider:models is confirmed at
  once (one model repeats its own inventions, so its repeats prove nothing);
- **verification requests**: pending entries are checked in batches (`VERIFY_BATCH` to
  `VERIFY_MAX` names a request), by a different provider:model than the one that proposed
  them where there is one. A batch is due when that many wait, when the oldest has waited
  `VERIFY_WAIT` list requests (so that output.txt keeps moving on a small topic), or when there
  is nothing else to do. The pairs `variants.py` finds ("Harare Province" / "Harare") ride
  along: "do these name the same thing?".

A model that cannot answer in the format (`FAIL_LIMIT` unreadable replies in a row) turns
verification off for the run: entries are then confirmed unchecked, and a notice says so.

Plain data and decisions; the orchestrator holds the lock, sends the requests, stores the
states and writes output.txt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from igentai_tui.engine.normalize import forms, key_of, without_qualifier
from igentai_tui.engine.records import Learned, PendingRow
from igentai_tui.engine.variants import Pair, Variants, affixed

VERIFY_BATCH = 100  # pending entries that make a verification request due
VERIFY_MAX = 150  # the most names checked in one request
VERIFY_WAIT = 10  # list requests the oldest pending entry waits at most for a smaller batch
VERIFY_INFLIGHT = 2  # verification requests at once
PAIRS_MAX = 40  # "same thing?" pairs asked in one request
AGREE_ARMS = 2  # different provider:models proposing an entry confirm it
FAIL_LIMIT = 3  # unreadable verification replies in a row before verification is off
OTHER_NAME = "other name"  # the affix of a pair a better-known name makes (nothing to learn)
REPLIES_KEPT = 10_000  # requests whose verdict counts are kept (the latest)
HOLD_SHARE = 0.65  # entries accepted from replies estimated less real than this are held
# (chosen on the tuning worlds: docs/architecture.md, "Held entries")


@dataclass(slots=True)
class Pending:
    """An entry waiting for its verdict."""

    id: int
    text: str
    partition: str | None
    arms: set[str]
    since: int  # list requests made before it arrived
    pid: int = 0  # the producer that proposed it first
    arm: str = ""  # ... on this provider:model
    reply: int = 0  # ... in this request (its call id; 0: not known)
    checking: bool = False
    pairs: list[Pair] = field(default_factory=list)  # "same thing?" questions to ask with it
    parts: set[str | None] = field(default_factory=set)  # partitions that proposed it
    held: bool = False  # the verifier took it for real, but it came from where inventions
    # abound and nothing else vouches for it yet (see Verifier.verdict)


@dataclass(frozen=True, slots=True)
class Check:
    """One verification request: entries to check and pairs to ask about."""

    entries: tuple[Pending, ...]
    pairs: tuple[tuple[Pair, str, str], ...]  # (pair, variant's text, entry's text)


@dataclass(slots=True)
class Decisions:
    """Verdicts to store: entries confirmed, rejected, merged into another (id)."""

    confirmed: list[Pending] = field(default_factory=list)
    rejected: list[Pending] = field(default_factory=list)
    merged: list[tuple[Pending, int]] = field(default_factory=list)
    frames: list[tuple[str, bool]] = field(default_factory=list)  # answers: (frames, same?)
    others: list[tuple[str, int]] = field(default_factory=list)  # (another name's key, entry)

    def __bool__(self) -> bool:
        return bool(self.confirmed or self.rejected or self.merged)

    def extend(self, other: Decisions) -> None:
        self.confirmed += other.confirmed
        self.rejected += other.rejected
        self.merged += other.merged
        self.frames += other.frames
        self.others += other.others


class Verifier:
    """The pending entries of a run and the policy that decides them."""

    def __init__(self, enabled: bool = True, limit: int | None = None) -> None:
        self.enabled = enabled
        self.limit = limit  # the most entries confirmed in all (a unique-entry limit)
        self.pending: dict[int, Pending] = {}  # id -> entry, in arrival order
        self._queue: dict[int, Pending] = {}  # pending and not being checked, in order
        self.variants = Variants()
        self._texts: dict[int, str] = {}  # entry id -> text, for pair questions
        self.inflight = 0
        self.failures = 0  # unreadable replies in a row
        self.ticks = 0  # list requests made so far
        self.confirmed = 0
        self.rejected = 0
        self.merged = 0
        self.held = 0  # entries held so far (see verdict)
        self._held: set[int] = set()  # ids of the entries held now
        self._gone: set[int] = set()  # ids of the entries rejected or merged
        self._denied: set[tuple[int, int]] = set()  # better-known-name pairs answered "not same"
        self._replies: dict[int, list[int]] = {}  # request -> [its entries checked, doubted]

    # -- arrivals ------------------------------------------------------------------------------

    def add(
        self,
        entries: Iterable[tuple[int, str, str]],
        arm: str,
        partition: str | None,
        pid: int = 0,
        reply: int = 0,
    ) -> Decisions:
        """New entries (id, text, key) proposed on `arm` in `partition`, by producer `pid` in
        request `reply`. Pairs with entries already known are noted; a pair whose affix the
        run has learned to fold is merged at once. Returns the decisions made now."""
        out = Decisions()
        for eid, text, key in entries:
            e = Pending(eid, text, partition, {arm}, self.ticks, pid, arm, reply)
            e.parts.add(partition)
            self._texts[eid] = text
            if not self.enabled:
                out.confirmed.append(e)
                self.confirmed += 1
            elif not self._pair_up(out, e, key):
                self.pending[eid] = e
                self._queue[eid] = e
        return out

    def shown(self, entry: int, text: str) -> str:
        """How output.txt shows a confirmed entry: without its bracketed qualifier ("Louvre
        (Paris)" -> "Louvre") when nothing else has that name, bare or qualified (confirmed or
        pending), or when the run has learned that the qualifier folds (an entry written
        "Louvre" then merges on sight) and no other confirmed entry has the name. Otherwise
        as it is: "Georgia (U.S. state)" may be one of two."""
        bare = without_qualifier(text)
        if bare == text:
            return text
        name = key_of(bare)
        frame = next((f for n, f in affixed(key_of(text)) if n == name), None)
        learned = self.variants.decide(frame) if frame else "ask"
        if learned == "different":
            return text
        for o in self.variants.sharing(name):
            if o == entry or o in self._gone or (learned == "same" and o in self.pending):
                continue  # a pending one is merged on sight once the qualifier folds
            if key_of(without_qualifier(self._texts.get(o, ""))) == name:
                return text
        return bare

    def _pair_up(self, out: Decisions, e: Pending, key: str) -> bool:
        """Index `e` under `key` and note the questions it raises: a pair with an entry a
        verifier called by this name (see `_other_name`), and pairs of frames with entries
        already known; a pair whose frames the run has learned to fold merges `e` at once
        (then True)."""
        into = self.variants.named(key)
        if into is not None and into != e.id and into not in self._gone:
            e.pairs.append(Pair(e.id, into, OTHER_NAME))
        for pair in self.variants.add(e.id, key):
            verdict = self.variants.decide(pair.affix)
            if verdict == "same":
                self._merge(out, e, pair.entry)
                return True
            if verdict == "ask" and len(e.pairs) < 3:
                e.pairs.append(pair)
        return False

    def hit(self, entry: int, arm: str, partition: str | None = None) -> Decisions:
        """A pending entry was proposed again on `arm` in `partition`: agreement between
        models confirms it (unless a "same thing?" question about it is still open); so does,
        for a held entry, a proposal from another partition."""
        e = self.pending.get(entry)
        out = Decisions()
        if e is None or (arm in e.arms and partition in e.parts):
            return out
        vouched = e.held and partition not in e.parts
        e.arms.add(arm)
        e.parts.add(partition)
        full = self.limit is not None and self.confirmed >= self.limit
        if (len(e.arms) >= AGREE_ARMS or vouched) and not e.pairs and not e.checking and not full:
            self._drop(e)
            out.confirmed.append(e)
            self.confirmed += 1
        return out

    # -- checks --------------------------------------------------------------------------------

    @property
    def waiting(self) -> int:
        """Pending entries still to be checked or being checked (not held)."""
        return len(self.pending) - len(self._held)

    def due(self, idle: bool) -> bool:
        """Whether a verification request should be made now (`idle`: nothing else to do)."""
        if not self._queue or self.inflight >= VERIFY_INFLIGHT:
            return False
        if idle or len(self._queue) >= VERIFY_BATCH:
            return True
        oldest = next(iter(self._queue.values()))
        return self.ticks - oldest.since >= VERIFY_WAIT

    def take(self, arm: str) -> Check | None:
        """The next batch to check on `arm`: the oldest pending entries, those proposed by
        other models first, each with its pairs."""
        queue = list(self._queue.values())
        others = [e for e in queue if arm not in e.arms]
        order = others + [e for e in queue if arm in e.arms] if others else queue
        chosen: list[Pending] = []
        pairs: list[tuple[Pair, str, str]] = []
        for e in order:
            if len(chosen) >= VERIFY_MAX:
                break
            asked = [(p, e.text, self._texts.get(p.entry, "")) for p in e.pairs]
            if len(pairs) + len(asked) > PAIRS_MAX:
                continue
            chosen.append(e)
            pairs += [a for a in asked if a[2]]
        if not chosen:
            return None
        for e in chosen:
            e.checking = True
            del self._queue[e.id]
        self.inflight += 1
        return Check(tuple(chosen), tuple(pairs))

    def verdict(
        self,
        check: Check,
        doubted: set[int],
        same: set[int],
        others: dict[int, str] | None = None,
        real_share: Callable[[str | None, int, int, list[int] | None], float] | None = None,
    ) -> Decisions:
        """Apply a verification reply: `doubted` candidates (0-based) are rejected, the others
        confirmed (up to `limit` in all, the rest stay pending); a pair answered `same` merges
        its variant into the other entry, and each answer teaches the pair's affix. A
        candidate the reply gives a better-known name for (`others`) stays pending, paired
        with the entry of that name (or, while there is none, that entry is paired with it
        when it comes): a model names a wrong entry now and then, so the claim is asked as a
        "same thing?" question before two entries the run found become one.

        A verifier also takes some inventions for real, most of all its own. An entry it
        accepts from a reply whose entries are estimated less than `HOLD_SHARE` real
        (`real_share`: by what verification found of its partition and of that reply), that
        one model proposed in one partition only, is *held*: pending until a proposal from
        another partition or model vouches for it."""
        self.inflight -= 1
        self.failures = 0
        out = Decisions()
        merged: dict[int, int] = {}  # variant -> the entry it was found to name
        batch: dict[str | None, tuple[int, int]] = {}  # partition -> (checked, doubted) here
        for n, e in enumerate(check.entries):
            checked, doubts = batch.get(e.partition, (0, 0))
            batch[e.partition] = (checked + 1, doubts + (n in doubted))
            if e.reply:
                counts = self._replies.setdefault(e.reply, [0, 0])
                counts[0] += 1
                counts[1] += n in doubted
        while len(self._replies) > REPLIES_KEPT:  # the oldest requests' are done with
            del self._replies[next(iter(self._replies))]
        for n, (pair, _, _) in enumerate(check.pairs):
            if pair.affix == OTHER_NAME:  # a claim checked, nothing to learn from
                if n not in same:
                    self._denied.add((pair.variant, pair.entry))
            else:
                self.variants.learn(pair.affix, n in same)
                out.frames.append((pair.affix, n in same))
            if n in same:
                merged.setdefault(pair.variant, pair.entry)
        for n, e in enumerate(check.entries):
            e.checking = False
            e.pairs = []
            known = None
            if others and n in others and n not in doubted and e.id not in merged:
                known = self._other_name(e, others[n], out)
            if e.id in merged:
                self._merge(out, e, merged[e.id])
            elif known is not None:  # asked again, as a pair: a better-known name may be wrong
                e.pairs = [Pair(e.id, known, OTHER_NAME)]
                self._queue[e.id] = e
                continue
            elif n in doubted:
                out.rejected.append(e)
                self.rejected += 1
                self._gone.add(e.id)
            elif self.limit is not None and self.confirmed >= self.limit:
                self._queue[e.id] = e  # over the unique-entry limit: stays pending
                continue
            elif (
                real_share is not None
                and len(e.arms) < AGREE_ARMS
                and len(e.parts) < 2
                and real_share(e.partition, *batch[e.partition], self._replies.get(e.reply))
                < HOLD_SHARE
            ):
                e.held = True
                self.held += 1
                self._held.add(e.id)
                continue
            else:
                out.confirmed.append(e)
                self.confirmed += 1
            del self.pending[e.id]
        return out

    def _merge(self, out: Decisions, e: Pending, into: int) -> None:
        """Decide `e` merged into entry `into`."""
        out.merged.append((e, into))
        self.merged += 1
        self._gone.add(e.id)

    def _other_name(self, e: Pending, name: str, out: Decisions) -> int | None:
        """The entry `name` names, a verifier having called it `e`'s better-known name (to be
        asked about as a pair), or None: no such entry yet (then `name` is noted in `out` as
        another name of `e`, if it is new), or the pair was asked about already."""
        f = forms(name)
        if f is None:
            return None
        into = self.variants.other_name(e.id, f.key)
        if into is None:
            out.others.append((f.key, e.id))
            return None
        gone = into == e.id or into in self._gone or (e.id, into) in self._denied
        return None if gone else into

    def failed(self, check: Check) -> Decisions:
        """A verification request failed (an error, or a reply that does not answer): its
        entries wait again. After `FAIL_LIMIT` unreadable replies in a row verification is
        turned off and every pending entry is confirmed unchecked."""
        self.inflight -= 1
        for e in check.entries:
            e.checking = False
            self._queue[e.id] = e
        self._queue = dict(sorted(self._queue.items()))
        return Decisions()

    def unreadable(self, check: Check) -> Decisions:
        """A verification reply that does not answer the question (see `failed`)."""
        self.failed(check)
        self.failures += 1
        if self.failures < FAIL_LIMIT:
            return Decisions()
        return self.turn_off()

    def turn_off(self) -> Decisions:
        """Stop verifying: every pending entry not being checked is confirmed."""
        self.enabled = False
        out = Decisions(confirmed=list(self._queue.values()))
        for e in out.confirmed:
            del self.pending[e.id]
        self.confirmed += len(out.confirmed)
        self._queue.clear()
        return out

    def _drop(self, e: Pending) -> None:
        self.pending.pop(e.id, None)
        self._queue.pop(e.id, None)
        self._held.discard(e.id)

    def restore(
        self,
        pending: Iterable[PendingRow],
        confirmed: Iterable[tuple[int, str, str]] = (),
        learned: Learned = ([], []),
    ) -> Decisions:
        """A resumed run: what its answers taught (frames' answers, other names: `learned`),
        its confirmed entries (id, key, text), so that variants of them are asked about
        again, then its pending entries, each paired up as a new one is (`add`) and judged
        by what verification found of its reply too. Returns the merges that decides."""
        self.variants.restore(*learned)
        for eid, key, text in confirmed:
            self.variants.add(eid, key)
            self._texts[eid] = text
        out = Decisions()
        for eid, text, key, partition, arm, reply, checked, doubted in pending:
            e = Pending(eid, text, partition, {arm}, 0, 0, arm, reply or 0)
            e.parts.add(partition)
            self._texts[eid] = text
            if reply:
                self._replies[reply] = [checked, doubted]
            if not self._pair_up(out, e, key):
                self.pending[eid] = e
                self._queue[eid] = e
        return out
