"""What the simulated model writes: lists of entries and lists of subtopics, with LLM habits."""

from __future__ import annotations

import math
import random
import zlib
from bisect import bisect_right
from collections.abc import Callable

from .params import SimParams
from .reader import PromptInfo
from .subset import Subset, cumulative
from .text import fold
from .universe import SIZE_HINT, Universe

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


def reply(
    universe: Universe, info: PromptInfo, params: SimParams, rng: random.Random, mind: str = ""
) -> str:
    """The full reply text to a prompt (before any token-limit cut)."""
    if info.kind == "subtopics":
        return write_subtopics(universe, info, params, rng)
    if info.kind == "verify":
        return write_verdict(universe, info, params, mind)
    return write_list(universe, info, params, rng, mind)


def _target(count: int | None, params: SimParams, rng: random.Random) -> int:
    n = count if count is not None and count > 0 else params.default_count
    j = params.count_jitter
    return max(1, round(n * rng.uniform(1.0 - j, 1.0 + j / 2)))


def _pool(
    universe: Universe, subset: Subset, params: SimParams, limit: int, listed: int
) -> tuple[Subset | list[int], list[float], int]:
    """What a focus lets the model recall: (entries, cumulative weights, how many)."""
    depth = params.recall_depth
    if depth is None:
        k = subset.known(limit)
        return subset, subset.cum(params.zipf_exponent) if k else [], k
    deeper = depth + params.recall_gain * min(listed, 2 * depth)
    idx = subset.reach(universe.salience, limit, int(deeper))
    # Popularity within the focus: its best-known entry comes up most, whatever its rank in
    # the whole topic (one famous member must not crowd out the rest of its group).
    return idx, cumulative(list(range(len(idx))), params.zipf_exponent), len(idx)


def write_list(
    universe: Universe, info: PromptInfo, params: SimParams, rng: random.Random, mind: str = ""
) -> str:
    """A list of entries: popular ones first and most often, the found list partly honoured,
    mostly within the focus and within what the focus makes it recall, a few invented,
    written with some noise."""
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
    in_focus = found & focus.members
    pools = [
        _pool(universe, pool, params, limit, len(found & pool.members) if pool is not focus
              else len(in_focus))
        for pool in (focus, everything)
    ]  # fmt: skip
    reach, _, known_focus = pools[0]
    members = in_focus if isinstance(reach, Subset) else in_focus & set(reach)
    listed = len(members) if limit >= len(universe) else sum(i < limit for i in members)
    dry = listed / known_focus if known_focus else 1.0
    p_invent = min(0.95, params.invent_rate + params.invent_dry * dry**3)

    skip = _Skip(set(info.found), honour)
    out: list[tuple[float, str]] = []  # (order key, text): the famous come first, roughly
    rand, gauss = rng.random, rng.gauss
    tail = math.log(max(2, known_focus))
    seen: set[int] = set()
    tries = _MAX_TRIES
    for _ in range(_target(info.count, params, rng)):
        if rand() < p_invent:
            name = _invented(universe, focus, params, rng, skip, mind)
            out.append((tail + gauss(0.0, 1.0), name))
            continue
        pool, cum, k = pools[1] if info.focus and rand() < params.focus_leak else pools[0]
        pick = -1
        for _ in range(tries if k else 0):
            i = _draw(pool, rng, cum, k)
            if i in seen or (i in found and rand() < honour):
                continue
            pick = i
            break
        if pick < 0:  # stuck: what it recalls is all listed; it makes one up, or stops
            tries = _STUCK_TRIES
            if rand() < 0.5:
                name = _invented(universe, focus, params, rng, skip, mind)
                out.append((tail + gauss(0.0, 1.0), name))
                continue
            break
        seen.add(pick)
        out.append((math.log(pick + 1) + gauss(0.0, 1.0), _spelling(universe, pick, params, rng)))
    out.sort(key=lambda t: t[0])
    return _decorate([text for _, text in out], universe, info, params, rng)


def _draw(pool: Subset | list[int], rng: random.Random, cum: list[float], k: int) -> int:
    if isinstance(pool, Subset):
        return pool.sample(rng, cum, k)
    return pool[bisect_right(cum, rng.random() * cum[k - 1], 0, k - 1)]


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
    universe: Universe,
    focus: Subset,
    params: SimParams,
    rng: random.Random,
    skip: _Skip,
    mind: str = "",
) -> str:
    """A non-existent entry: usually one of the focus's recurring phantoms, sometimes new.
    The model remembers what it made up: it believes its own inventions more (`write_verdict`)."""
    name = ""
    if rng.random() >= params.invent_fresh:
        names, cum = universe.phantoms(focus, mind)
        for _ in range(5):
            name = names[bisect_right(cum, rng.random() * cum[-1], 0, len(cum) - 1)]
            if not skip(name, rng):
                break
            name = ""
    name = name or universe.invent_in(rng, focus)
    skip.written.add(name)
    made = universe.invented.get(mind)
    if made is None:
        made = universe.invented.setdefault(mind, set())
    made.add(name)
    return name


def _spelling(universe: Universe, i: int, params: SimParams, rng: random.Random) -> str:
    """How the model writes entry `i`: usually its canonical name, sometimes not."""
    entry = universe.entries[i]
    if entry.others and rng.random() < params.other_rate:
        return rng.choice(entry.others)
    r = rng.random()
    if r < params.variant_rate:
        options: list[str] = list(entry.variants)
        if not universe.real or not options or rng.random() < 0.25:
            options.append(entry.name.lower())
            if not entry.name.lower().startswith("the "):
                options.append("The " + entry.name)
        return rng.choice(options)
    r -= params.variant_rate
    if r < params.kind_rate and (kinds := universe.kind_forms(i)):
        return rng.choice(kinds)
    r -= params.kind_rate
    if r < params.qualifier_rate and (where := universe.where[i]):
        pattern = rng.choice(("{n} - located in {w}", "{n} ({w})", "{n}, {w}"))
        return pattern.format(n=entry.name, w=where)
    r -= params.qualifier_rate
    if r < params.description_rate:
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
    """Groups of the focus: the biggest first, reordered a little, a partial and different
    subset each time (at most `subtopic_cap` lines), those the prompt lists as known mostly
    skipped, sometimes merged or renamed to a near-synonym; a focus with no natural groups
    gets made-up categories."""
    focus = universe.subset(info.focus) if info.focus else None
    weights = _candidate_groups(universe, focus)
    known: set[int] = set()
    for line in info.found:
        known.update(universe.match_subtopics(line))
    cap = max(1, round(params.subtopic_cap * rng.uniform(0.7, 1.15)))
    count = min(info.count if info.count and info.count > 0 else cap, cap)
    keyed = []
    for g, w in weights.items():
        if g in known and rng.random() < params.subtopic_honour:
            continue
        keyed.append((w * rng.lognormvariate(0.0, 0.6), g))
    keyed.sort(reverse=True)
    picked = [g for _, g in keyed[:count]]
    names: list[str] = []
    k = 0
    while k < len(picked):
        grp = universe.groups[picked[k]]
        name = grp.name
        if grp.aka and rng.random() < params.subtopic_synonym:
            name = rng.choice(grp.aka)
        if k + 1 < len(picked) and rng.random() < params.subtopic_merge:
            other = universe.groups[picked[k + 1]].name
            name = f"{name} and {other[0].lower() + other[1:]}"
            k += 1
        names.append(name)
        k += 1
    short = count - len(picked)
    if short > 0 and (not weights or rng.random() < 0.5):  # padded with made-up categories
        names += _made_up_categories(universe, rng, min(short, 3 if weights else count))
    topic = SIZE_HINT.sub("", info.topic).strip() or universe.topic
    return _decorate(names, universe, info, params, rng, what=topic, first_lines=_SUB_FIRST)


def _candidate_groups(universe: Universe, focus: Subset | None) -> dict[int, float]:
    """The groups a model names as subtopics of a focus, with weights: for the whole topic
    the top-level groups of every facet (and a few of the next level, skipping one); for a
    group its own subgroups, then groups of other facets that cross it."""
    groups, mass = universe.groups, universe.mass
    out: dict[int, float] = {}
    if focus is None or not focus.key:
        for g, grp in enumerate(groups):
            if grp.depth == 1:
                out[g] = mass[g]
            elif grp.depth == 2:
                out[g] = 0.1 * mass[g]
        return out
    named = set(focus.groups)
    facets = {groups[g].facet for g in named}
    for g in named:
        for c in universe.children[g]:
            out[c] = mass[c]
    members = focus.members
    if len(members) < 2:
        return out
    for g, grp in enumerate(groups):
        if grp.depth != 1 or grp.facet in facets or g in named:
            continue
        share = sum(1 for i in universe.members[g] if i in members)
        if 0 < share < len(members):
            out.setdefault(g, 0.3 * mass[g] * share / len(universe.members[g]))
    return out


_MADE_UP = (
    "Lesser-known", "Historic", "Modern", "Traditional", "Minor", "Rare", "Major", "Regional",
    "Other", "Unusual", "Early", "Late",
)  # fmt: skip


def _made_up_categories(universe: Universe, rng: random.Random, n: int) -> list[str]:
    """Category names a model makes up when a focus has no natural groups: they overlap
    anything and cover a pseudo-random part of it."""
    noun = universe.topic.split()[0].lower() if universe.topic else "entries"
    words = rng.sample(_MADE_UP, min(n, len(_MADE_UP)))
    return [f"{w} {noun}" for w in words]


def write_verdict(universe: Universe, info: PromptInfo, params: SimParams, mind: str) -> str:
    """The answer to a verification request: the numbers of the candidates the model takes
    for inventions (it recognises real entries far better than it recalls them, and believes
    its own inventions more than others'), and of the pairs it takes for one entry. Each
    judgement is a stable function of the model and the name, as a model's beliefs are."""
    limit = max(1, int(params.knowledge * len(universe)))
    own = universe.invented.get(mind, set())
    doubted = []
    for n, name in enumerate(info.candidates, 1):
        i = universe.lookup(name)
        u = _belief(mind, name)
        if i is not None:
            if u < (params.doubt_real if i < limit else params.doubt_unknown):
                doubted.append(n)
        elif u >= (params.believe_own if name in own else params.believe_other):
            doubted.append(n)
    same = []
    for n, (a, b) in enumerate(info.pairs, 1):
        i, j = universe.lookup(a), universe.lookup(b)
        truth = i is not None and i == j
        if truth != (_belief(mind, f"{a}|{b}") < params.alias_error):
            same.append(n)
    lines = [
        "not real: " + (", ".join(map(str, doubted)) or "none"),
        "same thing: " + (", ".join(map(str, same)) or "none"),
    ]
    if info.others:
        lines.append(
            "other name: " + ("; ".join(_other_names(universe, info, params, mind)) or "none")
        )
    return "\n".join(lines)


def _other_names(universe: Universe, info: PromptInfo, params: SimParams, mind: str) -> list[str]:
    """ "n = name" for the candidates written by another name of theirs that the model knows
    ("Burma" -> "Myanmar", "Château de Versailles" -> "Palace of Versailles"), and now and
    then a wrong one (another entry's name)."""
    out = []
    for n, name in enumerate(info.candidates, 1):
        i = universe.lookup(name)
        if i is None:
            continue
        entry = universe.entries[i]
        folded = fold(name)
        if folded != fold(entry.name) and folded in {
            fold(o) for o in (*entry.others, *entry.variants)
        }:
            if _belief(mind, f"{name}|other") < params.other_known:
                out.append(f"{n} = {entry.name}")
        elif _belief(mind, f"{name}|wrong") < params.other_wrong:
            j = (i + 1 + int(_belief(mind, f"{name}|which") * 50)) % len(universe)
            out.append(f"{n} = {universe.entries[j].name}")
    return out


def _belief(mind: str, text: str) -> float:
    """A number in [0, 1) fixed for a model and a text."""
    return zlib.crc32(f"{mind}|{text}".encode()) / 2**32
