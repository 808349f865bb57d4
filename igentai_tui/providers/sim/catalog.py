"""Which universes exist: the topics shipped with real entries (data/*.json), and synthetic
ones made up from a topic's words, each built once and cached."""

from __future__ import annotations

import gc
import json
import math
import random
import threading
from functools import cache
from pathlib import Path

from .names import GENRES, KIND_WORDS, STYLES, Kind, core_keys, fill, make_stem, pick_genre
from .text import fold, text_seed, word_set
from .universe import MAX_SIZE, MIN_SIZE, SIZE_HINT, UEntry, Universe

DATA_DIR = Path(__file__).with_name("data")

# -- real topics --------------------------------------------------------------------------------


@cache
def _real_index() -> dict[frozenset[str], Path]:
    out: dict[frozenset[str], Path] = {}
    for path in sorted(DATA_DIR.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for name in (doc["topic"], *doc.get("aliases", [])):
            out[word_set(name)] = path
    return out


def real_topics() -> list[str]:
    """The topics shipped with real entries."""
    paths = sorted(set(_real_index().values()))
    return [json.loads(p.read_text(encoding="utf-8"))["topic"] for p in paths]


def load_real(path: Path) -> Universe:
    """Read one shipped topic. "top" lists the most popular entries in order; the rest are
    ranked by their place in their subtopic's list (most popular first) and its weight."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    scored: list[tuple[float, int, int, str, tuple[str, ...], str]] = []
    subs, aka, nouns, invent, styles = [], [], [], [], []
    style = doc.get("style", "english")
    for j, sub in enumerate(doc["subtopics"]):
        subs.append(sub["name"])
        aka.append(tuple(sub.get("aka", ())))
        nouns.append(tuple(sub.get("desc", ())))
        invent.append(tuple(sub.get("invent", doc.get("invent", ["{S}"]))))
        styles.append(sub.get("style", style))
        weight = float(sub.get("weight", 1.0))
        for k, line in enumerate(sub["entries"]):
            forms = [f.strip() for f in line.split("|")]
            score = (k + 1) / weight**1.5
            scored.append((score, j, k, forms[0], tuple(forms[1:]), sub["name"]))
    top = {name: r for r, name in enumerate(doc.get("top", []))}  # the head, hand-ranked
    scored.sort(key=lambda t: (t[3] not in top, top.get(t[3], 0), t[0], t[1], t[2]))
    entries = [UEntry(name, var, sub, r + 1) for r, (_, _, _, name, var, sub) in enumerate(scored)]
    return Universe(
        doc["topic"],
        subs,
        entries,
        real=True,
        aka=aka,
        nouns=nouns,
        invent=invent,
        styles=styles,
        paren=tuple(doc.get("paren", ())),
    )


# -- synthetic topics ---------------------------------------------------------------------------


def _sizes(rng: random.Random, total: int, parts: int) -> list[int]:
    weights = [rng.lognormvariate(0.0, 0.8) for _ in range(parts)]
    scale = sum(weights)
    floor = max(1, min(3, total // parts))
    sizes = [max(floor, int(total * w / scale)) for w in weights]
    diff = total - sum(sizes)
    while diff != 0:
        big = max(range(parts), key=sizes.__getitem__)
        step = diff if diff > 0 else -min(-diff, sizes[big] - floor)
        sizes[big] += step
        diff -= step
    return sizes


def _pick_kinds(
    rng: random.Random, topic_words: frozenset[str], count: int, exact: bool
) -> list[tuple[str, Kind, tuple[str, ...]]]:
    """Subtopic kinds for a topic: the kinds it names ("castles", "enzymes") and qualified
    versions of them first ("Northern castles"), then others from its genre. Unless `exact`,
    a topic that names kinds keeps to about ten subtopics."""
    genre = pick_genre(topic_words, rng)
    pool = [(k, g.qualifiers) for g in GENRES for k in g.kinds if genre is None or g is genre]

    def names_it(kind: Kind) -> bool:
        return any(word_set(n) & topic_words for n in (kind.name, *kind.aka))

    named = [p for p in pool if names_it(p[0])]
    rest = [p for p in pool if p not in named]
    rng.shuffle(named)
    rng.shuffle(rest)
    out: list[tuple[str, Kind, tuple[str, ...]]] = []

    def qualified(kinds: list[tuple[Kind, tuple[str, ...]]], target: int) -> None:
        taken = {name for name, _, _ in out}
        pairs = [
            (q, k) for k, quals in kinds for q in quals if f"{q} {k.name.lower()}" not in taken
        ]
        for q, k in rng.sample(pairs, max(0, min(target - len(out), len(pairs)))):
            out.append((f"{q} {k.name.lower()}", k, tuple(f"{q} {a.lower()}" for a in k.aka)))

    out += [(k.name, k, k.aka) for k, _ in named[:count]]
    qualified(named, count)
    target = count if exact or not named else min(count, max(10, len(out)))
    out += [(k.name, k, k.aka) for k, _ in rest[: max(0, target - len(out))]]
    qualified(pool, target)
    return out


def _build_synthetic(topic: str, size: int | None, n_subtopics: int | None) -> Universe:
    base = " ".join(topic.split())
    rng = random.Random(text_seed(fold(base)))
    if size is None:
        size = int(math.exp(rng.uniform(math.log(1_500), math.log(8_000))))
    size = max(MIN_SIZE, min(MAX_SIZE, size))
    exact = n_subtopics is not None
    if n_subtopics is None:
        n_subtopics = rng.randint(10, 40)
    n_subtopics = max(1, min(n_subtopics, size // 2, 200))
    kinds = _pick_kinds(rng, word_set(base), n_subtopics, exact)
    sizes = _sizes(rng, size, len(kinds))
    used: set[str] = set(KIND_WORDS)
    made: list[tuple[float, str, tuple[str, ...], str]] = []
    for (name, kind, _), n in zip(kinds, sizes, strict=True):
        style = STYLES[kind.style]
        appeal = rng.lognormvariate(0.0, 0.5)
        groups = [g.split("|") for g in kind.templates]
        for _ in range(n):
            for _attempt in range(1_000):
                forms = rng.choice(groups)
                stem = make_stem(rng, style)
                given = make_stem(rng, STYLES["given"]) if "{G}" in forms[0] else ""
                cores = set().union(*(core_keys(f, stem) for f in forms))
                if cores.isdisjoint(used):
                    break
            used |= cores
            names = tuple(fill(f, stem, given) for f in forms)
            made.append((rng.expovariate(appeal), names[0], names[1:], name))
    made.sort(key=lambda t: t[0])
    entries = [UEntry(n, v, s, r + 1) for r, (_, n, v, s) in enumerate(made)]
    return Universe(
        base,
        [name for name, _, _ in kinds],
        entries,
        real=False,
        aka=[aka or (f"Notable {name.lower()}",) for name, _, aka in kinds],
        nouns=[(k.noun,) for _, k, _ in kinds],
        invent=[k.templates for _, k, _ in kinds],
        styles=[k.style for _, k, _ in kinds],
        paren=(SIZE_HINT.sub("", base).strip(),),
        cores=used - KIND_WORDS,
    )


_CACHE: dict[tuple[str, int | None, int | None], Universe] = {}
_CACHE_LOCK = threading.Lock()


def synthetic_universe(
    topic: str, size: int | None = None, n_subtopics: int | None = None
) -> Universe:
    """A made-up universe for `topic`: `size` entries (default 1,500-8,000 from the topic's
    hash) in `n_subtopics` subtopics (default 10-40). Same arguments, same universe."""
    key = (fold(topic), size, n_subtopics)
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is None:
            if len(_CACHE) > 64:
                _CACHE.clear()
            found = _CACHE[key] = _build_synthetic(topic, size, n_subtopics)
            # A universe never changes once built, and a large one is millions of objects:
            # moved out of the garbage collector's sight, it no longer lengthens every full
            # collection (seconds at 1M entries, during which nothing else runs).
            gc.freeze()
    return found


@cache
def _real(path: Path) -> Universe:
    return load_real(path)


def real_universe(topic: str) -> Universe | None:
    """The shipped universe whose topic matches `topic` (tolerantly), or None."""
    path = _real_index().get(word_set(topic))
    return None if path is None else _real(path)
