"""Prompt templates, versioned. Every call records the version of the template it used.

Change the wording here only, and bump `PROMPT_VERSION` when you do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

PROMPT_VERSION = "list-v3"
PLAN_VERSION = "subtopics-v2"

# Every request pays for the system prompt and the instructions: keep them short.
SYSTEM = (
    "List entries of a topic, one per line: the canonical name only (in English where one "
    "exists), no numbering, notes or repeats."
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
    letters = letters_of(name)
    if letters is None:
        return name
    head = _LETTER_SUFFIX.sub("", name)
    span = letters if len(letters) == 1 else f"{letters[0]}–{letters[-1]}"
    if head:
        return f"{head} · {span}"
    return f"letter {span}" if len(letters) == 1 else f"letters {span}"
