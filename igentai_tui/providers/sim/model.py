"""What the simulated model writes: lists of entries and lists of subtopics, with LLM habits."""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Callable

from .params import SimParams
from .reader import PromptInfo
from .universe import SIZE_HINT, Subset, Universe

_FIRST_LINES = (
    "Here are {n} more {what}:",
    "Sure! Here are {n} more {what}:",
    "Certainly. Here is a list of {n} additional {what}:",
    "Here are some more {what} that are not on your list:",
    "Of course! Continuing the list of {what}:",
)
_LAST_LINES = (
    "Let me know if you'd like more!",
    "I hope this helps!",
    "Would you like me to continue with more entries?",
    "Note: a few of these may overlap with entries you already have.",
    "These should all be new to your list.",
)
_SUB_FIRST = (
    "Here is a split of {what} into {n} subtopics:",
    "Sure! {n} subtopics that cover {what}:",
    "Here are {n} distinct subtopics:",
)

_MAX_TRIES = 30  # draws per entry before the model is "stuck" (all it recalls is listed)
_STUCK_TRIES = 8  # fewer once stuck, as the rest of the reply will be as hard


def reply(universe: Universe, info: PromptInfo, params: SimParams, rng: random.Random) -> str:
    """The full reply text to a prompt (before any token-limit cut)."""
    if info.kind == "subtopics":
        return write_subtopics(universe, info, params, rng)
    return write_list(universe, info, params, rng)


def _target(count: int | None, params: SimParams, rng: random.Random) -> int:
    n = count if count is not None and count > 0 else params.default_count
    j = params.count_jitter
    return max(1, round(n * rng.uniform(1.0 - j, 1.0 + j / 2)))


def write_list(universe: Universe, info: PromptInfo, params: SimParams, rng: random.Random) -> str:
    """A list of entries: popular ones first and most often, the found list partly honoured,
    mostly within the focus, a few invented, written with some noise."""
    focus = universe.subset(info.focus)
    everything = universe.subset(None) if info.focus else focus
    limit = max(1, int(params.knowledge * len(universe)))
    found: set[int] = set()
    get, lookup = universe.index.get, universe.lookup
    for line in info.found:  # exact spellings are a dict hit; others go through folding
        i = get(line)
        if i is None:
            i = lookup(line)
        if i is not None:
            found.add(i)
    honour = params.honour / (1.0 + len(info.found) / max(1, params.honour_half_list))
    known_focus = focus.known(limit)
    in_focus = found & focus.members
    listed = len(in_focus) if limit >= len(universe) else sum(i < limit for i in in_focus)
    dry = listed / known_focus if known_focus else 1.0
    p_invent = min(0.95, params.invent_rate + params.invent_dry * dry**3)

    pools: list[tuple[Subset, list[float], int]] = []
    for pool in (focus, everything):
        k = pool.known(limit)
        pools.append((pool, pool.cum(params.zipf_exponent) if k else [], k))
    skip = _Skip(set(info.found), honour)
    out: list[tuple[float, str]] = []  # (order key, text): the famous come first, roughly
    rand, gauss = rng.random, rng.gauss
    tail = math.log(max(2, known_focus))
    seen: set[int] = set()
    tries = _MAX_TRIES
    for _ in range(_target(info.count, params, rng)):
        if rand() < p_invent:
            out.append((tail + gauss(0.0, 1.0), _invented(universe, focus, params, rng, skip)))
            continue
        pool, cum, k = pools[1] if info.focus and rand() < params.focus_leak else pools[0]
        pick = -1
        for _ in range(tries if k else 0):
            i = pool.sample(rng, cum, k)
            if i in seen or (i in found and rand() < honour):
                continue
            pick = i
            break
        if pick < 0:  # stuck: what it recalls is all listed; it makes one up, or stops
            tries = _STUCK_TRIES
            if rand() < 0.5:
                out.append((tail + gauss(0.0, 1.0), _invented(universe, focus, params, rng, skip)))
                continue
            break
        seen.add(pick)
        out.append((math.log(pick + 1) + gauss(0.0, 1.0), _spelling(universe, pick, params, rng)))
    out.sort(key=lambda t: t[0])
    return _decorate([text for _, text in out], universe, info, params, rng)


class _Skip:
    """Which invented names a reply avoids: its own, and listed ones as often as it honours."""

    def __init__(self, listed: set[str], honour: float) -> None:
        self.listed = listed
        self.honour = honour
        self.written: set[str] = set()

    def __call__(self, name: str, rng: random.Random) -> bool:
        if name in self.written:
            return True
        return name in self.listed and rng.random() < self.honour


def _invented(
    universe: Universe, focus: Subset, params: SimParams, rng: random.Random, skip: _Skip
) -> str:
    """A non-existent entry: usually one of the focus's recurring phantoms, sometimes new."""
    name = ""
    if rng.random() >= params.invent_fresh:
        names, cum = universe.phantoms(focus)
        for _ in range(5):
            name = names[bisect_right(cum, rng.random() * cum[-1], 0, len(cum) - 1)]
            if not skip(name, rng):
                break
            name = ""
    name = name or universe.invent_in(rng, focus)
    skip.written.add(name)
    return name


def _spelling(universe: Universe, i: int, params: SimParams, rng: random.Random) -> str:
    """How the model writes entry `i`: usually its canonical name, sometimes not."""
    entry = universe.entries[i]
    r = rng.random()
    if r < params.variant_rate:
        options: list[str] = list(entry.variants)
        if not universe.real or not options or rng.random() < 0.25:
            options.append(entry.name.lower())
            if not entry.name.lower().startswith("the "):
                options.append("The " + entry.name)
        return rng.choice(options)
    if r < params.variant_rate + params.description_rate:
        nouns = universe.nouns[universe.sub_of[i]]
        if universe.paren and rng.random() < 0.35:
            return f"{entry.name} ({rng.choice(universe.paren)})"
        if nouns:
            noun = rng.choice(nouns)
            pattern = rng.choice(("{n} - {d}", "{n} – {d}", "{n}: a {d}", "{n} ({d})"))
            return pattern.format(n=entry.name, d=noun)
    return entry.name


def _decorate(
    lines: list[str],
    universe: Universe,
    info: PromptInfo,
    params: SimParams,
    rng: random.Random,
    what: str | None = None,
    first_lines: tuple[str, ...] = _FIRST_LINES,
) -> str:
    """Numbering, bullets, bold and chatty lines, as a model might add despite the rules."""
    rand = rng.random
    fmt: Callable[[int, str], str] | None = None
    if rand() < params.bold:
        lines = [f"**{x}**" for x in lines]
    r = rand()
    if r < params.numbering:
        sep = rng.choice((". ", ". ", ") "))
        fmt = lambda k, x: f"{k}{sep}{x}"  # noqa: E731
    elif r < params.numbering + params.bullets:
        mark = rng.choice(("- ", "* ", "• "))
        fmt = lambda k, x: mark + x  # noqa: E731
    if fmt is not None:
        lines = [fmt(k, x) for k, x in enumerate(lines, 1)]
    if rand() < params.chatty_first:
        topic = SIZE_HINT.sub("", info.topic).strip() or universe.topic
        what = what or (info.focus if info.focus and len(info.focus) < 60 else topic)
        lines = [rng.choice(first_lines).format(n=len(lines), what=what), "", *lines]
    if rand() < params.chatty_last:
        lines += ["", rng.choice(_LAST_LINES)]
    return "\n".join(lines)


def write_subtopics(
    universe: Universe, info: PromptInfo, params: SimParams, rng: random.Random
) -> str:
    """The universe's subtopics, main ones first, reordered a little, sometimes merged or
    renamed to a near-synonym; at most the number asked for."""
    order = sorted(range(len(universe.subtopics)), key=lambda j: -universe.mass[j])
    count = info.count if info.count and info.count > 0 else len(order)
    order = order[:count]
    noisy = sorted(order, key=lambda j: order.index(j) + rng.gauss(0.0, 1.5))
    names: list[str] = []
    k = 0
    while k < len(noisy):
        j = noisy[k]
        name = universe.subtopics[j]
        if universe.aka[j] and rng.random() < params.subtopic_synonym:
            name = rng.choice(universe.aka[j])
        if k + 1 < len(noisy) and rng.random() < params.subtopic_merge:
            other = universe.subtopics[noisy[k + 1]]
            name = f"{name} and {other[0].lower() + other[1:]}"
            k += 1
        names.append(name)
        k += 1
    topic = SIZE_HINT.sub("", info.topic).strip() or universe.topic
    return _decorate(names, universe, info, params, rng, what=topic, first_lines=_SUB_FIRST)
