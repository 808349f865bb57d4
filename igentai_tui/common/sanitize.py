"""Make untrusted text (LLM replies, topics, file lines) safe to show and to store.

`clean_control` removes terminal escape sequences and invisible or control characters and
folds whitespace; `display_text` also bounds the length. Neither escapes Rich markup: front
ends render `Text` objects, so `[bold]` stays literal characters.
"""

from __future__ import annotations

import re

# Terminal escape sequences: CSI (7- and 8-bit), string sequences (OSC, DCS, SOS, PM, APC; ended
# by BEL or ST, or unterminated up to the end of the line), and any other ESC sequence.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x9b[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)

# Removed outright: C0 controls other than whitespace, DEL, C1 controls, the Unicode format
# characters (soft hyphen, bidi controls, zero-width characters, BOM, tags...) and lone
# surrogates. Whitespace controls (tab, newline, CR, VT, FF) become spaces via str.split().
_INVISIBLE = re.compile(
    "["
    "\x00-\x08\x0e-\x1f\x7f-\x9f\xad"
    "\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\ud800-\udfff"
    "\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
    "]+"
)


def clean_control(s: str) -> str:
    """`s` without escape sequences or control/invisible characters, whitespace folded."""
    if not s.isprintable():
        s = _INVISIBLE.sub("", _ESCAPES.sub("", s))
    return " ".join(s.split())


def display_text(s: str, max_len: int = 120) -> str:
    """`clean_control(s)`, cut to at most `max_len` characters with a trailing "…"."""
    s = clean_control(s)
    if len(s) <= max_len:
        return s
    if max_len <= 1:
        return "…"[: max(max_len, 0)]
    return s[: max_len - 1].rstrip() + "…"
