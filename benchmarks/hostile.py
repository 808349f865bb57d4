"""What hostile input costs: parsing, cleaning, redaction and export of worst-case text.

    python benchmarks/hostile.py

Prints the time of each step on inputs built to be slow (long lines, escape floods, many
near-misses of a key); each figure is the median of 5 runs. docs/reliability.md quotes them.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from igentai_tui.common.redact import redact
from igentai_tui.common.sanitize import clean_control, display_text
from igentai_tui.engine.parsing import parse_reply
from igentai_tui.export import md_cell, safe_cell

KEY = "sk-proj-Q7hX2Lx9Vb4Nc1Mz8KwR5tY0"


def median_ms(fn: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    long_line = "A" * 100_000
    escapes = "\x1b]0;PWNED\x07\x1b[31mRed\x1b[0m\u202e\u200b\x00\x85" * 10_000  # ~300 KB
    reply = "\n".join(
        ["[bold]Eiffel[/bold] Tower", "\x1b]8;;http://x\x07Moulin Rouge\x1b]8;;\x07",
         "Pan\u200bthéon", "L\u043euvre", '=HYPERLINK("http://x")', long_line] * 20
    )  # fmt: skip
    message = ("Incorrect API key provided: " + KEY[:12] + "…" + KEY[-6:] + ". ") * 8  # 300 ch
    near_misses = "".join(KEY[i : i + 7] + " " for i in range(len(KEY) - 7)) * 200  # ~10 KB
    cells = ['=HYPERLINK("http://evil.example")', "[x](http://y) <b>z</b> | w"] * 5_000
    steps: list[tuple[str, Callable[[], object]]] = [
        ("parse_reply: one 100 KB line", lambda: parse_reply(long_line)),
        ("parse_reply: 120-line hostile reply (20 x 100 KB lines)", lambda: parse_reply(reply)),
        ("clean_control: 300 KB of escapes and invisibles", lambda: clean_control(escapes)),
        ("display_text: the same, cut to 120", lambda: display_text(escapes)),
        ("redact: a 300-character error message, 1 key", lambda: redact(message, [KEY])),
        ("redact: 10 KB of 7-character near misses", lambda: redact(near_misses, [KEY])),
        ("csv + md cells: 10,000 hostile cells", lambda: [(safe_cell(c), md_cell(c))
                                                          for c in cells]),
    ]  # fmt: skip
    rows = [(name, median_ms(fn)) for name, fn in steps]
    width = max(len(name) for name, _ in rows)
    for name, ms in rows:
        print(f"{name:<{width}}  {ms:9.2f} ms")


if __name__ == "__main__":
    main()
