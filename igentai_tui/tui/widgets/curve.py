"""The discovery curve: confirmed entries against tokens, cost or time, with the estimated
number of real entries as a horizontal line (textual-plotext draws it)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import RenderableType
from textual_plotext import PlotextPlot

from igentai_tui.curve import AXES

COMPACT_BELOW = 10  # rows under which the curve is drawn without axes (the caption scales it)


class DiscoveryCurve(PlotextPlot):
    """Drawn again only when its data or its size changed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._data: tuple[list[float], list[int], str, float | None] = ([], [], "tokens", None)
        self._shown: tuple[object, ...] = ()

    def show(
        self, x: Sequence[float], y: Sequence[int], axis: str, total: float | None
    ) -> None:
        key = (len(x), x[-1] if x else None, y[-1] if y else None, axis, total)
        if key != self._shown:
            self._shown = key
            self._data = (list(x), list(y), axis, total)
            self.refresh()

    def render(self) -> RenderableType:
        x, y, axis, total = self._data
        plt = self.plt
        plt.clear_figure()
        if x:
            plt.plot(x, y, marker="braille")
        if total:
            plt.hline(total)
        if self.size.height < COMPACT_BELOW:
            plt.frame(False)
            plt.xticks([])
            plt.yticks([])
        else:
            plt.xlabel(AXES[axis])
        return super().render()
