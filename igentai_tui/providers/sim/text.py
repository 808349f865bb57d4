"""Small text helpers shared by the sim: folding keys, word sets, first letters."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_STOP_WORDS = (
    "a an and or the of in on at for to with from by other others famous notable well "
    "known popular major various type types kind kinds list lists entries entry best top "
    "all some more related"
)
_STOP = frozenset(_STOP_WORDS.split())


def strip_accents(text: str) -> str:
    """Drop combining marks ("Musée" -> "Musee")."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """A case-, accent- and punctuation-insensitive key; a leading "the" is dropped."""
    key = _NON_ALNUM.sub(" ", strip_accents(text).casefold()).strip()
    if key.startswith("the "):
        key = key[4:]
    return key


def singular(word: str) -> str:
    """A crude English singular, good enough to compare topic and category words."""
    if len(word) <= 3 or word.endswith("ss"):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def word_set(text: str) -> frozenset[str]:
    """The meaningful words of a phrase, folded and singular, without filler words."""
    return frozenset(singular(w) for w in fold(text).split() if w not in _STOP)


def first_letter(name: str) -> str:
    """The upper-case first letter or digit of a name, accents folded ("Île" -> "I")."""
    key = _NON_ALNUM.sub("", strip_accents(name).casefold())
    return key[:1].upper()


def text_seed(text: str) -> int:
    """A stable 64-bit number from a text (the same on every machine and run)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
