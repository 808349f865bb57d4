"""Counts in words: "1 request", "2 requests", "1,204 entries"."""

from __future__ import annotations


def count(n: int, noun: str) -> str:
    """`n` (with thousands separators) and `noun`, plural unless `n` is 1."""
    if n == 1:
        return f"1 {noun}"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return f"{n:,} {noun[:-1]}ies"
    return f"{n:,} {noun}s"
