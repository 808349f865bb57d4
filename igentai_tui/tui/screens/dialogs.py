"""Small modal dialogs: confirm quit, add a producer on a chosen provider, export."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from igentai_tui.engine.words import count
from igentai_tui.export import FORMATS
from igentai_tui.tui.format import arm_text


class ConfirmQuit(ModalScreen[bool]):
    """Asked when `q` is pressed while a run is going."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Stop and quit"),
        Binding("n,escape", "answer(False)", "Cancel"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(
                "A run is going. Stop it and quit?\n"
                "Everything found so far is stored in the database and output file.",
                classes="dialog-text",
            )
            with Horizontal(classes="buttons"):
                yield Button("Stop and quit (y)", variant="error", id="yes")
                yield Button("Cancel (n)", id="no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class AddOnDialog(ModalScreen[str | None]):
    """Pick the provider:model a new producer runs on."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, arms: Sequence[str], counts: dict[str, int]) -> None:
        super().__init__()
        self._arms = list(arms)
        self._counts = counts

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Add a producer on:")
            options = [
                Option(
                    Text.assemble(
                        arm_text(arm, 60),
                        (f"  ({count(self._counts.get(arm, 0), 'producer')})", "dim"),
                    ),
                    id=f"arm-{i}",
                )
                for i, arm in enumerate(self._arms)
            ]
            yield OptionList(*options, id="arms")
            yield Static("enter adds · escape cancels", classes="hint")

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._arms[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)


class ExportDialog(ModalScreen[tuple[str, Path] | None]):
    """Choose a format and a file; the run's entries are written there."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, stem: str, folder: Path | None = None) -> None:
        super().__init__()
        self._stem = stem
        self._folder = folder or Path.cwd()

    def _default(self, fmt: str) -> str:
        return str(self._folder / f"{self._stem}.{fmt}")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Export this run's entries")
            yield Select([(f, f) for f in FORMATS], value="txt", allow_blank=False, id="format")
            yield Input(self._default("txt"), id="path")
            yield Static("", id="export-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Export", variant="primary", id="export")
                yield Button("Cancel", id="cancel")

    @on(Select.Changed, "#format")
    def _format(self, event: Select.Changed) -> None:
        path = self.query_one("#path", Input)
        current = Path(path.value)
        if current.stem == self._stem and current.suffix.lstrip(".") in FORMATS:
            path.value = str(current.with_suffix(f".{event.value}"))

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#export")
    def _export(self) -> None:
        value = self.query_one("#path", Input).value.strip()
        if not value:
            self.query_one("#export-error", Static).update("a file name is needed")
            return
        fmt = str(self.query_one("#format", Select).value)
        self.dismiss((fmt, Path(value).expanduser()))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
