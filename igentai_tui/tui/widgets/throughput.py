"""Throughput: entries by state, rate, requests, tokens, cost, coverage, stop progress, chart."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from igentai_tui.engine.metrics import Snapshot
from igentai_tui.engine.settings import Limits
from igentai_tui.engine.words import count
from igentai_tui.tui.format import arm_text, clock, compact, limit_progress, money, num, pct
from igentai_tui.tui.model import Discovery
from igentai_tui.tui.widgets.chart import BucketChart
from igentai_tui.tui.widgets.curve import DiscoveryCurve

# What the chart shows, in the order `c` goes through them.
VIEWS = ("buckets", "tokens", "cost", "time")


def _band(band: tuple[float, float] | None) -> str:
    return f" ({band[0]:,.0f}–{band[1]:,.0f})" if band else ""


def _bar(share: float, width: int = 10) -> str:
    filled = round(share * width)
    return "█" * filled + "░" * (width - filled)


def stats_text(snap: Snapshot | None, limits: Limits) -> Text:
    """The figures above the chart, one short line each."""
    lines: list[Text] = []
    if snap is None:
        return Text("starting…", style="dim")
    t = snap.total
    lines.append(
        Text.assemble(
            ("Confirmed ", "dim"),
            (num(snap.confirmed), "bold"),
            ("  pending ", "dim"),
            num(snap.pending),
            ("  rejected ", "dim"),
            num(snap.rejected),
            ("  merged ", "dim"),
            num(snap.merged),
        )
    )
    lines.append(
        Text.assemble(
            ("New ", "dim"),
            (num(t.unique_per_min), "bold"),
            ("/min", "dim"),
            ("   elapsed ", "dim"),
            clock(snap.elapsed_s),
        )
    )
    errors = f" ({count(t.errors, 'error')})" if t.errors else ""
    lines.append(
        Text.assemble(
            ("Requests ", "dim"),
            num(t.requests),
            (errors, "red"),
            ("   tokens ", "dim"),
            f"{compact(t.input_tokens)} in / {compact(t.output_tokens)} out",
            ("   cost ", "dim"),
            money(t.cost_usd),
        )
    )
    cov = snap.coverage
    if cov.estimated_total and cov.completeness is not None:
        lines.append(
            Text.assemble(
                ("Coverage ", "dim"),
                f"~{pct(cov.completeness)} of ≈{cov.estimated_total:,.0f} real",
                (_band(cov.estimated_band), "dim"),
                ("   Good-Turing ", "dim"),
                pct(cov.good_turing),
            )
        )
    else:
        lines.append(Text.assemble(("Coverage ", "dim"), ("not enough data yet", "dim")))
    progress = limit_progress(limits, snap)
    if progress:
        label, share = max(progress, key=lambda p: p[1])
        others = len(progress) - 1
        lines.append(
            Text.assemble(
                ("Stop at ", "dim"),
                f"{label} ",
                (_bar(share), "green"),
                f" {share:.0%}",
                (f"  (+{others} more)" if others else "", "dim"),
            )
        )
    else:
        lines.append(Text("No stop condition: runs until you press s", style="dim"))
    for line in lines:
        line.no_wrap = True
        line.overflow = "ellipsis"
    return Text("\n").join(lines)


def legend_text(arms: Sequence[str], colors: dict[str, str]) -> Text:
    """Each provider:model in its chart colour."""
    out = Text(end="")
    for i, arm in enumerate(arms):
        if i:
            out.append("  ")
        out.append_text(arm_text(arm, 48, f"bold {colors.get(arm, 'white')}"))
    return out


def curve_caption(curve: Discovery, axis: str, snap: Snapshot | None) -> Text:
    """Where the discovery curve ends (its scale), the estimated total it climbs towards (the
    horizontal line), and what a new entry costs now."""
    x = curve.axis(axis)
    end = x[-1] if x else 0.0
    at = {"tokens": f"{compact(int(end))} tokens", "cost": money(end), "time": clock(end)}[axis]
    out = Text.assemble(
        (num(curve.confirmed[-1] if curve.confirmed else 0), "bold"), (" confirmed at ", "dim"), at
    )
    est = snap.coverage.estimated_total if snap is not None else None
    if est:
        out.append_text(Text.assemble(("  ─ ", "dim"), f"≈{est:,.0f}", (" estimated", "dim")))
    last = curve.marginal()
    if last is not None:
        out.append_text(Text.assemble(("  last 1k tokens: ", "dim"), f"{last:,} new"))
    out.no_wrap = True
    out.overflow = "ellipsis"
    return out


class ThroughputPanel(Vertical):
    """The figures of the run and a chart: new entries over time, or the discovery curve."""

    DEFAULT_CSS = """
    ThroughputPanel > #stats { height: auto; }
    ThroughputPanel > #legend { height: auto; }
    ThroughputPanel > #curve { display: none; }
    ThroughputPanel.-curve > #curve { display: block; }
    ThroughputPanel.-curve > #chart { display: none; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="stats")
        yield Static(id="legend")
        yield BucketChart(id="chart")
        yield DiscoveryCurve(id="curve")

    def show(
        self,
        snap: Snapshot | None,
        limits: Limits,
        buckets: Sequence[dict[str, int]],
        bucket_s: float,
        arms: Sequence[str],
        colors: dict[str, str],
        curve: Discovery | None = None,
        view: str = "buckets",
    ) -> None:
        self.query_one("#stats", Static).update(stats_text(snap, limits))
        self.set_class(view != "buckets", "-curve")
        if view == "buckets" or curve is None:
            self.query_one("#legend", Static).update(legend_text(arms, colors))
            self.query_one(BucketChart).update(buckets, arms, colors, bucket_s)
            return
        self.query_one("#legend", Static).update(curve_caption(curve, view, snap))
        total = snap.coverage.estimated_total if snap is not None else None
        band = snap.coverage.estimated_band if snap is not None else None
        self.query_one(DiscoveryCurve).show(
            curve.axis(view), curve.confirmed, view, total, curve.arms, colors, band
        )
