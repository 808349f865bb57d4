"""The run screen: the live panels and the keys that steer the run.

The screen is the controller: it reads the coalesced `RunModel` (the run's events) at a fixed
rate, turns it into plain rows for the panels, and sends the Runner's thread-safe controls on
key presses.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import ClassVar, Protocol

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from igentai_tui.export import export_run
from igentai_tui.history import CommandError
from igentai_tui.tui.format import arm_colors
from igentai_tui.tui.model import ProducerRow, RunInfo, RunModel
from igentai_tui.tui.screens.dialogs import AddOnDialog, ExportDialog
from igentai_tui.tui.screens.help import HelpScreen
from igentai_tui.tui.widgets.header import RunHeader
from igentai_tui.tui.widgets.producers import ProducersTable
from igentai_tui.tui.widgets.providers import ProvidersTable
from igentai_tui.tui.widgets.recent import RecentEntries
from igentai_tui.tui.widgets.status import StatusLine
from igentai_tui.tui.widgets.throughput import VIEWS, ThroughputPanel

REFRESH_HZ = 3
# Below this width the footer's keys and "^p palette" do not fit side by side: the keys stay
# (`?` shows ctrl+p among them).
PALETTE_MIN_WIDTH = 96
SATURATION = 0.9  # Good-Turing coverage above which the status line warns
# The actions whose footer key depends on the run's state (`RunScreen.check_action`).
_STATEFUL_ACTIONS = ("pause_all", "resume_all", "pause_one", "resume_one", "add", "remove")

STATE_NAMES = {
    "backing_off": "backing off",
    "rate_limited": "rate-limited",
}


class Controls(Protocol):
    """What the screen sends the run (runner.Runner's controls; thread-safe)."""

    def pause(self, pid: int | None = None) -> None: ...
    def resume(self, pid: int | None = None) -> None: ...
    def add_producer(self, arm: str | None = None) -> int | None: ...
    def remove_producer(self, pid: int) -> bool: ...
    def stop(self, reason: str = ..., status: str = ...) -> None: ...
    def finish(self, reason: str = ..., status: str = ...) -> None: ...


def producer_rows(model: RunModel) -> list[ProducerRow]:
    """Rows for the producers panel from the producers' latest states and snapshot."""
    snap = model.snapshot
    rows = []
    for pid, p in sorted(model.states.items()):
        state = STATE_NAMES.get(p.state, p.state)
        live = not p.stopping and p.state != "stopped"
        if p.stopping and p.state != "stopped":
            state = "finishing"
        elif p.state == "stopped" and model.ended is None:
            state = "removed"
        elif (p.paused or model.all_paused) and p.state in ("running", "starting"):
            state = "pausing"
        view = snap.producers.get(pid) if snap else None
        rows.append(
            ProducerRow(
                pid=pid,
                state=state,
                arm=p.arm,
                partition=p.partition,
                requests=view.requests if view else 0,
                new=view.new if view else 0,
                per_min=view.unique_per_min if view else 0,
                last_error=p.last_error,
                live=live,
                paused=p.paused,
            )
        )
    return rows


class RunScreen(Screen[None]):
    """Throughput, producers, recent entries, providers, a status line and the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "pause_all", "Pause all"),
        Binding("space", "resume_all", "Resume all"),
        Binding("p", "pause_one", "Pause"),
        Binding("p", "resume_one", "Resume"),
        Binding("a", "add", "Add"),
        # In ? Help and the palette, not the footer: 80 columns keep the keys used most.
        Binding("A,shift+a", "add_on", "Add on…", key_display="A", show=False),
        Binding("d", "remove", "Remove"),
        Binding("s", "stop", "Stop"),
        Binding("q", "app.quit", "Quit"),
        Binding("c", "chart", "Curve"),
        Binding("question_mark", "help", "Help", key_display="?"),  # before e: the last cut
        Binding("e", "export", "Export"),
    ]

    # For the command palette: action, title, help.
    COMMAND_LIST = (
        ("pause_all", "Pause all producers", "Every producer stops after its current request"),
        ("resume_all", "Resume all producers", "Producers take requests again"),
        ("pause_one", "Pause the selected producer", "It stops after its current request"),
        ("resume_one", "Resume the selected producer", "It takes requests again"),
        ("add", "Add a producer", "On the provider:model routing favours"),
        ("add_on", "Add a producer on…", "Choose the provider:model"),
        ("chart", "Next chart", "New entries per 5 s, or the discovery curve (tokens, cost, time)"),
        ("remove", "Remove the selected producer", "It finishes its current request first"),
        ("stop", "Stop the run", "Cleanly: everything found is stored and written"),
        ("export", "Export entries", "To a txt, csv, jsonl or md file"),
        ("help", "Show keys and panels", "The help screen"),
    )

    def __init__(self, model: RunModel, controls: Controls, info: RunInfo) -> None:
        super().__init__()
        self.model = model
        self.controls = controls
        self.info = info
        self.stopping = False
        self._colors = arm_colors(info.arms)
        self._seen: tuple[int, str] = (-1, "")
        self._bindings_key: tuple[object, ...] = ()
        self._rows: list[ProducerRow] = []
        self.chart = "buckets"  # what the throughput chart shows (VIEWS)

    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        with Horizontal(id="top"):
            yield ThroughputPanel(id="throughput")
            yield RecentEntries(id="recent")
        yield ProducersTable(id="producers", cursor_type="row", zebra_stripes=False)
        yield ProvidersTable(id="providers", cursor_type="none")
        yield StatusLine(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#throughput").border_title = "Throughput"
        self.query_one("#producers").border_title = "Producers"
        self.query_one("#recent").border_title = "Recent entries"
        routing = f" · routing: {self.info.routing}" if self.info.routing else ""
        self.query_one("#providers").border_title = f"Providers{routing} · share of last minute"
        self.query_one(ProducersTable).focus()
        self._fit_footer(self.app.size.width)
        self.refresh_panels()
        self.set_interval(1 / REFRESH_HZ, self.refresh_panels)

    def on_resize(self, event: events.Resize) -> None:
        self._fit_footer(event.size.width)

    def _fit_footer(self, width: int) -> None:
        footer = self.query_one(Footer)
        wide = width >= PALETTE_MIN_WIDTH
        if footer.show_command_palette != wide:
            footer.show_command_palette = wide
            self.refresh_bindings()

    # -- state -----------------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self.model.ended is not None

    @property
    def running(self) -> bool:
        """The run takes commands: not ended and not being stopped."""
        return not self.ended and not self.stopping

    @property
    def selected(self) -> ProducerRow | None:
        pid = self.query_one(ProducersTable).selected_pid
        return next((r for r in self._rows if r.pid == pid), None)

    def phase(self) -> tuple[str, str]:
        """The run's state in a word, and its style."""
        if self.model.ended is not None:
            status = self.model.ended.status
            return status.upper(), {"failed": "red", "completed": "green"}.get(status, "yellow")
        if self.stopping:
            return "STOPPING", "yellow"
        if self.model.all_paused:
            return "PAUSED", "yellow"
        return "RUNNING", "green"

    # -- refresh ---------------------------------------------------------------------------

    def refresh_panels(self) -> None:
        """Render the latest coalesced state; called at REFRESH_HZ and after each key."""
        model = self.model
        rows = producer_rows(model)
        word, style = self.phase()
        seen = (model.version, word)
        changed = seen != self._seen or rows != self._rows
        self._rows = rows
        self._update_bindings()
        if not changed:
            return
        self._seen = seen
        info = self.info
        arms = list(info.arms)
        snap = model.snapshot
        if snap is not None:
            arms += [a for a in snap.arms if a not in arms]
        for a in arms:
            self._colors.setdefault(a, arm_colors(arms)[a])
        per_arm: dict[str, int] = {}
        for r in rows:
            if r.live:
                per_arm[r.arm] = per_arm.get(r.arm, 0) + 1
        uid = model.run.uid if model.run is not None else info.uid
        self.query_one(RunHeader).show(info.topic, uid, info.sim_only)
        self.query_one(ThroughputPanel).show(
            snap, info.limits, model.series.buckets, model.series.bucket_s, arms, self._colors,
            model.discovery, self.chart,
        )  # fmt: skip
        self.query_one(ProducersTable).show(rows, self._colors)
        self.query_one(RecentEntries).show(model.recent, self._colors, len(arms) > 1)
        self.query_one("#recent").border_subtitle = f"{model.found:,} found"
        self.query_one(ProvidersTable).show(snap, arms, per_arm, self._colors)
        self.query_one(StatusLine).show(
            word, style, model.last_notice, self._hint(), self._warnings(rows)
        )

    def _hint(self) -> str:
        ended = self.model.ended
        if ended is not None:
            return f"{ended.reason} · q quits · e exports"
        if self.stopping:
            return "storing what was found…"
        if self.model.all_paused:
            return "all producers paused · space resumes"
        return ""

    def _warnings(self, rows: list[ProducerRow]) -> str:
        """Rate limits and back-offs in force, and saturation, derived from the state."""
        if self.model.ended is not None:
            return ""
        parts = []
        limited = sum(r.state == "rate-limited" for r in rows)
        backing = sum(r.state == "backing off" for r in rows)
        if limited:
            parts.append(f"{limited} waiting for rate limits")
        if backing:
            parts.append(f"{backing} backing off after errors")
        snap = self.model.snapshot
        gt = snap.coverage.good_turing if snap else None
        if snap is not None and gt is not None and gt >= SATURATION and snap.total.requests >= 20:
            parts.append(f"saturation: ~{gt:.0%} of proposals now repeat known entries")
        return " · ".join(parts)

    def _update_bindings(self) -> None:
        # Refresh only when what the footer shows changes. Textual rebuilds the footer on every
        # refresh and keeps each discarded key widget alive (textual#6666): refreshing on every
        # cursor move or change of the producers' figures leaked thousands of widgets an hour,
        # and the garbage collector's full passes over them stalled the app for seconds.
        key = tuple(self.check_action(action, ()) for action in _STATEFUL_ACTIONS)
        if key != self._bindings_key:
            self._bindings_key = key
            self.refresh_bindings()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._update_bindings()

    # -- bindings --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Enabled (True), shown disabled (None) or hidden (False), as Textual reads it."""
        running = self.running
        sel = self.selected if self.is_mounted else None
        paused_all = self.model.all_paused
        if action == "pause_all":
            return None if not running else not paused_all
        if action == "resume_all":
            return running and paused_all
        if action == "pause_one":
            if sel is not None and sel.live and sel.paused:
                return False
            return True if running and sel is not None and sel.live else None
        if action == "resume_one":
            return running and sel is not None and sel.live and sel.paused
        if action in ("add", "add_on", "stop"):
            return True if running else None
        if action == "remove":
            live = sum(r.live for r in self._rows)
            ok = running and sel is not None and sel.live and live > 1
            return True if ok else None
        return True

    def _after(self) -> None:
        self.refresh_panels()
        self.refresh_bindings()
        self.call_later(self.refresh_panels)  # once the control's event is in

    def action_pause_all(self) -> None:
        self.controls.pause()
        self._after()

    def action_resume_all(self) -> None:
        self.controls.resume()
        self._after()

    def action_pause_one(self) -> None:
        if (sel := self.selected) is not None:
            self.controls.pause(sel.pid)
        self._after()

    def action_resume_one(self) -> None:
        if (sel := self.selected) is not None:
            self.controls.resume(sel.pid)
        self._after()

    def action_add(self) -> None:
        self._add(None)

    def _add(self, arm: str | None) -> None:
        if not self.running:
            return
        pid = self.controls.add_producer(arm)
        if pid is None:
            self.notify("no producer added: no usable provider", severity="warning")
        self._after()

    def action_add_on(self) -> None:
        counts: dict[str, int] = {}
        for r in self._rows:
            if r.live:
                counts[r.arm] = counts.get(r.arm, 0) + 1

        def picked(arm: str | None) -> None:
            if arm is not None:
                self._add(arm)

        self.app.push_screen(AddOnDialog(self.info.arms, counts), picked)

    def action_remove(self) -> None:
        sel = self.selected
        if sel is None:
            return
        if self.controls.remove_producer(sel.pid):
            self.notify(f"producer #{sel.pid} stops after its current request")
        self._after()

    def action_stop(self) -> None:
        self.stop_run("stopped by user")

    def stop_run(self, reason: str) -> None:
        """Stop the run cleanly; the panels keep showing it once it has ended."""
        if not self.running:
            return
        self.stopping = True
        self.controls.finish(reason)
        self._after()

    def action_chart(self) -> None:
        """Show the next chart: new entries per 5 s, then the discovery curve against tokens,
        cost and time."""
        self.chart = VIEWS[(VIEWS.index(self.chart) + 1) % len(VIEWS)]
        self._seen = (-1, "")  # redraw now
        self.refresh_panels()

    def action_export(self) -> None:
        run = self.model.run
        if run is None:
            self.notify("nothing to export yet", severity="warning")
            return

        def chosen(choice: tuple[str, Path] | None) -> None:
            if choice is not None:
                self.run_worker(self._export(run.run_id, *choice), group="export")

        self.app.push_screen(ExportDialog(f"igentai-{run.uid}"), chosen)

    async def _export(self, run_id: int, fmt: str, path: Path) -> None:
        try:
            n = await asyncio.to_thread(export_run, self.info.db, run_id, fmt, path)
        except (CommandError, sqlite3.Error) as exc:
            self.notify(f"export failed: {exc}", severity="error", markup=False)
            return
        self.notify(f"exported {n:,} entries to {path}", markup=False)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())
