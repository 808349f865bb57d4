"""Prompt templates, versioned. Every call records the version of the template it used.

Change the wording here only, and bump `PROMPT_VERSION` when you do.
"""

from __future__ import annotations

from collections.abc import Sequence

PROMPT_VERSION = "list-v2"
PLAN_VERSION = "subtopics-v2"

# Every request pays for the system prompt and the instructions: keep them short.
SYSTEM = (
    "You list the entries of a topic exhaustively: one per line, the canonical name only "
    "(in English where one exists), no numbering, descriptions or commentary, no repeats."
)


def list_prompt(
    topic: str,
    count: int,
    found: Sequence[str],
    total_found: int,
    partition: str | None = None,
) -> str:
    """Ask for `count` new entries of `topic` (within `partition`), showing `found`."""
    lines = [f"Topic: {topic}"]
    if partition:
        lines.append(f"Focus: {partition}")
    scope = " within the focus" if partition else ""
    lines.append(f"Task: list {count} more distinct entries of this topic{scope}.")
    if found:
        lines.append(f"Already found, do not repeat ({len(found)} shown of {total_found}):")
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


_LETTER_FOCUS = "entries whose name starts with the letter "


def letter_partition(letter: str) -> str:
    """The focus line for a first-letter partition."""
    return f"{_LETTER_FOCUS}{letter.upper()}"


def short_partition(name: str) -> str:
    """A partition's name for a narrow column: "Castles; entries whose name starts with the
    letter M" -> "Castles · M"; a lone letter partition -> "letter M"."""
    head, sep, letter = name.rpartition(_LETTER_FOCUS)
    if not sep or len(letter) != 1:
        return name
    head = head.removesuffix("; ")
    return f"{head} · {letter}" if head else f"letter {letter}"
