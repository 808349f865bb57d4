"""Producers: one selectable row per producer with its state and last error."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from igentai_tui.engine.prompts import short_partition
from igentai_tui.tui.format import (
    ARM_MAX,
    ARM_WIDE,
    DASH,
    STATE_STYLE,
    arm_label,
    arm_text,
    num,
    safe,
)
from igentai_tui.tui.model import ProducerRow
from igentai_tui.tui.widgets.table import KeyedTable, cell

PADDING = 2 * 7  # a space each side of each of the seven columns
ERROR_MIN = 20  # a last error shown keeps at least this much; the partition gives way first


def producer_cells(
    row: ProducerRow, color: str, widths: tuple[int, int, int] = (ARM_MAX, 32, 80)
) -> list[Text]:
    """One row; `widths` bounds the provider:model, partition and last error cells."""
    arm_max, part_max, error_max = widths
    dim = "" if row.live else "dim"
    return [
        cell(f"#{row.pid}", dim),
        cell(row.state, STATE_STYLE.get(row.state, ""), right=False),
        Text.assemble(("■ ", color), arm_text(row.arm, arm_max, dim), no_wrap=True, end=""),
        cell(num(row.requests), dim),
        cell(num(row.new), dim or "bold"),
        safe(short_partition(row.partition), part_max, dim)
        if row.partition
        else cell(DASH, "dim", right=False),
        safe(row.last_error, error_max, "red") if row.last_error else cell("", right=False),
    ]


def column_widths(rows: Sequence[ProducerRow], width: int) -> tuple[int, int, int]:
    """How wide the provider:model, partition and last error cells may be in a table `width`
    wide: names in full when they fit; else, to make room for a last error, the provider:model
    gives way down to ARM_MAX characters, then the partition down to 12, then the
    provider:model down to 12."""
    fixed = sum(
        max([len(head), *(len(text) for text in texts)])
        for head, texts in (
            ("#", [f"#{r.pid}" for r in rows]),
            ("state", [r.state for r in rows]),
            ("req", [num(r.requests) for r in rows]),
            ("new", [num(r.new) for r in rows]),
        )
    )
    rest = max(width - fixed - PADDING, 40)
    arm = min(ARM_WIDE, max((len(arm_label(r.arm)) for r in rows), default=0)) + 2  # "■ "
    part = min(40, max((len(short_partition(r.partition or "")) for r in rows), default=0))
    arm, part = max(arm, len("provider:model")), max(part, len("partition"))  # the headers
    error = ERROR_MIN if any(r.last_error for r in rows) else len("last error")
    widths = {"arm": arm, "part": part}
    for column, floor in (("arm", ARM_MAX + 2), ("part", 12), ("arm", 14)):
        short = sum(widths.values()) + error - rest
        widths[column] -= max(0, min(short, widths[column] - floor))
    arm, part = widths["arm"], widths["part"]
    return arm - 2, part, max(8, rest - arm - part)


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
        self.shown = (rows, colors)
        widths = column_widths(rows, self.size.width or 100)
        self.sync([(str(r.pid), producer_cells(r, colors.get(r.arm, ""), widths)) for r in rows])

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
