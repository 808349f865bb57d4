"""Recent entries: the newest unique entries, with the producer and provider that found them."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from igentai_tui.engine.events import FoundEntry
from igentai_tui.tui.format import arm_text, safe

ENTRY_MAX = 120


class RecentEntries(Widget):
    """Newest first; shows as many as fit. The entries are untrusted and shown literally."""

    DEFAULT_CSS = """
    RecentEntries { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._entries: list[FoundEntry] = []
        self._colors: dict[str, str] = {}
        self._show_arm = True

    def show(self, entries: Sequence[FoundEntry], colors: dict[str, str], show_arm: bool) -> None:
        """`entries` oldest first (only the last screenful is kept)."""
        self._entries = list(entries)[-200:]
        self._colors = colors
        self._show_arm = show_arm
        self.refresh()

    def render(self) -> Table | Text:
        width, height = self.content_size
        if not self._entries:
            return Text("nothing found yet", style="dim")
        table = Table.grid(expand=True, padding=(0, 1))
        table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        table.add_column(no_wrap=True, justify="right")
        for e in reversed(self._entries[-max(1, height) :]):
            src = Text(f"#{e.producer}", style="dim", end="")
            if self._show_arm and width >= 60:
                src.append(" ")
                src.append_text(arm_text(e.arm, 18, self._colors.get(e.arm, "dim")))
            elif self._show_arm:
                src.append(" ■", style=self._colors.get(e.arm, "dim"))
            table.add_row(safe(e.text, ENTRY_MAX), src)
        return table
