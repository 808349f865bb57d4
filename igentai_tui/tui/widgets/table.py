"""A DataTable that is updated in place, row by row, so the cursor stays where it was."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual import events
from textual.widgets import DataTable


class KeyedTable(DataTable[Text]):
    """Rows keyed by a string; `sync()` adds, updates and removes rows to match.

    A subclass's `show(*args)` makes the rows, fitting them to the table's width, and keeps
    its arguments in `shown`: the rows are made again when the width changes."""

    COLUMNS: Sequence[tuple[str, str, bool]] = ()  # key, label, right-aligned
    shown: tuple[Any, ...] | None = None

    def on_mount(self) -> None:
        for key, label, right in self.COLUMNS:
            self.add_column(Text(label, justify="right" if right else "left"), key=key)

    def on_resize(self, event: events.Resize) -> None:
        if self.shown is not None:
            self.show(*self.shown)

    def show(self, *args: Any) -> None:
        raise NotImplementedError

    def sync(self, rows: Sequence[tuple[str, Sequence[Text]]]) -> None:
        """Make the table hold exactly `rows` (key, cells), in that order."""
        wanted = [key for key, _ in rows]
        current = [str(k.value) for k in self.rows]
        if current != wanted[: len(current)]:
            keep = self.cursor_row
            self.clear()
            for key, cells in rows:
                self.add_row(*cells, key=key)
            if rows:
                self.move_cursor(row=min(keep, len(rows) - 1), animate=False)
        else:
            col_keys = [c[0] for c in self.COLUMNS]
            for key, cells in rows:
                if key in current:
                    old = self.get_row(key)
                    for col, old_cell, cell in zip(col_keys, old, cells, strict=True):
                        if not _same(old_cell, cell):
                            self.update_cell(key, col, cell, update_width=True)
                else:
                    self.add_row(*cells, key=key)
        # A DataTable measures new and changed cells when it is next idle, only ever widening a
        # column when rows are added, and may draw before that: columns are fitted here, now,
        # and the table sent a message so that it is idle after (its scrollable size).
        for i, column in enumerate(self.ordered_columns):
            column.content_width = max([column.label.cell_len, *(c[i].cell_len for _, c in rows)])
        self.call_later(self.refresh)


def cell(value: str, style: str = "", right: bool = True) -> Text:
    """A table cell (never parsed as markup)."""
    return Text(value, style=style, justify="right" if right else "left", no_wrap=True, end="")


def _same(a: object, b: Text) -> bool:
    return (
        isinstance(a, Text)
        and a.plain == b.plain
        and a.style == b.style
        and a.spans == b.spans
        and a.justify == b.justify
    )
