"""The help screen (`?`): keys and what each panel shows."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("space", "pause all producers / resume them"),
    ("p", "pause / resume the selected producer (↑↓ select)"),
    ("a", "add a producer on the provider routing favours"),
    ("A", "add a producer on a provider you choose"),
    ("d", "remove the selected producer (it finishes its request first)"),
    ("s", "stop the run cleanly: what is pending is checked, everything found is stored"),
    (
        "c",
        "the chart: new entries per 5 s, then the discovery curve (confirmed entries against "
        "tokens, cost, time; the line is the estimated total)",
    ),
    ("e", "export the run's entries (txt, csv, jsonl, md)"),
    ("q", "quit (asks first while a run is going, then stops it cleanly)"),
    ("ctrl+p", "command palette: every command by name, and themes"),
    ("?", "this help"),
)

PANELS = (
    ("Throughput", "entries confirmed, pending (waiting for verification), rejected "
     "(invented) and merged (a variant of another), new per minute, requests, tokens, cost, "
     "elapsed time, coverage estimate (confirmed entries of the estimated real total), stop "
     "condition progress, and new entries per 5 s bucket, one colour a provider:model"),
    ("Producers", "state, provider:model, partition, requests, new entries, last error"),
    ("Recent entries", "the newest entries (pending until verified) and who found them"),
    ("Providers", "per provider:model: producers, requests, returned, new, yield, new/min, "
     "tokens per new entry, cost per 1k new, p50 latency, errors, share of requests"),
    ("Status line", "the run's state and the latest warning"),
)  # fmt: skip


def help_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row(Text("Keys", style="bold underline"), "")
    for key, what in KEYS:
        table.add_row(key, what)
    table.add_row("", "")
    table.add_row(Text("Panels", style="bold underline"), "")
    for name, what in PANELS:
        table.add_row(name, what)
    table.add_row("", "")
    table.add_row("", Text("escape or ? closes this help", style="dim"))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Static(help_table())

    def action_close(self) -> None:
        self.dismiss(None)
