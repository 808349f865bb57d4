"""Drawing discovery curves: in the terminal (plotext), or as a PNG or SVG file (matplotlib,
the optional `plot` extra: `pip install 'igentai[plot]'`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from igentai_tui.common.sanitize import display_text
from igentai_tui.curve import AXES, Curve

IMAGE_SUFFIXES = (".png", ".svg")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class PlotError(Exception):
    """A picture that cannot be made (no matplotlib, an unknown file type)."""


def text_plot(
    curves: Sequence[Curve],
    axis: str,
    width: int,
    height: int,
    total: float | None = None,
    color: bool = False,
    title: str = "",
) -> str:
    """The curves drawn as text: confirmed entries against `axis`, with `total` (an estimated
    number of entries) as a horizontal line; ANSI colours only with `color`."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(max(20, width), max(8, height))
    plt.theme("pro" if color else "clear")
    for c in curves:
        if c.x:
            plt.plot(c.x, c.y, label=display_text(c.label, 40) or None)
    if total:
        plt.hline(total)
    if title:
        plt.title(display_text(title, 80))
    plt.xlabel(AXES[axis])
    plt.ylabel("confirmed")
    out = plt.build()
    return out if color else _ANSI.sub("", out)


def image_plot(
    curves: Sequence[Curve],
    axis: str,
    path: Path,
    total: float | None = None,
    title: str = "",
) -> None:
    """The curves written as a PNG or SVG file (by its suffix)."""
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise PlotError(f"cannot write {path}: give a .png or .svg file")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as mpl
    except ImportError:
        raise PlotError(
            "writing an image needs matplotlib: pip install 'igentai[plot]' "
            "(without a file, --plot draws in the terminal)"
        ) from None
    fig, ax = mpl.subplots(figsize=(8, 4.5), dpi=100)
    for c in curves:
        ax.plot(c.x, c.y, label=display_text(c.label, 60), linewidth=1.6)
    if total:
        ax.axhline(total, linestyle="--", color="grey", linewidth=1, label="estimated total")
    ax.set_xlabel(AXES[axis])
    ax.set_ylabel("confirmed entries")
    if title:
        ax.set_title(display_text(title, 100))
    ax.grid(alpha=0.3)
    if any(c.label for c in curves) or total:
        ax.legend(loc="lower right")
    fig.tight_layout()
    try:
        fig.savefig(path)
    except OSError as exc:
        raise PlotError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        mpl.close(fig)
