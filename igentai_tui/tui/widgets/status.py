"""The status line: the run's state and the latest warning (rate limits, disabled providers)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from igentai_tui.engine.events import Notice
from igentai_tui.tui.format import safe

LEVEL_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}


class StatusLine(Static):
    """One line: what the run is doing, then the newest notice."""

    def show(
        self,
        state: str,
        state_style: str,
        notice: Notice | None,
        hint: str = "",
        warnings: str = "",
    ) -> None:
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        line.append(f" {state} ", style=f"bold reverse {state_style}".strip())
        if warnings:
            line.append("  ")
            line.append(warnings, style="yellow")
        if hint:  # may carry a stop reason quoting a provider's error: untrusted
            line.append("  ")
            line.append_text(safe(hint, 200, "dim"))
        if notice is not None:
            line.append(" · " if warnings else "  ", style="dim")
            line.append_text(safe(notice.message, 200, LEVEL_STYLE.get(notice.level, "yellow")))
        self.update(line)
