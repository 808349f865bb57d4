"""Prompt templates, versioned. Every call records the version of the template it used.

Change the wording here only, and bump `PROMPT_VERSION` when you do.
"""

from __future__ import annotations

from collections.abc import Sequence

PROMPT_VERSION = "list-v1"

SYSTEM = (
    "You are a meticulous expert who lists the entries of a topic exhaustively. "
    "You reply with a plain list: one entry per line, the canonical name only "
    "(in English where one exists), with no numbering, no descriptions and no commentary."
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
    lines.append(
        "Rules: one entry per line; the canonical name only; no numbering, no descriptions, "
        "no commentary. Never repeat an entry that is already found."
    )
    if found:
        lines.append("")
        lines.append(f"Already found ({len(found)} shown of {total_found}):")
        lines.extend(found)
    return "\n".join(lines)


def subtopics_prompt(topic: str, count: int) -> str:
    """Ask for `count` subtopics that together cover `topic` without overlapping."""
    return "\n".join(
        [
            f"Topic: {topic}",
            f"Task: split this topic into {count} distinct subtopics that together cover all of "
            "it and do not overlap.",
            "Rules: one subtopic per line; a short name only; no numbering, no commentary.",
        ]
    )


def letter_partition(letter: str) -> str:
    """The focus line for a first-letter partition."""
    return f"entries whose name starts with the letter {letter.upper()}"
