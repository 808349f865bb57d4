"""Candidate -> (display text, exact key, near-duplicate signature).

`forms` gives each candidate three forms:
- `text`, its best form for display: markup and any trailing description removed, casing and
  accents kept ("Musée du Louvre");
- `key`, the exact uniqueness key: folded case, accents, punctuation, articles, abbreviations;
- `loose`, a signature derived from the key (plurals folded, generic words and connectors
  dropped, tokens sorted): equal signatures count as the same entry.
Both are single strings in indexed columns, so a lookup never scans. See docs/uniqueness.md.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from igentai_tui.engine.parsing import MAX_ENTRY_CHARS, PLAIN_ENTRY, clean_item, unwrap


class Forms(NamedTuple):
    """The forms of one entry (a named tuple: made once per candidate, so cheap to make)."""

    text: str  # best form for storage and display
    key: str  # exact uniqueness key (UNIQUE index)
    loose: str  # near-duplicate signature (indexed); equal signatures mean the same entry


def _words(s: str) -> frozenset[str]:
    return frozenset(s.split())


# -- trailing descriptions -------------------------------------------------------------------

# A dash with spaces around it (any of - – — ―, or --) or an unspaced em dash; a colon or a
# comma followed by a space. What follows is a description only if it does not look like a
# title (see _titlelike).
_DASH = re.compile(r"\s+(?:--|[-–—―])\s+|—")
_COLON = re.compile(r":\s+")
_COMMA = re.compile(r",\s+")
_DESCRIPTION_HINT = frozenset("-–—―:,)]}")
_DASHES = frozenset("-–—―")
_OPENERS = frozenset("([{")
_CLOSERS = frozenset(")]}")
_SMALL_WORDS = _words(
    "a an the and or nor but of in on at to for by with from as into vs v de du des la le les "
    "el del di da von van part"
)
_WORD = re.compile(r"[^\W\d_][\w'’-]*|\d[\w'’-]*")


def _titlelike(tail: str) -> bool:
    """True when `tail` reads as part of a name ("A New Hope", "Rogue Nation", "Part 2").

    Every significant word starts with a capital (or a digit), and
    the tail (at most 12 words) does not end like a sentence.
    """
    words = _WORD.findall(tail)
    if not words or len(words) > 12 or tail.rstrip().endswith((".", "!", "?")):
        return False
    significant = [w for w in words if w.casefold() not in _SMALL_WORDS]
    return bool(significant) and not any(w[0].islower() for w in significant)


def _cut(text: str, pattern: re.Pattern[str], *, lower_only: bool) -> str:
    """`text` cut at the first `pattern` match followed by a description.

    With `lower_only`, only a tail starting with a lowercase letter is a description;
    otherwise any tail that does not look like a title is.
    """
    for m in pattern.finditer(text):
        if m.start() == 0:
            continue
        if lower_only:
            first = text[m.end() : m.end() + 1]
            described = not first or first.islower()
        else:
            described = not _titlelike(text[m.end() :])
        if described:
            return text[: m.start()].rstrip()
    return text


# A short bracketed qualifier tells entries apart as often as it describes one: "King Kong
# (1933)" / "King Kong (2005)", "Georgia (country)" / "Georgia (U.S. state)", "Punjab (India)" /
# "Punjab (Pakistan)". One of at most `QUALIFIER_WORDS` words is kept in the text and the key;
# against the bare name it is a frame the run's verification answers decide (variants.py):
# "Louvre (Paris)" / "Louvre" is asked until "(Paris)" is learned to fold. A longer group is a
# description ("Louvre (the world's largest art museum)") and goes.
QUALIFIER_WORDS = 2
_NUMBER_GROUP = re.compile(r"[(\[]\d{1,4}s?[)\]]")  # "(1933)", "[1990s]": shown as written


def _group_start(text: str) -> int | None:
    """Where the final bracketed group of `text` opens, if `text` ends in one."""
    if text[-1:] not in _CLOSERS:
        return None
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        ch = text[i]
        if ch in _CLOSERS:
            depth += 1
        elif ch in _OPENERS:
            depth -= 1
            if depth == 0:
                return i
    return None


def _qualifier(inner: str) -> bool:
    if len(inner.split()) > QUALIFIER_WORDS or not _OPENERS.isdisjoint(inner):
        return False
    return 0 < len(key_of(inner).split()) <= QUALIFIER_WORDS  # "must-see museum" is three


def _without_trailing_group(text: str) -> str:
    """`text` without a final bracketed group ("Louvre (the largest museum)" -> "Louvre"), if
    text remains and the group is not a short qualifier ("King Kong (1933)", "Georgia
    (country)" are kept)."""
    i = _group_start(text)
    if i is None or _qualifier(text[i + 1 : -1]):
        return text
    return text[:i].rstrip() or text


def without_qualifier(text: str) -> str:
    """An entry's text without its bracketed qualifier: "Georgia (country)" -> "Georgia"; a
    number ("King Kong (1933)") and other texts as they are. How output.txt shows an entry that
    no other entry shares its name with."""
    i = _group_start(text)
    if i is None or not _qualifier(text[i + 1 : -1]) or _NUMBER_GROUP.fullmatch(text, i):
        return text
    return text[:i].rstrip() or text


def strip_description(text: str) -> str:
    """`text` without a trailing description.

    "Louvre - art museum", "Louvre (Paris)", "Louvre: the largest museum", "Louvre, a museum"
    all give "Louvre"; "Spider-Man", "Star Wars: A New Hope", "Paris, Texas" are kept.
    """
    if _DESCRIPTION_HINT.isdisjoint(text):
        return text
    for _ in range(4):
        before = text
        if not _DASHES.isdisjoint(text):
            text = _cut(text, _DASH, lower_only=False)
        if text[-1:] in _CLOSERS:
            text = _without_trailing_group(text)
        if ":" in text:
            text = _cut(text, _COLON, lower_only=False)
        if "," in text:
            text = _cut(text, _COMMA, lower_only=True)
        text = text.rstrip(" -–—:,;")
        if text == before:
            break
    return text


# -- the key ---------------------------------------------------------------------------------

# Accents: combining marks of the generic blocks (Latin, Greek, Cyrillic diacritics). Marks of
# other scripts (Devanagari vowel signs, kana voicing...) carry meaning and are kept.
_ACCENTS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_LETTERS = {
    "æ": "ae", "ø": "o", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i",
    "ħ": "h", "ŧ": "t", "ŀ": "l", "ĸ": "k", "ŋ": "n", "ƒ": "f", "ȷ": "j", "ß": "ss",
}  # fmt: skip
_APOSTROPHES = "'’‘ʼ`´′"
_FOLD_CACHE_LIMIT = 20_000


def _fold_char(ch: str) -> str:
    """One character's contribution to a key: case and accents folded, punctuation a space."""
    if ch in _APOSTROPHES:
        return ""
    out = []
    for c in _ACCENTS.sub("", unicodedata.normalize("NFKD", ch.casefold())):
        out.append(" " if unicodedata.category(c)[0] in "PSZC" else _LETTERS.get(c, c))
    return unicodedata.normalize("NFC", "".join(out))


class _FoldTable(dict[int, str | None]):
    """A `str.translate` table computed (and cached) one code point at a time."""

    def __missing__(self, cp: int) -> str:
        out = _fold_char(chr(cp))
        if len(self) < _FOLD_CACHE_LIMIT:
            self[cp] = out
        return out


_FOLD = _FoldTable()
# ASCII maps to one ASCII character (or None) so str.translate keeps its fast path.
_FOLD.update({cp: (None if chr(cp) in _APOSTROPHES else _fold_char(chr(cp))) for cp in range(128)})

# A leading English article, or an elided French/Italian one ("L'Arc de Triomphe"). Foreign
# articles written out are kept: "La Paz", "El Salvador", "Le Mans" are names.
_ARTICLE = re.compile(r"(?:the|an?)\s+(?=\S)|l['’ʼ](?=\w)", re.I)
_ELISION = re.compile(r"(?<!\w)(l|d|dell|qu)['’ʼ](?=\w)", re.I)
_ELISIONS = {"l": "le ", "d": "de ", "dell": "della ", "qu": "que "}
_POSSESSIVE = re.compile(r"['’ʼ]s\b", re.I)
_SHARP = re.compile(r"(?<=[A-Za-z])#(?!\w)")
_HAS_APOSTROPHE = frozenset("'’ʼ")
# Abbreviations expanded when a word follows them ("St Louis", "Mt Fuji", "Ft Worth"); a
# final "St" is a street ("Wall St").
_BEFORE_NAME = {"st": "saint", "ste": "sainte", "mt": "mount", "ft": "fort"}
_FINAL = {"st": "street"}
_ABBREVIATIONS = frozenset(_BEFORE_NAME) | frozenset(_FINAL)


def _elide(m: re.Match[str]) -> str:
    return _ELISIONS[m.group(1).casefold()]


def _merge_initials(tokens: list[str]) -> list[str]:
    """Runs of single letters become one token: "u s a" -> "usa", "j r r" -> "jrr"."""
    out: list[str] = []
    run = ""
    for t in tokens:
        if len(t) == 1 and t.isalpha():
            run += t
            continue
        if run:
            out.append(run)
            run = ""
        out.append(t)
    if run:
        out.append(run)
    return out


def _expand_abbreviations(tokens: list[str]) -> None:
    last = len(tokens) - 1
    for i, t in enumerate(tokens):
        if i < last and t in _BEFORE_NAME:
            tokens[i] = _BEFORE_NAME[t]
        elif i == last and t in _FINAL:
            tokens[i] = _FINAL[t]


# Cyrillic and Greek letters that look like Latin ones, case-folded (uppercase spoofs such as
# Cyrillic "В" for "B" fold to "в" first). Only a token that also holds a Latin letter is mapped:
# "Lоuvre" with a Cyrillic "о" is "louvre", while a word in one script ("Сок", "Москва") is
# left alone, so no real Cyrillic or Greek entry merges with a Latin one.
_CONFUSABLE = str.maketrans(
    "авекмнорстухѕіјԁһԛԝӏѵүαβεηικνορτυχζ",
    "abekmhopctyxsijdhqwlvyabenikvoptuxz",
)
_LATIN_LETTER = re.compile("[a-z]")


def _unconfuse(token: str) -> str:
    """`token` with look-alike Cyrillic/Greek letters made Latin, when it mixes scripts."""
    if token.isascii() or not _LATIN_LETTER.search(token):
        return token
    return token.translate(_CONFUSABLE)


def key_of(text: str) -> str:
    """The exact uniqueness key of an entry's text. Deterministic; "" when nothing is left.

    Steps: NFKC; a leading "the"/"a"/"an"/"l'" dropped; elisions expanded (l' -> le, d' -> de);
    possessive 's dropped; C# -> "c sharp", & -> "and", + -> "plus"; case folded; accents
    folded (also æ ø œ ł đ þ ß...); apostrophes removed; other punctuation and symbols -> space;
    Cyrillic/Greek look-alikes in a token that mixes them with Latin letters made Latin
    ("Lоuvre" with a Cyrillic о -> "louvre"); runs of single letters joined ("U.S.A." ->
    "usa"); St/Ste/Mt/Ft before a word -> saint, sainte, mount, fort, a final St -> street;
    whitespace collapsed.
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text.replace("™", ""))
    m = _ARTICLE.match(text)
    if m:
        text = text[m.end() :]
    if not _HAS_APOSTROPHE.isdisjoint(text):
        text = _POSSESSIVE.sub("", _ELISION.sub(_elide, text))
    if "#" in text:
        text = _SHARP.sub(" sharp", text)
    if "&" in text:
        text = text.replace("&", " and ")
    if "+" in text:
        text = text.replace("+", " plus ")
    tokens = text.translate(_FOLD).split()
    if not text.isascii():
        tokens = [_unconfuse(t) for t in tokens]
    return _joined(tokens)


def _joined(tokens: list[str]) -> str:
    """The key made of folded tokens: initials merged, abbreviations expanded."""
    if not tokens:
        return ""
    if len(tokens) > 1:
        if min(map(len, tokens)) == 1:
            tokens = _merge_initials(tokens)
        if not _ABBREVIATIONS.isdisjoint(tokens):
            _expand_abbreviations(tokens)
    return " ".join(tokens)


# -- the loose signature ---------------------------------------------------------------------

# Connectors are dropped unless they start the key: "Statue of Liberty" ~ "Liberty Statue", but
# "El Salvador", "La Paz", "De Niro" keep their first word.
_CONNECTORS = _words("the of and de du des del della delle dei degli di da la le les el il alla")
_FOREIGN_OF = _words("de du des del della delle dei degli di da")
# Generic head nouns, dropped at the end ("Louvre Museum"), or at the start when foreign
# ("Musée Rodin") or before a foreign connector ("Galleria degli Uffizi"); "Museum of London"
# keeps its "museum".
_FOREIGN_GENERIC = _words("musee museo museu muzeum galleria galerie")
_GENERIC = _FOREIGN_GENERIC | {"museum", "gallery"}
# Too vague to stand alone: "National Gallery" keeps "gallery" so it is not "National Museum".
_WEAK = _words(
    "national royal state city central grand great new old modern contemporary natural "
    "history art science public municipal metropolitan international world design fine "
    "civic regional county university children"
)
_DEMONYM_ENDINGS = ("an", "ese", "ish", "ic")  # "American", "Chinese", "British", "Islamic"


@lru_cache(maxsize=65536)
def _singular(t: str) -> str:
    """A token's singular by simple, symmetric rules: cats->cat, churches->church, berries->berry.

    Words ending in "ss", "us", "is", words of 3 letters or fewer, and words that are not plain
    ASCII letters are left alone.
    """
    if len(t) <= 3 or t[-1] != "s" or not (t.isascii() and t.isalpha()):
        return t
    if t.endswith(("ss", "us", "is")):
        return t
    if t.endswith("ies") and len(t) > 4:
        return t[:-3] + "y"
    if t.endswith(("ches", "shes", "xes", "zzes", "sses")) or (t.endswith("oes") and len(t) > 5):
        return t[:-2]
    return t[:-1]


def _weak(t: str) -> bool:
    return t in _WEAK or t.endswith(_DEMONYM_ENDINGS)


def _without_generic(tokens: list[str]) -> list[str]:
    """`tokens` without a generic head noun, if a distinctive (not weak) word remains."""
    if len(tokens) < 2:
        return tokens
    if tokens[-1] in _GENERIC:
        rest = tokens[:-1]
    elif tokens[0] in _FOREIGN_GENERIC or (tokens[0] in _GENERIC and tokens[1] in _FOREIGN_OF):
        i = 1
        while i < len(tokens) and tokens[i] in _CONNECTORS:
            i += 1
        rest = tokens[i:]
    else:
        return tokens
    words = [t for t in rest if t not in _CONNECTORS]
    return rest if words and not all(map(_weak, words)) else tokens


def loose_of(key: str) -> str:
    """The near-duplicate signature of a key: equal signatures count as the same entry.

    Tokens are singularized; a generic head noun ("museum", "gallery"...) is dropped when a
    distinctive word is left; connectors ("of", "de", "la"...) are dropped unless first; the
    tokens are sorted. "Musée du Louvre", "Louvre Museum" and "Louvre" all give "louvre".
    """
    tokens = list(map(_singular, key.split()))
    if len(tokens) > 1:
        if tokens[-1] in _GENERIC or tokens[0] in _GENERIC:
            tokens = _without_generic(tokens)
        if not _CONNECTORS.isdisjoint(tokens):
            tokens = tokens[:1] + [t for t in tokens[1:] if t not in _CONNECTORS]
        tokens.sort()
    return " ".join(tokens)


# -- forms -----------------------------------------------------------------------------------


def forms(candidate: str) -> Forms | None:
    """The text, key and loose signature of a candidate; None if nothing usable is left."""
    if len(candidate) <= MAX_ENTRY_CHARS and PLAIN_ENTRY.fullmatch(candidate):
        # Cleaning, description stripping and unwrapping leave it as it is; folding is lower().
        m = _ARTICLE.match(candidate)
        key = _joined((candidate[m.end() :] if m else candidate).lower().split())
        return Forms(candidate, key, loose_of(key))
    return _forms(candidate)


def _forms(candidate: str) -> Forms | None:
    """`forms` for any candidate, by the general steps."""
    if len(candidate) > 4 * MAX_ENTRY_CHARS:  # hopeless, and not worth the regexes
        return None
    text = unwrap(strip_description(clean_item(candidate)))
    if not text or len(text) > MAX_ENTRY_CHARS:
        return None
    key = key_of(text)
    if not key:
        return None
    return Forms(text, key, loose_of(key))
