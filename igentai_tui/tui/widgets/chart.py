"""A stacked bar chart of new entries per time bucket, one colour a provider:model."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

from igentai_tui.common.clock import span

BLOCKS = " ▁▂▃▄▅▆▇█"


def merge(buckets: Sequence[dict[str, int]], width: int) -> tuple[list[dict[str, int]], int]:
    """Fit `buckets` into `width` columns: adjacent buckets are summed `k` at a time."""
    k = max(1, math.ceil(len(buckets) / max(1, width)))
    if k == 1:
        return [dict(b) for b in buckets], 1
    cols: list[dict[str, int]] = []
    for i in range(0, len(buckets), k):
        col: dict[str, int] = {}
        for b in buckets[i : i + k]:
            for arm, n in b.items():
                col[arm] = col.get(arm, 0) + n
        cols.append(col)
    return cols, k


def stacked_bars(
    buckets: Sequence[dict[str, int]],
    arms: Sequence[str],
    colors: dict[str, str],
    width: int,
    height: int,
) -> tuple[Text, int]:
    """The chart as text rows (bottom row last), and how many buckets a column holds.

    While few buckets exist each is drawn up to three columns wide.
    """
    cols, k = merge(buckets, width)
    bar = max(1, min(3, width // max(1, len(cols))))
    order = list(arms) + sorted({a for c in cols for a in c} - set(arms))
    top = max((sum(c.values()) for c in cols), default=0)
    levels = height * 8
    # For each column, the cumulative height in eighths at the top of each arm's segment.
    stacks: list[list[tuple[int, str]]] = []
    for c in cols:
        acc, stack = 0, []
        for arm in order:
            n = c.get(arm, 0)
            if n:
                acc += n
                stack.append((max(1, round(acc / top * levels)), arm))
        stacks.append(stack)
    out = Text(no_wrap=True, overflow="crop", end="")
    for row in range(height - 1, -1, -1):
        lo = row * 8
        for stack in stacks:
            total = stack[-1][0] if stack else 0
            fill = min(8, max(0, total - lo))
            if fill == 0:
                out.append(" " * bar)
                continue
            mark = lo + fill - 1
            arm = next(a for h, a in stack if h > mark)
            out.append(BLOCKS[fill] * bar, style=colors.get(arm, "white"))
        if row:
            out.append("\n")
    return out, k


class BucketChart(Widget):
    """New entries per bucket over the whole run; older buckets merge when space runs out."""

    DEFAULT_CSS = """
    BucketChart { height: 1fr; min-height: 2; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._buckets: list[dict[str, int]] = []
        self._arms: list[str] = []
        self._colors: dict[str, str] = {}
        self._bucket_s = 5.0

    def update(
        self,
        buckets: Sequence[dict[str, int]],
        arms: Sequence[str],
        colors: dict[str, str],
        bucket_s: float,
    ) -> None:
        self._buckets = list(buckets)
        self._arms = list(arms)
        self._colors = dict(colors)
        self._bucket_s = bucket_s
        self.refresh()

    def render(self) -> Text:
        width, height = self.content_size
        if width < 4 or height < 2:
            return Text("")
        if not any(self._buckets):
            return Text("no entries yet", style="dim", end="")
        peak_cols, k = merge(self._buckets, width)
        peak = max(sum(c.values()) for c in peak_cols)
        bars, k = stacked_bars(self._buckets, self._arms, self._colors, width, height - 1)
        caption = Text(
            f"new per {span(self._bucket_s * k)}, peak {peak:,}", style="dim", no_wrap=True
        )
        caption.truncate(width, overflow="ellipsis")
        return Text("\n").join([caption, bars])
