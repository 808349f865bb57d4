"""Prompt templates, versioned. Every call records the version of the template it used.

Change the wording here only, and bump `PROMPT_VERSION` when you do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

PROMPT_VERSION = "list-v3"
PLAN_VERSION = "subtopics-v2"
VERIFY_VERSION = "verify-v2"

# Every request pays for the system prompt and the instructions: keep them short.
SYSTEM = (
    "List entries of a topic, one per line: the canonical name only (in English where one "
    "exists), no numbering, notes or repeats."
)
VERIFY_SYSTEM = (
    "Check candidate entries of a topic. Reply in exactly the format asked, nothing else."
)


def list_prompt(topic: str, count: int, found: Sequence[str], partition: str | None = None) -> str:
    """Ask for `count` new entries of `topic` (within `partition`), showing `found`."""
    lines = [f"Topic: {topic}"]
    if partition:
        lines.append(f"Focus: {partition}")
    scope = " within the focus" if partition else ""
    lines.append(f"Task: list {count} more entries{scope}.")
    if found:
        lines.append("Already found, do not repeat:")
        lines.extend(found)
    return "\n".join(lines)


def subtopics_prompt(
    topic: str, count: int, partition: str | None = None, known: Sequence[str] = ()
) -> str:
    """Ask for `count` subtopics that together cover `topic` (or its `partition`) without
    overlapping; `known` ones are listed as already there."""
    lines = [f"Topic: {topic}"]
    if partition:
        lines.append(f"Focus: {partition}")
    what = "the focus" if partition else "this topic"
    lines += [
        f"Task: split {what} into {count} distinct subtopics that together cover all of it "
        "and do not overlap.",
        "Rules: one subtopic per line; a short name only; no numbering, no commentary.",
    ]
    if known:
        lines += ["", "Subtopics already listed (add the ones missing):", *known]
    return "\n".join(lines)


def verify_prompt(topic: str, candidates: Sequence[str], pairs: Sequence[tuple[str, str]]) -> str:
    """Ask which `candidates` are not real members of `topic` (models recognise far better
    than they recall), and which `pairs` name the same member. Numbers keep the reply short."""
    lines = [
        f"Topic: {topic}",
        "Task: check the candidates below. Reply with these lines only:",
        "not real: numbers of the candidates that are invented, misspelled or not members of "
        "the topic (or none)",
    ]
    if pairs:
        lines.append(
            "same thing: numbers of the pairs whose two names are the same member (or none)"
        )
    lines.append(
        "other name: for a real candidate better known by another name, its number = that "
        "name, separated by semicolons (or none)"
    )
    lines.append("Candidates:")
    lines += [f"{n}. {c}" for n, c in enumerate(candidates, 1)]
    if pairs:
        lines.append("Pairs:")
        lines += [f"{n}. {a} | {b}" for n, (a, b) in enumerate(pairs, 1)]
    return "\n".join(lines)


_VERDICT = re.compile(r"^\W*(not real|same(?: thing)?|other names?)\W*:(.*)$", re.I)
_NUMBER = re.compile(r"\d+")
_OTHER = re.compile(r"^\W*(\d+)\s*[=:]\s*(.+?)[\s.;,]*$")
_OTHER_SPLIT = re.compile(r";|,\s*(?=\d+\s*[=:])")  # "3 = Myanmar; 7 = X" or "3 = A, 7 = B"
_NO_NAME = {"none", "n/a", "na", "unknown", "-", "no", "same"}


def parse_verdict(
    text: str, candidates: int, pairs: int
) -> tuple[set[int], set[int], dict[int, str]] | None:
    """(candidates not real, pairs the same, candidate -> its better-known name) of a
    verification reply, 0-based; None when the reply does not answer (no "not real:" line).
    Other names may follow their header on lines of their own. The names are untrusted text,
    to be normalized like any entry."""
    doubted: set[int] | None = None
    same: set[int] = set()
    others: dict[int, str] = {}
    section = ""
    for line in text.splitlines():
        m = _VERDICT.match(line)
        if m is not None:
            section, rest = m.group(1).lower()[:3], m.group(2)
        elif section == "oth":
            rest = line
        else:
            continue
        if section == "oth":
            for item in _OTHER_SPLIT.split(rest):
                o = _OTHER.match(item)
                if (
                    o
                    and 0 < int(o.group(1)) <= candidates
                    and o.group(2).casefold() not in _NO_NAME
                ):
                    others[int(o.group(1)) - 1] = o.group(2)
            continue
        numbers = {int(x) - 1 for x in _NUMBER.findall(rest)}
        if section == "not":
            doubted = {n for n in numbers if 0 <= n < candidates}
        else:
            same = {n for n in numbers if 0 <= n < pairs}
    return None if doubted is None else (doubted, same, others)


_LETTER_FOCUS = "names starting with "
# How runs before 2026-11-26 named letter partitions; still read when such a run is resumed.
_OLD_LETTER_FOCUS = re.compile(
    r"entries whose name starts with (?:the letter ([A-Z])|a letter from ([A-Z]) to ([A-Z]))$"
)
_RANGE = re.compile(r"([A-Z])(?:–([A-Z]))?$")
_LETTER_SUFFIX = re.compile(r"(?:^|; )(?:names starting with|entries whose name starts with) .*$")


def letter_partition(letters: str) -> str:
    """The focus line for a first-letter partition: one letter ("M") or a range ("ABC")."""
    letters = letters.upper()
    span = letters if len(letters) == 1 else f"{letters[0]}–{letters[-1]}"
    return f"{_LETTER_FOCUS}{span}"


def prefix_partition(prefix: str) -> str:
    """The focus line for a partition of names starting with a prefix: 'names starting with
    "Ka"'."""
    return f'{_LETTER_FOCUS}"{prefix[:1].upper()}{prefix[1:].lower()}"'


_PREFIX_FOCUS = re.compile(r'names starting with "([^"]{2,})"$')


def prefix_of(name: str) -> str | None:
    """The prefix a partition's name limits it to ("Ka"), or None."""
    m = _PREFIX_FOCUS.search(name)
    return m.group(1) if m else None


def letters_of(name: str) -> str | None:
    """The letters a partition's name limits it to ("ABC" for "... starting with A–C"), or
    None."""
    _, sep, tail = name.rpartition(_LETTER_FOCUS)
    m = _RANGE.fullmatch(tail) if sep else None
    if m is None:
        old = _OLD_LETTER_FOCUS.search(name)
        if old is None:
            return None
        first, last = old.group(1) or old.group(2), old.group(1) or old.group(3)
    else:
        first, last = m.group(1), m.group(2) or m.group(1)
    if not first <= last:
        return None
    return "".join(chr(c) for c in range(ord(first), ord(last) + 1))


def short_partition(name: str) -> str:
    """A partition's name for a narrow column: "Castles; names starting with M" -> "Castles ·
    M", a range -> "Castles · A–C"; a lone letter partition -> "letter M"."""
    prefix = prefix_of(name)
    if prefix is not None:
        head = _LETTER_SUFFIX.sub("", name)
        return f"{head} · {prefix}…" if head else f"prefix {prefix}…"
    letters = letters_of(name)
    if letters is None:
        return name
    head = _LETTER_SUFFIX.sub("", name)
    span = letters if len(letters) == 1 else f"{letters[0]}–{letters[-1]}"
    if head:
        return f"{head} · {span}"
    return f"letter {span}" if len(letters) == 1 else f"letters {span}"


def without_letters(name: str) -> str:
    """A partition's name without its letter or prefix clause ("Castles; names starting with
    M" -> "Castles"; a lone letter partition -> "")."""
    return _LETTER_SUFFIX.sub("", name)
