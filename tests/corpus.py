"""Real entry texts for tests that compare a fast path with the general one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIM_DATA = ROOT / "igentai_tui" / "providers" / "sim" / "data"
PAIRS = Path(__file__).parent / "data" / "pairs.tsv"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def entry_texts() -> list[str]:
    """Every string of the sim universes and of the pair table, with variants of each."""
    base: list[str] = []
    for path in sorted(SIM_DATA.glob("*.json")):
        base.extend(_strings(json.loads(path.read_text(encoding="utf-8"))))
    for line in PAIRS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            base.extend(line.split("\t")[2:])
    base += ["J R R Tolkien", "St Louis", "Wall St", "Mt Fuji", "A", "An", "The", "the the"]
    base += ["etc", "more", "and more", "others", "x" * 200, "x" * 201, "Route 66 s"]
    out: list[str] = []
    for s in dict.fromkeys(base):
        out += [s, s.lower(), s.upper(), f"The {s}", f"a {s}", f"{s}s", f"{s} Museum"]
    return list(dict.fromkeys(out))
