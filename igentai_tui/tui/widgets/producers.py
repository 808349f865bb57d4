"""Producers: one selectable row per producer with its state and last error."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from igentai_tui.engine.prompts import short_partition
from igentai_tui.tui.format import ARM_MAX, DASH, STATE_STYLE, num, safe
from igentai_tui.tui.model import ProducerRow
from igentai_tui.tui.widgets.table import KeyedTable, cell


def producer_cells(row: ProducerRow, color: str) -> list[Text]:
    dim = "" if row.live else "dim"
    return [
        cell(f"#{row.pid}", dim),
        cell(row.state, STATE_STYLE.get(row.state, ""), right=False),
        Text.assemble(("■ ", color), safe(row.arm, ARM_MAX, dim), no_wrap=True, end=""),
        cell(num(row.requests), dim),
        cell(num(row.new), dim or "bold"),
        safe(short_partition(row.partition), 32, dim)
        if row.partition
        else cell(DASH, "dim", right=False),
        safe(row.last_error, 80, "red") if row.last_error else cell("", right=False),
    ]


class ProducersTable(KeyedTable):
    """The producers; the highlighted row is the one `p` and `d` act on."""

    COLUMNS = (
        ("pid", "#", True),
        ("state", "state", False),
        ("arm", "provider:model", False),
        ("requests", "req", True),
        ("new", "new", True),
        ("partition", "partition", False),
        ("error", "last error", False),
    )

    def show(self, rows: Sequence[ProducerRow], colors: dict[str, str]) -> None:
        self.sync([(str(r.pid), producer_cells(r, colors.get(r.arm, ""))) for r in rows])

    @property
    def selected_pid(self) -> int | None:
        """The producer under the cursor, if any."""
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:
            return None
        return int(key.value) if key.value is not None else None
