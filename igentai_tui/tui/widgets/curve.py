"""The discovery curve: confirmed entries against tokens, cost or time, with the estimated
number of real entries as a horizontal line, and, with several provider:models, what each
found in its colour (textual-plotext draws it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual.app import RenderResult
from textual_plotext import PlotextPlot

from igentai_tui.curve import AXES

COMPACT_BELOW = 10  # rows under which the curve is drawn without axes (the caption scales it)


class DiscoveryCurve(PlotextPlot):
    """Drawn again only when its data or its size changed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._x: list[float] = []
        self._y: list[int] = []
        self._arms: list[tuple[list[int], tuple[int, int, int]]] = []
        self._axis = "tokens"
        self._total: float | None = None
        self._band: tuple[float, float] | None = None
        self._shown: tuple[object, ...] = ()

    def show(
        self,
        x: Sequence[float],
        y: Sequence[int],
        axis: str,
        total: float | None,
        arms: Mapping[str, Sequence[int]] | None = None,
        colors: Mapping[str, str] | None = None,
        band: tuple[float, float] | None = None,
    ) -> None:
        """Draw `y` against `x`, the estimated `total` and its `band` as horizontal lines,
        and each arm's series in its colour when there are two or more."""
        key = (len(x), x[-1] if x else None, y[-1] if y else None, axis, total, band)
        self._band = band
        if key == self._shown:
            return
        self._shown = key
        self._x, self._y, self._axis, self._total = list(x), list(y), axis, total
        several = arms is not None and len(arms) > 1
        self._arms = [
            (list(values), _rgb((colors or {}).get(arm, "#888888")))
            for arm, values in (arms or {}).items()
        ] if several else []  # fmt: skip
        self.refresh()

    def render(self) -> RenderResult:
        plt = self.plt
        plt.clear_figure()
        if self._x:
            plt.plot(self._x, self._y, marker="braille")
            for values, color in self._arms:
                plt.plot(self._x, values, marker="braille", color=color)
        if self._total:
            for edge in self._band or ():
                plt.hline(edge, "gray")
            plt.hline(self._total)
        if self.size.height < COMPACT_BELOW:
            plt.frame(False)
            plt.xticks([])
            plt.yticks([])
        else:
            plt.xlabel(AXES[self._axis])
        return super().render()


def _rgb(color: str) -> tuple[int, int, int]:
    """A "#rrggbb" colour as plotext takes it."""
    h = color.lstrip("#")
    if len(h) != 6:
        return (136, 136, 136)
    return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))
