"""A family of generated worlds: topics of different shapes, each with a model of its own.

The demo topics have at most a few dozen flat subtopics. Real topics do not: "administrative
subdivisions of the world's countries" has ~300 groups with a long tail, "languages of the
world" thousands of names grouped by little but their letters, and a model recalls an obscure
entry only when the prompt names its group. A world is made from a shape and a seed:

- `groups`: one level of 100-400 groups with a long tail (a few big, many of one to five
  entries); each group names its entries with a kind noun ("Varen Province") and they are
  "located in" it;
- `crossed`: regions within regions, crossed with kinds (either partitions the topic);
- `tree`: groups nested three levels deep;
- `flat`: 5,000-8,000 names and a few lopsided kinds: only letters partition them well;
- `small`: 60-300 entries in 5-15 groups.

In every shape a few entries have another name of their own ("Burma" for "Myanmar"). The
seed also draws the model's behaviour (how deep a focus reaches, how many subtopics an answer
names, how often it invents, writes variants or other names and believes inventions), so that
a strategy is measured against models and topics it was not tuned on.
`(sim-world:SHAPE:SEED)` in a topic selects a world (`world_topic`). Nothing here is read by
the engine.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from functools import cache

from .names import GENRES, KIND_WORDS, STYLES, core_keys, fill, make_stem
from .params import PROFILES, SimParams
from .text import fold, text_seed
from .universe import Group, UEntry, Universe

SHAPES = ("groups", "crossed", "tree", "flat", "small")

_ADMIN = (
    "Province", "District", "County", "Municipality", "Region", "Department", "Prefecture",
    "Canton", "Parish", "Governorate", "Territory", "Commune",
)  # fmt: skip
_FLAT_NOUNS = ("language", "dialect", "tongue", "script")
_FLAT_KINDS = ("Living", "Extinct", "Sign", "Creole", "Constructed", "Liturgical")
_REGION_TAILS = ("", "", "", "ia", "land", "mark", "ora", "stan", "heim", "ovia")
_DIRECTIONS = ("North", "South", "East", "West", "Upper", "Lower", "Greater", "New")
_NAME_STYLES = ("english", "french", "fantasy", "surname", "science")


def world_topic(shape: str, seed: int) -> str:
    """The topic text that selects a world: its title and the hint."""
    return f"{world_universe(shape, seed).topic} (sim-world:{shape}:{seed})"


@cache
def world_universe(shape: str, seed: int) -> Universe:
    """The world of a shape and seed (the same arguments, the same world, in any process)."""
    if shape not in SHAPES:
        raise ValueError(f"unknown world shape {shape!r}: use one of {', '.join(SHAPES)}")
    rng = random.Random(text_seed(f"world|{shape}|{seed}"))
    return _Builder(rng, shape).build()


def world_params(shape: str, seed: int, base: SimParams | None = None) -> SimParams:
    """The model of a world: `base` (the default profile, no latency or rate limit) with
    recall, subtopic answers, inventions, variants and beliefs drawn from the seed."""
    rng = random.Random(text_seed(f"model|{shape}|{seed}"))
    others = random.Random(text_seed(f"model-others|{shape}|{seed}"))  # drawn apart
    base = base or PROFILES["instant"]

    def log_uniform(lo: float, hi: float) -> float:
        return math.exp(rng.uniform(math.log(lo), math.log(hi)))

    return replace(
        base,
        recall_depth=round(log_uniform(60, 250)),
        recall_gain=rng.uniform(0.3, 0.7),
        subtopic_cap=round(log_uniform(15, 60)),
        subtopic_honour=rng.uniform(0.75, 0.95),
        honour=rng.uniform(0.8, 0.97),
        honour_half_list=round(log_uniform(150, 500)),
        focus_leak=rng.uniform(0.02, 0.1),
        invent_rate=rng.uniform(0.01, 0.06),
        invent_dry=rng.uniform(0.2, 0.5),
        invent_fresh=rng.uniform(0.05, 0.3),
        variant_rate=rng.uniform(0.03, 0.1),
        kind_rate=rng.uniform(0.03, 0.12),
        qualifier_rate=rng.uniform(0.01, 0.05),
        description_rate=rng.uniform(0.01, 0.05),
        believe_own=rng.uniform(0.1, 0.3),
        believe_other=rng.uniform(0.03, 0.12),
        doubt_real=rng.uniform(0.005, 0.03),
        zipf_exponent=rng.uniform(0.8, 1.2),
        other_rate=others.uniform(0.1, 0.4),
        other_known=others.uniform(0.6, 0.95),
    )


class _Builder:
    """Makes one world: groups, names, popularity, kinds and places."""

    def __init__(self, rng: random.Random, shape: str) -> None:
        self.rng = rng
        self.shape = shape
        self.used: set[str] = set(KIND_WORDS)  # stem keys taken (names never fold together)
        self.groups: list[Group] = []
        self.appeal: list[float] = []
        self.style = rng.choice(_NAME_STYLES)

    # -- names --------------------------------------------------------------------------------

    def stem(self, style: str | None = None) -> str:
        s = STYLES[style or self.style]
        for _ in range(2_000):
            stem = make_stem(self.rng, s)
            key = fold(stem).replace(" ", "")
            if key not in self.used and key.rstrip("s") not in self.used:
                self.used.add(key)
                return stem
        raise RuntimeError("ran out of names")

    def region_name(self) -> str:
        rng = self.rng
        stem = self.stem("fantasy" if rng.random() < 0.5 else "english")
        tail = rng.choice(_REGION_TAILS)
        name = stem + tail if tail and not stem.endswith(tail) else stem
        if rng.random() < 0.12:
            name = f"{rng.choice(_DIRECTIONS)} {name}"
        return name

    def entry_name(
        self, templates: tuple[str, ...], rng: random.Random | None = None
    ) -> tuple[str, tuple[str, ...]]:
        """A unique name (and its real variants) from kind templates ("{S}", "Lake {S}")."""
        rng = rng or self.rng
        for _ in range(1_000):
            forms = rng.choice(templates).split("|")
            stem = make_stem(rng, STYLES[self.style])
            given = make_stem(rng, STYLES["given"]) if "{G}" in forms[0] else ""
            cores = set().union(*(core_keys(f, stem) for f in forms))
            if cores.isdisjoint(self.used):
                self.used |= cores
                names = tuple(fill(f, stem, given) for f in forms)
                return names[0], names[1:]
        raise RuntimeError("ran out of names")

    # -- groups -------------------------------------------------------------------------------

    def group(self, name: str, facet: int = 0, parent: int | None = None, aka=()) -> int:
        depth = 1 if parent is None else self.groups[parent].depth + 1
        self.groups.append(Group(name, tuple(aka), facet, parent, depth))
        up = self.appeal[parent] if parent is not None else 1.0
        self.appeal.append(up * self.rng.lognormvariate(0.0, 0.6))
        return len(self.groups) - 1

    def long_tail(self, total: int, parts: int, alpha: float) -> list[int]:
        """Sizes of `parts` groups summing to about `total`: Pareto, a few big, many tiny."""
        raw = [self.rng.paretovariate(alpha) for _ in range(parts)]
        scale = total / sum(raw)
        return [max(1, round(r * scale)) for r in raw]

    # -- shapes -------------------------------------------------------------------------------

    def build(self) -> Universe:
        return getattr(self, f"_{self.shape}")()

    def _groups(self) -> Universe:
        rng = self.rng
        world = self.region_name()
        n = rng.randint(100, 400)
        sizes = self.long_tail(rng.randint(2_000, 5_000), n, rng.uniform(1.0, 1.4))
        rows = []
        for size in sizes:
            country = self.region_name()
            noun = rng.choice(_ADMIN)
            g = self.group(country, aka=(f"Subdivisions of {country}", f"{noun}s of {country}"))
            rows += [(g, (g,), noun, country)] * size
        topic = f"Subdivisions of the countries of {world}"
        return self.finish(topic, rows, [("Subdivisions", "subdivision", ("{S}",))])

    def _crossed(self) -> Universe:
        rng = self.rng
        world = self.region_name()
        kinds = rng.sample(_ADMIN, rng.randint(4, 10))
        kind_weight = sorted((rng.paretovariate(1.2) for _ in kinds), reverse=True)
        kind_groups = [self.group(f"{k}s", facet=1, aka=(f"{k}s of {world}",)) for k in kinds]
        rows = []
        for _ in range(rng.randint(4, 7)):
            continent = self.group(self.region_name())
            n = rng.randint(6, 50)
            sizes = self.long_tail(rng.randint(300, 1_000), n, rng.uniform(1.1, 1.6))
            for size in sizes:
                country = self.region_name()
                g = self.group(country, parent=continent, aka=(f"Divisions of {country}",))
                used = rng.choices(range(len(kinds)), kind_weight, k=rng.randint(1, 3))
                for _ in range(size):
                    k = rng.choice(used)
                    rows.append((g, (g, kind_groups[k]), kinds[k], country))
        topic = f"Local government areas of {world}"
        return self.finish(topic, rows, [("Areas", "area", ("{S}",))])

    def _tree(self) -> Universe:
        rng = self.rng
        world = self.region_name()
        genre = GENRES[0]  # places: names carry their kind ("Lake {S}", "{S} Castle")
        kinds = rng.sample(genre.kinds, rng.randint(4, 8))
        styles = [(k.name, k.noun, k.templates) for k in kinds]
        rows = []
        for _ in range(rng.randint(4, 8)):
            top = self.group(self.region_name())
            for _ in range(rng.randint(3, 10)):
                mid = self.group(self.region_name(), parent=top)
                sizes = self.long_tail(rng.randint(40, 300), rng.randint(2, 8), 1.3)
                for size in sizes:
                    leaf = self.group(self.region_name(), parent=mid)
                    where = self.groups[mid].name
                    rows += [(leaf, (leaf,), "", where, rng.randrange(len(kinds)))] * size
        topic = f"Places of interest in {world}"
        return self.finish(topic, rows, styles)

    def _flat(self) -> Universe:
        rng = self.rng
        world = self.region_name()
        noun = rng.choice(_FLAT_NOUNS)
        kinds = rng.sample(_FLAT_KINDS, rng.randint(3, 6))
        weights = [0.85] + [0.15 * rng.random() for _ in kinds[1:]]
        groups = [self.group(f"{k} {noun}s", aka=(f"{k} {noun}s of {world}",)) for k in kinds]
        rows = []
        for _ in range(rng.randint(5_000, 8_000)):
            k = rng.choices(range(len(kinds)), weights)[0]
            rows.append((groups[k], (groups[k],), noun, ""))
        topic = f"{noun.capitalize()}s of {world}"
        return self.finish(topic, rows, [(f"{noun.capitalize()}s", noun, ("{S}",))])

    def _small(self) -> Universe:
        rng = self.rng
        world = self.region_name()
        genre = GENRES[0]
        kinds = rng.sample(genre.kinds, rng.randint(5, 12))
        sizes = self.long_tail(rng.randint(60, 300), len(kinds), 1.5)
        rows = []
        styles = [(k.name, k.noun, k.templates) for k in kinds]
        for k, (kind, size) in enumerate(zip(kinds, sizes, strict=True)):
            g = self.group(kind.name, aka=kind.aka)
            rows += [(g, (g,), "", "", k)] * size
        topic = f"Sights of {world}"
        return self.finish(topic, rows, styles)

    # -- entries ------------------------------------------------------------------------------

    def finish(
        self, topic: str, rows: list[tuple], styles: list[tuple[str, str, tuple[str, ...]]]
    ) -> Universe:
        """Name and rank the entries of `rows` ((group, leaves, kind noun, where[, style]))."""
        rng = self.rng
        made = []
        for row in rows:
            g, leaves, noun, where = row[:4]
            style = row[4] if len(row) > 4 else 0
            name, variants = self.entry_name(styles[style][2])
            score = rng.expovariate(self.appeal[g])
            made.append((score, name, variants, leaves, noun, where, style))
        made.sort(key=lambda t: t[0])
        # Some entries have another name of their own ("Burma" for "Myanmar"), drawn apart so
        # that the rest of the world is what it was before they existed.
        others = random.Random(text_seed(f"others|{topic}"))
        share = others.uniform(0.02, 0.08)
        top = {g: grp for g, grp in enumerate(self.groups) if grp.depth == 1}
        entries, entry_groups, nouns, wheres, style_of = [], [], [], [], []
        for r, (_, name, variants, leaves, noun, where, style) in enumerate(made):
            head = leaves[0]
            while self.groups[head].parent is not None:
                head = self.groups[head].parent
            other: tuple[str, ...] = ()
            if others.random() < share:
                other = (self.entry_name(styles[style][2], others)[0],)
            entries.append(UEntry(name, variants, top[head].name, r + 1, other))
            entry_groups.append(leaves)
            nouns.append(noun)
            wheres.append(where)
            style_of.append(style)
        return Universe(
            topic,
            [s[0] for s in styles],
            entries,
            real=False,
            aka=[() for _ in styles],
            nouns=[(s[1],) for s in styles],
            invent=[s[2] for s in styles],
            styles=[self.style] * len(styles),
            paren=(),
            cores=self.used - KIND_WORDS,
            groups=self.groups,
            entry_groups=entry_groups,
            style_of=style_of,
            kind_noun=nouns,
            where=wheres,
        )
