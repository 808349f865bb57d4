"""Reading a prompt the way a model would: topic, focus, how many, what is already found.

Tolerant of wording changes: labelled lines ("Topic:", "Focus:", "Task:") are used when
present, with fallbacks otherwise. Linear in the prompt's length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FLAGS = re.IGNORECASE | re.MULTILINE
_TOPIC = re.compile(r"^[ \t]*(?:topic|subject|theme)[ \t]*:[ \t]*(\S.*?)[ \t]*$", _FLAGS)
_FOCUS = re.compile(
    r"^[ \t]*(?:focus|partition|subtopic|scope|restrict(?:ed)? to|only)[ \t]*:[ \t]*(\S.*?)[ \t]*$",
    _FLAGS,
)
_TASK = re.compile(
    r"^[ \t]*(?:task|instructions?|request|question)[ \t]*:[ \t]*(\S.*?)[ \t]*$", _FLAGS
)
_FOUND_HEAD = re.compile(
    r"^[^\n]*\b(?:already|found so far|so far|do not repeat|don't repeat|not repeat|exclud\w*|"
    r"avoid|previous(?:ly)?|known entries|existing)\b[^\n]*:[ \t]*$",
    _FLAGS,
)
_FOUND_INLINE = re.compile(
    r"\b(?:already (?:found|listed|known)|found so far|exclud\w*)[^:\n]*:[ \t]*(\S.*)$",
    _FLAGS,
)
_SECTION = re.compile(r"^[ \t]*(?:task|rules?|topic|focus|note|instructions?)[ \t]*:", _FLAGS)
_NUMBER = re.compile(r"\b(\d{1,5})\b")
_SUBTOPICS = re.compile(r"\bsub-?topics\b|\bcategories\b|\bsub-?categories\b", re.IGNORECASE)
_ENTRIES = re.compile(r"\b(?:entries|items|names|examples)\b", re.IGNORECASE)
_ABOUT = re.compile(r"\b(?:of|about|on|for)\s+([^.\n:;]{2,80})", re.IGNORECASE)


_CANDIDATES = re.compile(r"^[ \t]*(?:candidates|names to check)[ \t]*:[ \t]*$", _FLAGS)
_PAIRS = re.compile(r"^[ \t]*pairs[^\n:]*:[ \t]*$", _FLAGS)
_OTHERS = re.compile(r"^\W*other names?\W*:", _FLAGS)
_ITEM_NUMBER = re.compile(r"^\s*(?:[A-Za-z]?\d{1,4}[.):]|[-*•])\s*")


@dataclass(slots=True)
class PromptInfo:
    """What a prompt asks: a list of entries, a split of the topic into subtopics, or a
    verdict on candidates ("verify": which are real, which pairs name one thing)."""

    kind: str  # "list", "subtopics" or "verify"
    topic: str
    focus: str | None = None
    count: int | None = None
    found: list[str] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)
    others: bool = False  # a verdict also asks for the better-known names of candidates


def _items(block: str) -> list[str]:
    return [_ITEM_NUMBER.sub("", s).strip() for s in block.split("\n") if s.strip()]


def read_prompt(prompt: str) -> PromptInfo:
    """Pull the topic, focus, requested count and the already-found entries out of a prompt."""
    checks = _CANDIDATES.search(prompt)
    if checks:
        t = _TOPIC.search(prompt[: checks.start()])
        rest = prompt[checks.end() :]
        p = _PAIRS.search(rest)
        names, pairs = (rest[: p.start()], rest[p.end() :]) if p else (rest, "")
        return PromptInfo(
            kind="verify",
            topic=t.group(1) if t else "things",
            candidates=_items(names),
            pairs=[
                (a.strip(), b.strip())
                for a, sep, b in (x.partition(" | ") for x in _items(pairs))
                if sep
            ],
            others=bool(_OTHERS.search(prompt[: checks.start()])),
        )
    head, found = prompt, []
    m = _FOUND_HEAD.search(prompt)
    if m:
        head, tail = prompt[: m.start()], prompt[m.end() :]
        stop = _SECTION.search(tail)
        if stop:
            head += "\n" + tail[stop.start() :]
            tail = tail[: stop.start()]
        found = [s for s in map(str.strip, tail.split("\n")) if s]
    else:
        inline = _FOUND_INLINE.search(prompt)
        if inline:
            head = prompt[: inline.start()] + prompt[inline.end() :]
            found = [s.strip() for s in re.split(r"[;,]\s+", inline.group(1)) if s.strip()]

    t = _TOPIC.search(head)
    f = _FOCUS.search(head)
    task_m = _TASK.search(head)
    task = task_m.group(1) if task_m else head
    if t:
        topic = t.group(1)
    else:
        about = _ABOUT.search(task)
        lines = [s.strip() for s in head.split("\n") if s.strip()]
        topic = about.group(1).strip() if about else (lines[0][:100] if lines else "things")
    if not task_m:  # numbers in the topic or focus lines are not the count
        for line_m in (t, f):
            if line_m:
                task = task.replace(line_m.group(0), " ")
    n = _NUMBER.search(task)
    kind = "subtopics" if _SUBTOPICS.search(task) and not _ENTRIES.search(task) else "list"
    return PromptInfo(
        kind=kind,
        topic=topic,
        focus=f.group(1) if f else None,
        count=int(n.group(1)) if n else None,
        found=found,
    )
