"""Reply text -> candidate entries.

`parse_reply` accepts what LLMs actually write: plain lines, numbered or bulleted lists,
Markdown (emphasis, code, links, headings, tables), JSON arrays (bare or fenced, of strings or
of objects with a "name"), and single paragraphs of comma- or semicolon-separated items. Chatty
lines ("Sure! Here are 50 more:", "Let me know if you need more!") are dropped. Candidates keep
any trailing description ("Louvre - art museum"): `normalize.forms` removes it.

`rejected` counts items that stood where an entry belongs but could not be one: too long,
binary junk, nothing left after markup was removed, or the last item of a truncated reply.
Chatty lines, headings, fences, rules and table headers are structure, not counted.
See docs/uniqueness.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from igentai_tui.common.sanitize import clean_control

MAX_ENTRY_CHARS = 200  # longer candidates are rejected ("absurd length")

# Plain ASCII words, single spaces, a letter first: no cleaning step changes such an entry.
PLAIN_ENTRY = re.compile(r"[A-Za-z][A-Za-z0-9]*(?: [A-Za-z0-9]+)*")


@dataclass(slots=True)
class ParseResult:
    """The candidates of one reply, in reply order, and how many items were rejected."""

    candidates: list[str] = field(default_factory=list)
    rejected: int = 0


# -- markup --------------------------------------------------------------------------------

_MARKER = re.compile(
    r"(?:[-*+–—]\s+"  # ASCII and dash bullets need a space after them
    r"|[•·▪▫◦‣⁃○●■□►▸▹➤➢→✓✔]\s*"  # typographic bullets
    r"|\(\d{1,4}\)\s*"  # (1)
    r"|#\d{1,4}[.):]?\s+"  # #1
    r"|\d{1,4}[.)](?:\s+|$|(?=[^\W\d_]))"  # 1. 1) 1.Louvre
    r"|\d{1,4}\s+[-–—]\s+"  # 1 - Louvre
    r")(?:\[[ xX]\]\s+)?"  # task-list checkbox
)
_NUMBERED = re.compile(r"(?:\d{1,4}[.)]|\(\d{1,4}\)|#\d{1,4}[.):]?)\s+")
# (character that must be present, pattern, replacement), applied in order.
_MARKUP = (
    ("*", re.compile(r"\*\*([^*]+)\*\*"), r"\1"),
    ("_", re.compile(r"__([^_]+)__"), r"\1"),
    ("*", re.compile(r"(?<![\w*])\*([^*\s](?:[^*]*[^*\s])?)\*(?![\w*])"), r"\1"),
    ("_", re.compile(r"(?<!\w)_([^_\s](?:[^_]*[^_\s])?)_(?!\w)"), r"\1"),
    ("~", re.compile(r"~~([^~]+)~~"), r"\1"),
    ("`", re.compile(r"(?<!`)`++([^`]+)`+"), r"\1"),
    ("[", re.compile(r"!?\[([^\[\]]+)\]\([^()]*\)"), r"\1"),  # [text](url), ![alt](src)
    ("<", re.compile(r"</?(?:b|i|u|s|em|strong|code|mark|del|span|br|p|li)\b[^<>]*>", re.I), ""),
)
_MARKUP_CHARS = frozenset(c for c, _, _ in _MARKUP)
# The most common line, "12. Louvre" or "- Louvre": a list item holding a plain entry.
_PLAIN_ITEM = re.compile(r"(?:\d{1,4}[.)]|[-*+]) (" + PLAIN_ENTRY.pattern + ")")
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "„": "“", "「": "」"}
_WRAPPERS = frozenset(_QUOTES) | frozenset(_QUOTES.values()) | frozenset("[],;")
_FINAL_WORD = re.compile(r"(?<![.\w])([^\W\d_]{3,})\.$")  # "Notre-Dame." but not "D.C."
_ABBREVIATIONS = frozenset(
    {"inc", "ltd", "corp", "bros", "ave", "blvd", "dept", "univ", "prof", "gen", "col", "capt"}
    | {"sgt", "mrs", "esq", "etc", "intl", "assn", "mfg"}
)


def _unmark(s: str) -> str:
    """`s` without Markdown emphasis, code, links and simple HTML tags."""
    if not _MARKUP_CHARS.isdisjoint(s):
        for char, pattern, repl in _MARKUP:
            if char in s:
                s = pattern.sub(repl, s)
        s = " ".join(s.split())
    return s


def unwrap(s: str) -> str:
    """`s` without enclosing quotes, stray JSON brackets, trailing separators, a full stop."""
    s = s.strip()
    if s and (s[0] in _WRAPPERS or s[-1] in _WRAPPERS):
        for _ in range(3):
            before = s
            s = s.rstrip(",;").strip()
            if s.startswith("[") and "]" not in s:
                s = s[1:].lstrip()
            if s.endswith("]") and "[" not in s:
                s = s[:-1].rstrip()
            if len(s) >= 2 and _QUOTES.get(s[0]) == s[-1]:
                s = s[1:-1].strip()
            elif s[:1] in ('"', "“", "”") and s.count(s[0]) == 1:
                s = s[1:].lstrip()  # the opening quote of an item cut short
            elif s[-1:] in ('"', "”") and s.count(s[-1]) == 1:
                s = s[:-1].rstrip()
            if s == before:
                break
    if s.endswith("."):
        m = _FINAL_WORD.search(s)
        if m and m.group(1).casefold() not in _ABBREVIATIONS:
            s = s[:-1]  # a sentence's full stop, not an abbreviation's
    return s


def clean_item(s: str) -> str:
    """One item: control characters, a list marker, markup and wrapping quotes removed."""
    s = clean_control(s)
    m = _MARKER.match(s)
    if m:
        s = s[m.end() :]
    s = _unmark(s)
    if not m:  # "**1.** Louvre": the number was inside the emphasis
        n = _NUMBERED.match(s)
        if n:
            s = s[n.end() :]
    return unwrap(s)


# -- chatty and structural lines -------------------------------------------------------------

_CHATTY = re.compile(
    r"(?:here\s+(?:are|is)\b|here's\b"
    r"|(?:sure|certainly|of\s+course|absolutely|okay|ok|great|alright|no\s+problem)\s*[!,.:]"
    r"|sure\s+thing\b|below\s+(?:are|is)\b|the\s+following\b|as\s+requested\b"
    r"|i\s+hope\b|hope\s+(?:this|that|it|you)\b|let\s+me\s+know\b|feel\s+free\b"
    r"|(?:please\s+)?note\s*[:,-]|notes\s*:|please\s+note\b|would\s+you\s+like\b"
    r"|do\s+you\s+want\b|want\s+me\s+to\b|if\s+you\s+(?:need|want|would|'d)\b"
    r"|(?:happy|glad)\s+to\b|in\s+(?:summary|conclusion)\b|to\s+summari[sz]e\b"
    r"|\(?continu(?:ed|ing)\b|(?:\.{3}|…)?\s*(?:and\s+)?(?:many\s+)?(?:more|others)\s*[.!…]*$"
    r"|etc\.?$|\.{3}$|…$)"
)
# "I've added...", "We'll continue..." are chatty; "I'll Be There" is a song: 5+ words needed.
_FIRST_PERSON = re.compile(r"(?:i|we)(?:'(?:ve|ll|m|d)|\s+(?:have|will|can|am|tried))\b")
_YOU = re.compile(r"\byou(?:r|'re|'ll|'d)?\b")  # "These should all be new to your list."
_INTRO = re.compile(
    r"(?:(?:sure|certainly|of course|absolutely|ok|okay|great)\W+)?(?:here|below)\b"
)
_DESCRIPTION_SEP = re.compile(r"\s[-–—]\s|:\s|—")
_FILLER = frozenset({"etc", "etc.", "...", "…", "and more", "and so on", "more", "others"})
_NEWLINE = re.compile(r"\r\n|\r|\n")
_HEADING = re.compile(r"#{1,6}(?:\s+|$)")
_RULE = re.compile(r"(?:[-*_=]\s*){3,}|`{3,}.*|~{3,}.*|[\[\]{}(),\s]+")
_TABLE_SEP = re.compile(r"\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?")
_NAME_KEYS = ("name", "title", "entry", "item", "label", "value")
_JSON_KEY = re.compile(r'\{?\s*"[^"\\]{1,40}"\s*:')
_JSON_NAME = re.compile(r'"(?:name|title|entry|item|label|value)"\s*:\s*"((?:[^"\\]|\\.)*)', re.I)
_NAME_HEADERS = frozenset({"name", "entry", "title", "item", "attraction", "place"})


def _intro_list(line: str) -> bool:
    """True for "Sure! Here are ten: A, B, C": an introduction and a list on one line."""
    head, sep, tail = line.partition(": ")
    return bool(sep) and _INTRO.match(head.casefold()) is not None and _listy(tail)


def _chatty(line: str) -> bool:
    """True for commentary around a list: "Here are 50 more:", "Hope this helps!"..."""
    low = line.casefold().replace("’", "'")
    if _CHATTY.match(low):
        return True
    words = len(low.split())
    if words >= 5 and (_FIRST_PERSON.match(low) or (low[-1] in ".!" and _YOU.search(low))):
        return True
    # A long sentence with no description separator is prose, not an entry.
    return words >= 8 and low[-1] in ".!?" and not _DESCRIPTION_SEP.search(line)


# -- lines -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Item:
    text: str
    line: int  # index of the raw line it came from
    marked: bool  # came from a list item or a table row


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _table_cell(cells: list[str], column: int | None) -> str:
    """The cell of a table row that holds the entry."""
    if column is not None and column < len(cells):
        return cells[column]
    for cell in cells:
        if cell and not cell.rstrip(".").isdigit():
            return cell
    return ""


def _json_line(line: str) -> str | None:
    """For a line of a cut-off JSON object: its name value, "" for other keys, None if no key."""
    if not _JSON_KEY.match(line):
        return None
    m = _JSON_NAME.search(line)
    return m.group(1) if m else ""


def _line_items(raw_lines: list[str]) -> list[_Item]:
    """The entry-shaped lines of a reply, markup and chatty/structural lines removed."""
    items: list[_Item] = []
    column: int | None = None  # the table column that holds the entry, from the header
    header: list[str] | None = None  # cells of the previous table row, until a separator
    for i, raw in enumerate(raw_lines):
        if plain := _PLAIN_ITEM.fullmatch(raw):
            items.append(_Item(plain.group(1), i, True))
            header = None
            continue
        line = clean_control(raw)
        if not line or _RULE.fullmatch(line):
            continue
        if line.startswith("|"):
            if _TABLE_SEP.fullmatch(line):
                if header is not None and items and items[-1].line == i - 1:
                    items.pop()  # the header row is not an entry
                    names = [c.casefold() for c in header]
                    column = next((j for j, c in enumerate(names) if c in _NAME_HEADERS), None)
                continue
            header = row = _cells(line)
            items.append(_Item(_unmark(_table_cell(row, column)), i, True))
            continue
        header = None
        line = line.removeprefix(">").strip()
        if _HEADING.match(line):
            rest = line.lstrip("#").strip()
            if not _NUMBERED.match(rest):
                continue  # a section heading; "### 1. Louvre" is an entry
            line = rest
        json_name = _json_line(line)
        if json_name is not None:
            if json_name:
                items.append(_Item(json_name, i, True))
            continue
        m = _MARKER.match(line)
        text = _unmark(line[m.end() :] if m else line)
        if not m and (n := _NUMBERED.match(text)):
            text, m = text[n.end() :], n
        if text.endswith(":") or (not m and _chatty(text)):
            if m or not _intro_list(text):
                continue
            text = text.partition(": ")[2]  # "Sure! Here are ten: Louvre, Eiffel Tower, ..."
        items.append(_Item(text, i, m is not None))
    return items


_BRACKETS = frozenset("()[]{}")


def _separators(line: str) -> tuple[str, int]:
    """The item separator of a paragraph line (";" if present, else ",") and its count."""
    sep = ";" if ";" in line else ","
    if _BRACKETS.isdisjoint(line):
        return sep, line.count(sep)
    depth = count = 0
    for ch in line:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        elif ch == sep and depth == 0:
            count += 1
    return sep, count


def _split(line: str, sep: str) -> list[str]:
    """`line` split at `sep` outside brackets."""
    if _BRACKETS.isdisjoint(line):
        return line.split(sep)
    parts: list[str] = []
    depth = start = 0
    for j, ch in enumerate(line):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        elif ch == sep and depth == 0:
            parts.append(line[start:j])
            start = j + 1
    parts.append(line[start:])
    return parts


def _paragraph(items: list[_Item]) -> bool:
    """True when the reply is one paragraph (or a few) of comma/semicolon-separated items."""
    if not items or any(it.marked for it in items):
        return False
    listy = sum(1 for it in items if _listy(it.text))
    return 2 * listy >= len(items)


def _listy(line: str) -> bool:
    """Two or more separators, and no description ("Louvre - a museum, home to ...")."""
    return _separators(line)[1] >= 2 and not _DESCRIPTION_SEP.search(line)


def _split_items(items: list[_Item]) -> list[_Item]:
    out: list[_Item] = []
    for it in items:
        sep, _ = _separators(it.text)
        parts = [p.strip() for p in _split(it.text, sep)]
        if len(parts) > 1 and parts[-1].startswith(("and ", "or ")):
            parts[-1] = parts[-1].partition(" ")[2]  # "A, B, and C"
        out.extend(_Item(p, it.line, False) for p in parts if p)
    return out


# -- JSON ------------------------------------------------------------------------------------

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\r?\n(.*?)```", re.S)


def _json_value(text: str) -> Any:
    """The JSON array (or object) in `text`, bare or fenced; None when there is none."""
    m = _FENCE.search(text)
    if m:
        body = m.group(1).strip()
    else:
        starts = [p for p in (text.find("\n["), text.find("\n{")) if p >= 0]
        stripped = text.lstrip()
        if stripped[:1] in ("[", "{"):
            body = stripped
        elif starts:
            body = text[min(starts) + 1 :]
        else:
            return None
        end = max(body.rfind("]"), body.rfind("}"))
        body = body[: end + 1]
    if body[:1] not in ("[", "{"):
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _json_strings(value: Any) -> tuple[list[str], int] | None:
    """The entries of a parsed JSON reply and how many elements were unusable."""
    if isinstance(value, dict):  # {"entries": [...]}, or a single {"name": ...}
        value = next((v for v in value.values() if isinstance(v, list)), [value])
    if not isinstance(value, list):
        return None
    out: list[str] = []
    bad = 0
    for el in value:
        if isinstance(el, dict):
            el = next((el[k] for k in el if str(k).casefold() in _NAME_KEYS), None)
        if isinstance(el, str):
            out.append(el)
        elif isinstance(el, int | float) and not isinstance(el, bool):
            out.append(str(el))
        else:
            bad += 1
    return out, bad


# -- validation ------------------------------------------------------------------------------


_PLAIN = re.compile(r"[\w ]+")


def _junk(s: str) -> bool:
    """True for binary noise: no letter or digit, or mostly symbols / unprintable characters."""
    if _PLAIN.fullmatch(s) and s.strip("_ "):  # the common case: words and spaces only
        return False
    alnum = sum(1 for c in s if c.isalnum())
    if alnum == 0:
        return True
    bad = sum(1 for c in s if c == "\ufffd" or not c.isprintable())
    if 4 * bad > len(s):
        return True
    return len(s) >= 8 and 5 * (len(s) - alnum - s.count(" ")) > 2 * len(s)


def _accept(texts: list[str], clean: Callable[[str], str], result: ParseResult) -> None:
    """Append each text, cleaned, to `result`'s candidates, or count it as rejected."""
    for text in texts:
        if len(text) <= MAX_ENTRY_CHARS and PLAIN_ENTRY.fullmatch(text):
            if text.casefold() not in _FILLER:  # clean(text) is text, and not junk
                result.candidates.append(text)
            continue
        if len(text) > 4 * MAX_ENTRY_CHARS:  # hopeless, and not worth the regexes
            result.rejected += 1
            continue
        s = clean(text)
        if s.casefold() in _FILLER:
            continue
        if not s or len(s) > MAX_ENTRY_CHARS or _junk(s):
            result.rejected += 1
        else:
            result.candidates.append(s)


# -- entry point -----------------------------------------------------------------------------


def parse_reply(text: str, *, truncated: bool = False) -> ParseResult:
    """The candidate entries in an LLM reply, in reply order.

    With `truncated` (the model hit its output limit), an item on an unfinished last line is
    dropped and counted as rejected. A JSON reply that parses was not cut off.
    """
    result = ParseResult()
    parsed = _json_strings(_json_value(text))
    if parsed is not None:
        strings, result.rejected = parsed
        _accept(strings, clean_item, result)
        return result
    raw_lines = _NEWLINE.split(text)
    items = _line_items(raw_lines)
    if _paragraph(items):
        items = _split_items(items)
    cut = len(raw_lines) - 1
    if truncated and items and items[-1].line == cut and raw_lines[cut].strip():
        items.pop()
        result.rejected += 1
    _accept([it.text for it in items], unwrap, result)
    return result
