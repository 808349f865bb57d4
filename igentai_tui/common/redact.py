"""Keeping API keys out of every message: the one redaction helper.

Every key igentai reads (`keys.get_key`) is registered here, and every provider error is built
through `redact` (`ProviderError.__init__`), so no message that reaches the database, the
terminal, a log or the TUI can carry a key, whole or in part: servers echo keys back in error
bodies, often only a prefix or a suffix ("Incorrect API key provided: sk-proj-abc...wxyz").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MIN_PART = 8
"""A run of at least this many characters of a key counts as the key (and is replaced)."""

_registered: set[str] = set()
_registered_parts: frozenset[str] = frozenset()  # every MIN_PART characters of a registered key

# Shaped like a key, whoever's: OpenAI (sk-, sk-proj-), Anthropic (sk-ant-), Google (AIza) ...
_PREFIXED_KEY = re.compile(r"(?<![A-Za-z0-9])(?:sk-[A-Za-z0-9_-]{20,}|AIza[A-Za-z0-9_-]{20,})")
# ... or a random token: a run of 24 or more letters and digits (judged by `_random`).
_LONG_RUN = re.compile(r"[A-Za-z0-9]{24,}")
_HEX = re.compile(r"[0-9A-Fa-f]{32,}")


def register_secret(secret: str | None) -> None:
    """Have `redact` remove `secret` (and its 8+ character parts) from every text from now on."""
    global _registered_parts
    if secret and len(secret) >= MIN_PART:
        _registered.add(secret)
        grams = (secret[i : i + MIN_PART] for i in range(len(secret) - MIN_PART + 1))
        _registered_parts = _registered_parts.union(grams)


def holds_secret(text: str) -> bool:
    """Whether `text` holds a key igentai read (or 8+ characters of one) or something shaped
    like a key: `sk-…`, `AIza…`, a long hexadecimal number, or a long run of letters and digits
    that mixes digits, capitals and small letters (a random token: no name is written so).

    An LLM's reply that holds one (a proxy's error page quoting the key, a prompt injection) is
    not an entry: the producer drops such items before they are stored."""
    parts = _registered_parts
    if parts and any(text[i : i + MIN_PART] in parts for i in range(len(text) - MIN_PART + 1)):
        return True
    return bool(_PREFIXED_KEY.search(text)) or any(
        _random(m.group()) for m in _LONG_RUN.finditer(text)
    )


def _random(run: str) -> bool:
    """A run of letters and digits no name is written as: 32+ hexadecimal digits with letters
    among them, or digits, capitals and small letters mixed."""
    digits = any(c.isdigit() for c in run)
    if _HEX.fullmatch(run):
        return digits and not run.isdigit()
    return digits and not run.isupper() and not run.islower()


def _parts(text: str, secret: str) -> list[tuple[int, int]]:
    """The spans of `text` that are runs of MIN_PART or more characters of `secret`."""
    grams = {secret[i : i + MIN_PART] for i in range(len(secret) - MIN_PART + 1)}
    spans: list[tuple[int, int]] = []
    i = 0
    while i + MIN_PART <= len(text):
        if text[i : i + MIN_PART] in grams:
            j = i + MIN_PART
            while j < len(text) and text[i : j + 1] in secret:
                j += 1
            spans.append((i, j))
            i = j
        else:
            i += 1
    return spans


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with `secrets` and every registered key replaced by "***", including any run of
    8 or more of their characters (a prefix, a suffix, a middle). Spans found for different
    keys are merged first, so the result does not depend on the order of the keys."""
    keys = {*(s for s in secrets if s and len(s) >= MIN_PART), *_registered}
    spans = sorted(span for key in keys for span in _parts(text, key))
    if not spans:
        return text
    out, pos = [], 0
    for start, end in spans:
        if start > pos:
            out += [text[pos:start], "***"]
        elif pos == 0 and start == 0:
            out.append("***")
        pos = max(pos, end)
    return "".join(out) + text[pos:]
