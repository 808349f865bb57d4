"""Assignment: a producer's next request, from the planner (a partition), the verifier (a
batch to check), the router (an arm among the ready ones) and the prompts; and what comes back
to them (subtopics, verdicts)."""

from __future__ import annotations

from igentai_tui.engine.events import Notice
from igentai_tui.engine.partitions import PLAN_COUNT
from igentai_tui.engine.producer import Assignment, Producer
from igentai_tui.engine.prompts import (
    PLAN_VERSION,
    PROMPT_VERSION,
    SYSTEM,
    VERIFY_SYSTEM,
    VERIFY_VERSION,
    list_prompt,
    parse_verdict,
    short_partition,
    subtopics_prompt,
    verify_prompt,
)
from igentai_tui.engine.records import CONFIRMED, MERGED, REJECTED, Verdicts
from igentai_tui.engine.stopping import Stopping
from igentai_tui.engine.verify import Decisions
from igentai_tui.engine.words import count
from igentai_tui.providers.base import CompletionRequest, list_price

VERIFY_OFF_NOTICE = (
    "verification is off: the model's replies to it could not be read; "
    "entries are confirmed unchecked from now on"
)


class Assigning(Stopping):
    """What producers ask for (thread-safe: called from their threads)."""

    def assignment(self, producer: Producer) -> Assignment | None:
        """The next request for `producer`, or None when it should stop."""
        s = self.settings
        with self._cond:
            while True:
                if self._end is not None or producer.stopping:
                    return None
                ready = [a.label for a in s.arms if self.accounts.ready(a.label)]
                if not ready:
                    if self._least_used_arm() is None:
                        return None  # no usable provider left
                    self._cond.wait()  # every usable account is at its concurrency cap
                    continue
                limit = s.limits.max_requests
                if limit is not None and self.metrics.asked >= limit and self._finishing is None:
                    self.finish("request limit reached", "completed")
                    continue
                if self._finished():
                    return None
                verify = self.verifier.due(idle=self._finishing is not None)
                task = None
                if not verify and self._finishing is None:
                    task = self.partitions.next(reopen=not s.limits.until_saturated)
                verify = verify or (task is None and self.verifier.due(idle=True))
                if task is not None or verify:
                    if producer.pinned and producer.arm in ready:
                        arm = producer.arm
                    else:
                        arm = self.router.choose(producer.arm, ready, self.clock.monotonic())
                    check = self.verifier.take(arm) if verify else None
                    if task is not None or check is not None:
                        break
                if (
                    s.limits.until_saturated
                    and self._finishing is None
                    and (why := self._saturated())
                ):
                    self.stop(why, "completed")
                    return None
                self._cond.wait()  # a split is being planned, or entries checked
            self.metrics.asked += check is None
            self._unstored += 1
            self.accounts.of(arm).inflight += 1
            provider = self.providers[arm]
            model = arm.split(":", 1)[1]
            unique = self.metrics.unique
            budget, found, asked = 0, [], 0
            p = task.partition if task is not None else None
            if check is not None:
                pairs = [(v, e) for _, v, e in check.pairs]
                prompt = verify_prompt(s.topic, [e.text for e in check.entries], pairs)
                max_tokens = 40 + 4 * (len(check.entries) + len(pairs))
                version = VERIFY_VERSION
            elif task is not None and task.plan:
                known = [
                    q.name.rpartition(" > ")[2]
                    for q in self.partitions.children(task.partition)
                    if q.kind == "subtopic"
                ]
                prompt = subtopics_prompt(s.topic, PLAN_COUNT, task.partition.label, known)
                max_tokens = PLAN_COUNT * 20 + 200
                version = PLAN_VERSION
            else:
                assert task is not None
                self.verifier.ticks += 1
                window = provider.context_window(model) // 4
                budget = int(min(s.context_tokens, window) * producer.backoff.context_scale)
                found = self.partitions.context(task.partition, budget)
                size = asked = self.partitions.request_size(task.partition, s.request_size)
                prompt = list_prompt(s.topic, size, found, task.partition.label)
                max_tokens = size * 20 + 200
                version = PROMPT_VERSION
        request = CompletionRequest(
            model=model,
            system=SYSTEM if check is None else VERIFY_SYSTEM,
            prompt=prompt,
            max_tokens=max_tokens,
            temperature=1.0 if check is None else 0.0,
        )
        return Assignment(
            arm=arm,
            provider_name=arm.split(":", 1)[0],
            provider=provider,
            request=request,
            partition=p.label if p is not None else None,
            context_entries=len(found),
            unique_at_assign=unique,
            assigned_at=self.clock.monotonic(),
            prompt_version=version,
            plan=task is not None and task.plan,
            context_tokens=budget,
            check=check,
            asked=asked,
        )

    def verdict(self, a: Assignment, text: str | None) -> tuple[Verdicts, bool]:
        """A verification request came back with `text` (None: it failed). Returns the entry
        states to store with its call, and whether the reply answered."""
        check = a.check
        assert check is not None
        with self._cond:
            parsed = parse_verdict(text, len(check.entries), len(check.pairs)) if text else None
            if parsed is None:
                was = self.verifier.enabled
                decisions = self.verifier.unreadable(check) if text else self.verifier.failed(check)
                if was and not self.verifier.enabled:
                    self._post(Notice(VERIFY_OFF_NOTICE, "warning"))
            else:
                decisions = self.verifier.verdict(
                    check, *parsed, real_share=self.partitions.estimated_real
                )
            self._cond.notify_all()
        return self._hold(decisions), parsed is not None

    def _hold(self, d: Decisions) -> Verdicts:
        """Keep decided entries until their states are stored (then written and counted); a
        confirmed entry takes the text output.txt will show (`Verifier.shown`)."""
        texts = []
        for e in d.confirmed:
            self._deciding[e.id] = (e, CONFIRMED)
            shown = self.verifier.shown(e.id, e.text)
            if shown != e.text:
                e.text = shown
                texts.append((e.id, shown))
        for e in d.rejected:
            self._deciding[e.id] = (e, REJECTED)
        for e, _ in d.merged:
            self._deciding[e.id] = (e, MERGED)
        return Verdicts(
            [e.id for e in d.confirmed],
            [e.id for e in d.rejected],
            [(e.id, into) for e, into in d.merged],
            d.frames,
            d.others,
            texts,
        )

    def planned(self, a: Assignment, lines: list[str]) -> None:
        """A producer's planning request came back with these subtopic lines."""
        with self._cond:
            p = self.partitions.by_name[a.partition or ""]
            made = self.partitions.planned(p, lines)
            self._cond.notify_all()
        where = p.label or "the topic"
        if made and p.plans > 1:
            self._post(Notice(f"{count(len(made), 'more subtopic')} of {where}", "information"))
        elif made and made[0].letters:  # the ranges as the producers panel shows them
            spans = ", ".join(short_partition(q.name).rpartition(" ")[2] for q in made)
            self._post(Notice(f"split {where} by first letter: {spans}", "information"))
        elif made:
            self._post(Notice(f"split {where} into {count(len(made), 'subtopic')}", "information"))

    def secrets_dropped(self, a: Assignment, n: int) -> None:
        """A reply held items with a key in them (or shaped like one), dropped: say so, once
        an arm (they are counted in the calls' `rejected`)."""
        with self._lock:
            if a.arm in self._secrets_noted:
                return
            self._secrets_noted.add(a.arm)
        self._post(Notice(f"a reply of {a.arm} held an API key or a key-shaped token: {n} "
                          "items dropped (counted as rejected; told once)", "error"))  # fmt: skip

    def cost(self, a: Assignment, input_tokens: int, output_tokens: int) -> float | None:
        per_mtok = list_price(a.provider, a.request.model, self.settings.prices)
        if per_mtok is None:
            return None
        return (input_tokens * per_mtok[0] + output_tokens * per_mtok[1]) / 1e6
