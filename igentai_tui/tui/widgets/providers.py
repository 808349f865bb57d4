"""Providers: one row per provider:model with its efficiency figures."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from igentai_tui.engine.metrics import Snapshot, TallyView
from igentai_tui.tui.format import (
    ARM_MAX,
    ARM_WIDE,
    DASH,
    arm_text,
    compact,
    latency,
    money,
    num,
    pct,
)
from igentai_tui.tui.widgets.table import KeyedTable, cell

FIGURES = 76  # what the eleven columns of figures take, with every column's padding


def provider_cells(
    arm: str,
    view: TallyView | None,
    producers: int,
    recent_requests: int,
    color: str,
    arm_max: int = ARM_MAX,
) -> list[Text]:
    """One row; `share` is the arm's share of the requests of the last minute."""
    label = Text.assemble(("■ ", color), arm_text(arm, arm_max), no_wrap=True, end="")
    if view is None:
        return [label, cell(str(producers))] + [cell(DASH, "dim")] * 10
    per_new = getattr(view, "cost_per_new", None)
    if per_new is None and view.cost_usd is not None and view.new:
        per_new = view.cost_usd / view.new
    per_1k = per_new * 1000 if per_new is not None else None
    share = view.requests_per_min / recent_requests if recent_requests else None
    return [
        label,
        cell(str(producers)),
        cell(num(view.requests)),
        cell(num(view.returned)),
        cell(num(view.new), "bold"),
        cell(pct(view.yield_)),
        cell(num(view.unique_per_min)),
        cell(compact(view.tokens_per_new)),
        cell(money(per_1k)),
        cell(latency(view.latency_p50)),
        cell(num(view.errors), "red" if view.errors else ""),
        cell(pct(share)),
    ]


class ProvidersTable(KeyedTable):
    """Requests, returned, new, yield, rate, tokens per new entry, cost, latency, errors, share."""

    COLUMNS = (
        ("arm", "provider:model", False),
        ("producers", "prod", True),
        ("requests", "req", True),
        ("returned", "ret", True),
        ("new", "new", True),
        ("yield", "yield", True),
        ("per_min", "/min", True),
        ("tok_new", "tok/new", True),
        ("cost_1k", "$/1k", True),
        ("p50", "p50", True),
        ("errors", "err", True),
        ("share", "share", True),
    )

    def show(
        self,
        snap: Snapshot | None,
        arms: Sequence[str],
        producers_per_arm: dict[str, int],
        colors: dict[str, str],
    ) -> None:
        self.shown = (snap, arms, producers_per_arm, colors)
        views = snap.arms if snap else {}
        total = snap.total.requests_per_min if snap else 0
        order = list(arms) + sorted(set(views) - set(arms))
        arm_max = max(ARM_MAX, min(ARM_WIDE, (self.size.width or 100) - FIGURES - 2))
        self.sync(
            [
                (
                    arm,
                    provider_cells(
                        arm,
                        views.get(arm),
                        producers_per_arm.get(arm, 0),
                        total,
                        colors.get(arm, ""),
                        arm_max,
                    ),
                )
                for arm in order
            ]
        )
