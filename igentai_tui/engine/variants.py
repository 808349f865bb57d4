"""Variant folding learned from the run: "Harare Province" = "Harare", "Province of Harare".

The exact key folds spelling; it cannot know that "Province" in "Harare Province" is a kind
word of this topic (a variant of "Harare") while "South" in "South Sudan" is part of a name.
Both are affixes: a word before or after a name that is also an entry ("X Province", "Province
of X", "South X"). Each pair of entries that differ by one affix is a question ("do these name
the same thing?") that verification asks the model; each answer is evidence about that affix.
An affix the answers call the same `LEARN` times (and almost never different) folds on sight
from then on; one they call different is never asked about again. An affix is a word in its
place: "Museum" after a name ("Louvre Museum") is learned apart from "Museum of" before one
("Museum of London" is not London). No word list: what folds is what this run's answers
taught, on this topic.

Plain data and decisions; the orchestrator holds the lock.
"""

from __future__ import annotations

from dataclasses import dataclass

LEARN = 3  # answers that settle an affix (all of one kind, or nearly)
LEARN_NOISE = 0.1  # share of contrary answers an affix may have and still be settled
MAX_INDEXED = 100_000  # entries indexed (memory stays bounded); later ones are not paired


@dataclass(frozen=True, slots=True)
class Pair:
    """Two entries whose keys differ by an affix: `variant` (the newer) and `entry`."""

    variant: int
    entry: int
    affix: str  # "sfx province", "of province", "pfx south"


def affixed(key: str) -> list[tuple[str, str]]:
    """(bare key, affix) for each way `key` is an affix around a shorter name: "harare
    province" -> ("harare", "sfx province"); "province of harare" -> ("harare", "of
    province"), also ("of harare", "pfx province")."""
    tokens = key.split()
    if len(tokens) < 2:
        return []
    out = [
        (" ".join(tokens[:-1]), f"sfx {tokens[-1]}"),
        (" ".join(tokens[1:]), f"pfx {tokens[0]}"),
    ]
    if len(tokens) >= 3 and tokens[1] == "of":
        rest = tokens[3:] if tokens[2] == "the" and len(tokens) > 3 else tokens[2:]
        out.append((" ".join(rest), f"of {tokens[0]}"))
    return out


def _word(affix: str) -> str:
    return affix.partition(" ")[2]


class Variants:
    """Every entry's key, the entries each bare name has around it, and what each affix has
    been found to mean."""

    def __init__(self) -> None:
        self._keys: dict[str, int] = {}  # key -> entry id
        self._around: dict[str, list[tuple[int, str]]] = {}  # bare key -> (entry id, affix)
        self.answers: dict[str, list[int]] = {}  # affix -> [same, different]

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, entry: int, key: str) -> list[Pair]:
        """Index a new entry; return the pairs it makes with entries already known."""
        if key in self._keys or len(self._keys) >= MAX_INDEXED:
            return []
        pairs: list[Pair] = []
        for other, affix in self._around.get(key, ()):  # it is the bare name of others
            pairs.append(Pair(entry, other, affix))
        for bare, affix in affixed(key):
            bare_id = self._keys.get(bare)
            if bare_id is not None:  # another entry is its bare name
                pairs.append(Pair(entry, bare_id, affix))
            for o, a in self._around.get(bare, ()):  # "Province of X" and "X Province"
                if _word(a) == _word(affix) and o != entry:
                    pairs.append(Pair(entry, o, affix))
            self._around.setdefault(bare, []).append((entry, affix))
        self._keys[key] = entry
        return pairs

    def decide(self, affix: str) -> str:
        """ "same", "different", or "ask": what the run's answers say of an affix so far."""
        same, different = self.answers.get(affix, (0, 0))
        total = same + different
        if same >= LEARN and different <= LEARN_NOISE * total:
            return "same"
        if different >= LEARN and same <= LEARN_NOISE * total:
            return "different"
        return "ask"

    def learn(self, affix: str, same: bool) -> None:
        """Count one answer about a pair that differs by `affix`."""
        counts = self.answers.setdefault(affix, [0, 0])
        counts[0 if same else 1] += 1
