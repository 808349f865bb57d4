"""Variant folding learned from the run: "Harare Province" = "Harare", "Province of Harare".

The exact key folds spelling; it cannot know that "Province" in "Harare Province" is a kind
word of this topic (a variant of "Harare") while "South" in "South Sudan" is part of a name.
Both are *frames*: words before or after a name ("X Province", "Province of X", "South X",
"X, Upper Valley"). Two entries whose keys are one name in two frames (one may be the bare
name) are a question ("do these name the same thing?") that verification asks the model; each
answer is evidence about that pair of frames. A pair of frames the answers call the same
`LEARN` times (and almost never different) folds on sight from then on; one they call different
is never asked about again. A frame is words in their place: "Museum" after a name ("Louvre
Museum") is learned apart from "Museum of" before one ("Museum of London" is not London), and
"X Light" against "X Lighthouse" apart from "X Light" against "X". No word list: what folds is
what this run's answers taught, on this topic.

Plain data and decisions; the orchestrator holds the lock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

LEARN = 3  # answers that settle a pair of frames (all of one kind, or nearly)
LEARN_NOISE = 0.1  # share of contrary answers a pair of frames may have and still be settled
MAX_INDEXED = 100_000  # entries indexed (memory stays bounded); later ones are not paired
FRAME_WORDS = 2  # the most words a frame has ("X, Upper Valley")
CORE_MAX = 6  # frames a name is seen in before it counts as a common word, not a name
FRAME_MIN = 3  # entries a frame is seen in before it is asked about against another frame


@dataclass(frozen=True, slots=True)
class Pair:
    """Two entries whose keys are one name in two frames: `variant` (the newer) and `entry`."""

    variant: int
    entry: int
    affix: str  # what answers teach: "sfx province", "of province", "sfx light | sfx lighthouse"


def affixed(key: str) -> list[tuple[str, str]]:
    """(name, frame) for each way `key` is a frame around a shorter name: "harare province"
    -> ("harare", "sfx province"), ("province", "pfx harare"); "province of harare" -> also
    ("harare", "of province"); frames of up to `FRAME_WORDS` words, one-word frames first."""
    tokens = key.split()
    out: list[tuple[str, str]] = []
    for k in range(1, min(FRAME_WORDS, len(tokens) - 1) + 1):
        out.append((" ".join(tokens[:-k]), "sfx " + " ".join(tokens[-k:])))
        out.append((" ".join(tokens[k:]), "pfx " + " ".join(tokens[:k])))
        if k == 1 and len(tokens) >= 3 and tokens[1] == "of":
            rest = tokens[3:] if tokens[2] == "the" and len(tokens) > 3 else tokens[2:]
            out.append((" ".join(rest), f"of {tokens[0]}"))
    return out


def _word(frame: str) -> str:
    return frame.partition(" ")[2]


def _label(new: str, old: str) -> str:
    """What a pair of frames teaches: against the bare name, the frame ("sfx province"); one
    word in two places, the newer's ("Province of X" against "X Province"); else both."""
    if not old or (new and _word(new) == _word(old)):
        return new
    return " | ".join(sorted((new, old))) if new else old


class Variants:
    """Every entry's key, the frames each name is seen in, and what each pair of frames has
    been found to mean."""

    def __init__(self) -> None:
        self._keys: dict[str, int] = {}  # key -> entry id
        self._names: dict[str, list[tuple[int, str]]] = {}  # name -> (entry id, frame); "" bare
        self._frames: Counter[str] = Counter()  # frame -> entries seen in it
        self._others: dict[str, int] = {}  # key of another name of an entry -> entry id
        self.answers: dict[str, list[int]] = {}  # affix -> [same, different]

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, entry: int, key: str) -> list[Pair]:
        """Index a new entry; return the pairs it makes with entries already known: the same
        name bare or in another frame. A name seen in `CORE_MAX` frames is a common word
        ("Gallery" in "X Gallery"), not a name: it pairs nothing more."""
        if key in self._keys or len(self._keys) >= MAX_INDEXED:
            return []
        pairs: list[Pair] = []
        done: set[str] = set()
        for name, frame in [(key, ""), *affixed(key)]:
            self._frames[frame] += 1
            seen = self._names.setdefault(name, [])
            if len(seen) >= CORE_MAX or name in done:  # "Province of X": "of", not "pfx"
                continue
            done.add(name)
            for other, f in seen:
                label = _label(frame, f)
                # Two frames, neither bare, make a question only if both recur: "X Light" /
                # "X Lighthouse", not "Apollo 11" / "Apollo 13" nor "Lalen Gallery" / "Beora
                # Gallery".
                rare = " | " in label and min(self._frames[f], self._frames[frame]) < FRAME_MIN
                if f != frame and not rare:
                    pairs.append(Pair(entry, other, label))
            seen.append((entry, frame))
        self._keys[key] = entry
        return pairs

    def sharing(self, name: str) -> list[int]:
        """The entries whose key is `name`, bare or in a frame ("georgia" -> "Georgia", "Georgia
        (U.S. state)", "Georgia Aquarium")."""
        return [entry for entry, _ in self._names.get(name, ())]

    def other_name(self, entry: int, key: str) -> int | None:
        """A verifier said `key` is the better-known name of `entry`: the entry that already
        has that key, or None (then an entry with that key, when it comes, is `entry`'s)."""
        known = self._keys.get(key)
        if known is None:
            self._others.setdefault(key, entry)
        return known

    def named(self, key: str) -> int | None:
        """The entry that a verifier said `key` names (see `other_name`), or None."""
        return self._others.get(key)

    def restore(
        self, answers: Iterable[tuple[str, int, int]], others: Iterable[tuple[str, int]]
    ) -> None:
        """What a resumed run's answers had taught: (frames, same, different) counts and
        (key of another name, entry id)."""
        for frames, same, different in answers:
            self.answers[frames] = [same, different]
        for key, entry in others:
            self._others.setdefault(key, entry)

    def decide(self, affix: str) -> str:
        """ "same", "different", or "ask": what the run's answers say of a pair of frames."""
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
