"""The top line: the topic, the providers, and a plain warning when only sim is used."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from igentai_tui.tui.format import safe

SIM_ONLY = "SIMULATED · only sim (offline simulator) is in use: no API key, no real LLM"


class RunHeader(Static):
    """igentai · topic · run id, and the simulator warning on a line of its own."""

    def show(self, topic: str, uid: str, sim_only: bool) -> None:
        line = Text.assemble(
            ("igentai", "bold"),
            ("  ·  ", "dim"),
            safe(topic, 80, "bold"),
            (f"  ·  run {uid}" if uid else "", "dim"),
            no_wrap=True,
            end="",
        )
        if sim_only:
            line = Text("\n").join([line, Text(SIM_ONLY, style="bold black on yellow", end="")])
        self.set_class(sim_only, "-sim-only")
        self.update(line)
