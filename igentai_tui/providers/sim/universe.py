"""Universes: everything that exists for a topic, real (shipped JSON) or synthetic (made up).

`universe_for(topic)` (`topics.py`) is deterministic from the topic text alone and cached.
Entries are kept in popularity order (`entries[i].rank == i + 1`), so a subset is a sorted list
of indices and a prefix of it is what a model with partial knowledge knows.

Entries belong to *groups*: the subtopics of a shipped or synthetic topic (one level), or the
nested and crossed groups of a generated world (`worlds.py`: regions within regions, kinds).
A focus names groups (and a first letter, a range or a prefix); its subset is what they share.
"""

from __future__ import annotations

import math
import random
import re
import threading
import zlib
from dataclasses import dataclass

from .names import STYLES, fill, make_stem
from .subset import Subset
from .text import first_letter, fold, singular, text_seed, word_set

SIZE_HINT = re.compile(r"\(\s*sim\s*:\s*(\d+)(?:\s*[/x,]\s*(\d+))?\s*\)", re.IGNORECASE)
MIN_SIZE, MAX_SIZE = 20, 200_000
UNKNOWN_FOCUS_SHARE = 0.15
PHANTOM_MAX = 400

_LETTER = re.compile(
    r"\b(?:starts?|starting|begins?|beginning)\s+with\s+(?:the\s+)?(?:letter\s+)?"
    r"[\"'“‘]?([A-Za-z0-9])[\"'”’]?(?!\w)"
    r"|\bletter\s+[\"'“‘]?([A-Za-z0-9])[\"'”’]?(?!\w)",
    re.IGNORECASE,
)
_LETTER_RANGE = re.compile(
    r"(?:\bletters?\s+(?:from\s+|between\s+)?|"
    r"\b(?:starts?|starting|begins?|beginning)\s+with\s+(?:a\s+letter\s+from\s+)?)"
    r"[\"'“‘]?([A-Za-z])[\"'”’]?\s*(?:to|through|and|-|–|—)\s*[\"'“‘]?([A-Za-z])[\"'”’]?(?!\w)",
    re.IGNORECASE,
)
_PREFIX = re.compile(
    r"\b(?:starts?|starting|begins?|beginning)\s+with\s+(?!(?:the|a|an|letters?)\b)"
    r"[\"'“‘]?([A-Za-z][A-Za-z]{1,5})[\"'”’]?(?!\w)",
    re.IGNORECASE,
)
_PATH = re.compile(r"\s*(?:>|›|;)\s*")
_FOCUS_FILLER_WORDS = (
    "whose name names that which only start starting begin beginning letter letters item one "
    "with from to through between "
    "within focus subtopic category"
)
_FOCUS_FILLER = frozenset(_FOCUS_FILLER_WORDS.split())
_LEAD = re.compile(r"^\s*(?:[-*•·+]+|\d{1,4}[.)])\s*")
_TAIL = re.compile(r"\s+[-–—]\s+.*$|\s*:\s+.*$|\s*[(\[].*$|,\s.*$")


@dataclass(frozen=True, slots=True)
class UEntry:
    """One thing that exists: its canonical name, other real spellings, subtopic, rank, and
    other names."""

    name: str
    variants: tuple[str, ...]
    subtopic: str
    rank: int
    others: tuple[str, ...] = ()  # other names of it, unlike its own ("Burma" for "Myanmar")


@dataclass(frozen=True, slots=True)
class Group:
    """A natural group of entries: a subtopic, a region within a region, a kind."""

    name: str
    aka: tuple[str, ...] = ()
    facet: int = 0  # groups of one facet partition the entries; facets cross each other
    parent: int | None = None  # the enclosing group of the same facet
    depth: int = 1


class Universe:
    """A topic's entries and groups, with the indexes the sim samples from."""

    def __init__(
        self,
        topic: str,
        subtopics: list[str],
        entries: list[UEntry],
        *,
        real: bool,
        aka: list[tuple[str, ...]],
        nouns: list[tuple[str, ...]],
        invent: list[tuple[str, ...]],
        styles: list[str],
        paren: tuple[str, ...],
        cores: set[str] | None = None,
        groups: list[Group] | None = None,
        entry_groups: list[tuple[int, ...]] | None = None,
        style_of: list[int] | None = None,
        kind_noun: list[str] | None = None,
        where: list[str] | None = None,
    ) -> None:
        """`subtopics` (with `aka`, `nouns`, `invent`, `styles`) are the styles entries are
        written and invented in; without `groups` they are also the groups. A world passes its
        `groups`, each entry's innermost groups (`entry_groups`, one per facet), its style
        (`style_of`), the noun of its kind ("Province": "Harare Province" names it too) and
        where it is ("Sligo - located in Connacht")."""
        self.topic = topic
        self.subtopics = subtopics
        self.entries = entries
        self.real = real
        self.aka = aka
        self.nouns = nouns
        self.invent_templates = invent
        self.styles = styles
        self.paren = paren
        self._cores = cores or set()
        n = len(entries)
        if groups is None:
            sub_pos = {s: j for j, s in enumerate(subtopics)}
            groups = [Group(s, aka[j]) for j, s in enumerate(subtopics)]
            entry_groups = [(sub_pos[e.subtopic],) for e in entries]
            style_of = [g[0] for g in entry_groups]
        assert entry_groups is not None and style_of is not None
        self.groups = groups
        self.sub_of = style_of
        self.kind_noun = kind_noun or [""] * n
        self.where = where or [""] * n
        self.letter_of = [first_letter(e.name) for e in entries]
        self.prefix_of = [fold(e.name).replace(" ", "") for e in entries]
        self.children: list[list[int]] = [[] for _ in groups]
        for g, grp in enumerate(groups):
            if grp.parent is not None:
                self.children[grp.parent].append(g)
        members: list[list[int]] = [[] for _ in groups]
        for i, leaves in enumerate(entry_groups):
            for g in leaves:
                node: int | None = g
                while node is not None:
                    members[node].append(i)
                    node = groups[node].parent
        self.members = members
        self.index: dict[str, int] = {}
        for i, e in enumerate(entries):
            for form in (e.name, *e.variants, *self.kind_forms(i), *e.others):
                self.index.setdefault(form, i)
                self.index.setdefault(fold(form), i)
        self._topic_words = word_set(topic)
        self._group_words = [
            [(word_set(x) - self._topic_words) or word_set(x) for x in (g.name, *g.aka)]
            for g in groups
        ]
        self.mass = [sum(1.0 / (i + 1) for i in m) for m in members]
        self.salience = [math.exp(0.5 * _normal(text_seed(f"{e.name}|salience"))) for e in entries]
        self._subsets: dict[str, Subset] = {}
        self._lock = threading.Lock()
        self.invented: dict[str, set[str]] = {}  # mind -> names it made up (see model.py)

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        kind = "real" if self.real else "synthetic"
        size = f"{len(self)} entries, {len(self.groups)} groups"
        return f"<Universe {self.topic!r} {kind}: {size}>"

    def kind_forms(self, i: int) -> tuple[str, ...]:
        """Entry `i` named with its kind ("Harare Province", "Province of Harare"), if the name
        does not say it already."""
        noun = self.kind_noun[i]
        name = self.entries[i].name
        if not noun or noun.casefold() in fold(name).split():
            return ()
        if noun[0].islower():  # "Kabri language"
            return (f"{name} {noun}",)
        return (f"{name} {noun}", f"{noun} of {name}")

    # -- reading names ------------------------------------------------------------------------

    def lookup(self, text: str) -> int | None:
        """The entry a line of text names (any known spelling, light decoration), or None."""
        i = self.index.get(text)
        if i is None:
            key = fold(text)
            i = self.index.get(key)
            if i is None and key:
                bare = _TAIL.sub("", _LEAD.sub("", text.replace("**", "")))
                i = self.index.get(fold(bare))
        return i

    def contains_name(self, name: str) -> bool:
        """True when `name` would be read as an entry of this universe or clashes with one."""
        if self.lookup(name) is not None:
            return True
        return any(k in self._cores for k in _name_cores(name))

    # -- focus --------------------------------------------------------------------------------

    def match_subtopics(self, text: str) -> tuple[int, ...]:
        """The groups a focus text names (tolerant; "A and B" gives both), maybe none."""
        return self._match_words(word_set(text) - _FOCUS_FILLER - self._topic_words)

    def _match_words(self, words: frozenset[str]) -> tuple[int, ...]:
        if not words:
            return ()
        full: list[tuple[int, frozenset[str]]] = []
        best, partial = 0.0, []
        for j, sets in enumerate(self._group_words):
            for ws in sets:
                if not ws:
                    continue
                if ws <= words:
                    full.append((j, ws))
                else:
                    score = len(ws & words) / len(ws)
                    if score > best:
                        best, partial = score, [j]
                    elif score == best and j not in partial:
                        partial.append(j)
        if full:
            keep = {j for j, ws in full if not any(ws < other for _, other in full)}
            return tuple(sorted(keep))
        return tuple(sorted(partial)) if best >= 0.5 else ()

    def subset(self, focus: str | None) -> Subset:
        """The entries a focus line covers (cached per focus text)."""
        key = focus or ""
        found = self._subsets.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._subsets.get(key)
            if found is None:
                if len(self._subsets) > 4096:
                    self._subsets.clear()
                found = self._subsets[key] = self._build_subset(key)
        return found

    def _build_subset(self, focus: str) -> Subset:
        n = len(self.entries)
        letters = prefix = None
        rest = focus
        m = _LETTER_RANGE.search(focus)
        if m:
            first, last = sorted((m.group(1).upper(), m.group(2).upper()))
            letters = "".join(chr(c) for c in range(ord(first), ord(last) + 1))
        else:
            m = _PREFIX.search(focus)
            if m:
                prefix = fold(m.group(1)).replace(" ", "")
            else:
                m = _LETTER.search(focus)
                if m:
                    letters = (m.group(1) or m.group(2)).upper()
        if m:
            rest = focus[: m.start()] + " " + focus[m.end() :]
        idx: list[int] | None = None
        groups: tuple[int, ...] = ()
        for part in _PATH.split(rest):
            words = word_set(part) - _FOCUS_FILLER - self._topic_words
            said = word_set(part) - _FOCUS_FILLER
            if not words and said and not self._topic_words <= said:
                # Some of the topic's own words: a group named by one ("Castles" of "Castles
                # and fortresses of Europe"), if there is one; else the whole topic.
                words = said if self._match_words(said) else words
            if not words:
                continue
            matched = self._match_words(words)
            base = idx if idx is not None else range(n)
            if matched:
                chosen: set[int] = set()
                for g in matched:
                    chosen.update(self.members[g])
                idx = [i for i in base if i in chosen]
                groups = matched
            else:  # a focus it cannot place: a stable pseudo-random share of what is left
                pool = list(base)
                rng = random.Random(zlib.crc32(fold(part).encode()))
                k = max(1, int(len(pool) * UNKNOWN_FOCUS_SHARE)) if pool else 0
                idx = sorted(rng.sample(pool, k))
                groups = ()
        if idx is None:
            idx = list(range(n))
        if letters is not None:
            idx = [i for i in idx if self.letter_of[i] and self.letter_of[i] in letters]
        if prefix is not None:
            idx = [i for i in idx if self.prefix_of[i].startswith(prefix)]
        subs = tuple(sorted({self.sub_of[i] for i in idx})) or tuple(range(len(self.subtopics)))
        return Subset(focus, idx, subs, letters, groups, prefix)

    # -- inventions ---------------------------------------------------------------------------

    def phantoms(self, subset: Subset, mind: str = "") -> tuple[list[str], list[float]]:
        """The non-existent entries a model (`mind`) "believes in" for a focus, with cumulative
        Zipf weights: the same few come back again and again, as real hallucinations do. A
        quarter of them are the model's beliefs about the whole topic, so the same invention
        may come back under different focuses."""
        found = subset.phantoms.get(mind)
        if found is None:
            with self._lock:
                found = subset.phantoms.get(mind)
                if found is None:
                    rng = random.Random(text_seed(f"{fold(self.topic)}|{subset.key}|{mind}"))
                    size = max(8, min(PHANTOM_MAX, len(subset.idx) // 4))
                    names = {self.invent_in(rng, subset) for _ in range(size)}
                    if subset.key:
                        shared = self._topic_phantoms(mind)
                        ok = [x for x in shared if _fits(x, subset)]
                        names.update(rng.sample(ok, min(len(ok), max(2, size // 4))))
                    ordered = sorted(names)
                    rng.shuffle(ordered)
                    cum, total = [], 0.0
                    for r in range(len(ordered)):
                        total += 1.0 / (r + 1)
                        cum.append(total)
                    found = subset.phantoms[mind] = (ordered, cum)
        return found

    def _topic_phantoms(self, mind: str) -> list[str]:
        """What a model believes exists in the whole topic (called under the lock)."""
        whole = self._subsets.get("")
        if whole is None:
            whole = self._subsets[""] = self._build_subset("")
        names = whole.phantoms.get(mind)
        if names is None:
            rng = random.Random(text_seed(f"{fold(self.topic)}||{mind}"))
            size = max(8, min(PHANTOM_MAX, len(whole.idx) // 4))
            made = sorted({self.invent_in(rng, whole) for _ in range(size)})
            cum = [float(k + 1) for k in range(len(made))]
            names = whole.phantoms[mind] = (made, cum)
        return names[0]

    def invent_in(self, rng: random.Random, subset: Subset) -> str:
        """A new non-existent entry for a focus, in one of its styles and its letters."""
        sub = self.sub_of[rng.choice(subset.idx)] if subset.idx else rng.choice(subset.subs)
        lead = None
        if subset.prefix:
            lead = subset.prefix[0].upper()
        elif subset.letters:
            lead = rng.choice(subset.letters)
        name = self.invent(rng, sub, lead)
        if subset.prefix and not fold(name).replace(" ", "").startswith(subset.prefix):
            tail = self.invent(rng, sub, None)
            name = subset.prefix.capitalize() + tail.lower()[len(subset.prefix) // 2 :]
            if self.contains_name(name):
                name = f"{subset.prefix.capitalize()}{rng.randrange(10**4)}"
        return name

    def invent(self, rng: random.Random, sub: int, letter: str | None = None) -> str:
        """A plausible name of style `sub` that does not exist in this universe."""
        templates = [t.split("|")[0] for t in self.invent_templates[sub]]
        noun = self.nouns[sub][0] if self.nouns[sub] else "place"
        if letter is not None:
            templates = [t for t in templates if t[0] == "{" or first_letter(t) == letter]
            templates = templates or ["{S} " + noun.title()]
        style = STYLES.get(self.styles[sub], STYLES["english"])
        for attempt in range(200):
            template = rng.choice(templates)
            lead = letter if template.startswith("{S}") or template.startswith("{s}") else None
            stem = make_stem(rng, style, lead)
            given = ""
            if "{G}" in template:
                lead = letter if template.startswith("{G}") else None
                given = make_stem(rng, STYLES["given"], lead)
            name = fill(template, stem, given)
            if letter is not None and first_letter(name) != letter and attempt < 150:
                continue
            if not self.contains_name(name):
                return name
        return f"{letter or 'Q'}{rng.randrange(10**6)} {noun.title()}"


def _fits(name: str, subset: Subset) -> bool:
    """Whether an invented name obeys a focus's letters or prefix."""
    if subset.prefix:
        return fold(name).replace(" ", "").startswith(subset.prefix)
    if subset.letters:
        return first_letter(name) in subset.letters
    return True


def _normal(seed: int) -> float:
    """A standard normal draw from a seed (deterministic, no global state)."""
    return random.Random(seed).gauss(0.0, 1.0)


def _name_cores(name: str) -> set[str]:
    return {singular(w) for w in fold(name).split()}
