"""The start screen: topic, producers, providers and stop condition, when no topic is given."""

from __future__ import annotations

import argparse
import copy
import os
import re
from collections.abc import Mapping
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select, SelectionList, Static
from textual.widgets.selection_list import Selection

from igentai_tui.engine.routing import OBJECTIVES, STRATEGIES
from igentai_tui.exits import UsageError
from igentai_tui.providers.specs import DEFAULT_MODELS, IMPLEMENTED, KEY_ENV, SpecError, parse_specs
from igentai_tui.request import DEFAULT_PRODUCERS, RunRequest, build_parser, run_request

# (label, value, flag, placeholder) for each kind of stop condition.
STOPS = (
    ("when I stop it (s)", "none", None, ""),
    ("after N unique entries", "max_unique", "--max-unique", "e.g. 500"),
    ("after N requests", "max_requests", "--max-requests", "e.g. 100"),
    ("after N tokens", "max_tokens", "--max-tokens", "e.g. 200000"),
    ("at a cost in USD", "max_cost", "--max-cost", "e.g. 0.50"),
    ("after a time", "duration", "--duration", "e.g. 90s, 5m, 1h"),
    ("when the topic looks exhausted", "saturated", "--until-saturated", ""),
)
ROUTING_HELP = {
    "adaptive": "learns the best, per",
    "fixed": "producers stay",
    "round-robin": "in turn",
    "weighted": "by weights",
}
# The form's field for each flag it fills in: an error names the field the user typed in.
FIELDS = {
    "--producers": "Producers",
    "--providers": "Providers",
    **{flag: "Stop" for _label, _value, flag, _ph in STOPS if flag},
    "--routing": "Routing",
    "--optimize": "Routing",
    "--weights": "Weights",
}
_ABOUT_FLAG = re.compile(r"(?:argument )?(--[a-z-]+)(?:/-\w)?: ")


def in_form_words(message: str) -> str:
    """An error about a flag said about the form's field: "argument --producers/-n: expected
    a whole number, got 'abc'" -> "Producers: expected a whole number, got 'abc'"."""
    m = _ABOUT_FLAG.match(message)
    if m is None or m.group(1) not in FIELDS:
        return message
    return f"{FIELDS[m.group(1)]}: {message[m.end() :]}"


SIM_ONLY_NOTE = (
    "Only sim is available: the built-in offline simulator. Its entries are simulated, not "
    "answers from a real LLM. Set {keys} to use a real model."
)


def provider_choices(env: Mapping[str, str]) -> list[tuple[str, str, bool]]:
    """(spec, description, usable) for every known provider."""
    out = []
    for name, model in DEFAULT_MODELS.items():
        if name == "sim":
            out.append((f"{name}:{model}", "offline simulator, no key needed", True))
        elif name not in IMPLEMENTED:
            out.append((f"{name}:{model}", "not available in this version yet", False))
        elif not env.get(KEY_ENV[name]):
            out.append((f"{name}:{model}", f"needs {KEY_ENV[name]}", False))
        else:
            out.append((f"{name}:{model}", f"{KEY_ENV[name]} is set", True))
    return out


def _initial_specs(args: argparse.Namespace, env: Mapping[str, str]) -> list[str]:
    if args.providers:
        try:
            return [f"{n}:{m}" for n, m in parse_specs(args.providers)]
        except SpecError:
            pass
    usable = [spec for spec, _, ok in provider_choices(env) if ok]
    keyed = [s for s in usable if not s.startswith("sim:")]
    return keyed or usable[:1]


def _initial_stop(args: argparse.Namespace) -> tuple[str, str]:
    for _label, value, _flag, _ph in STOPS[1:-1]:
        v = getattr(args, value, None)
        if v is not None:
            return value, f"{v:g}s" if value == "duration" else str(v)
    if getattr(args, "until_saturated", False):
        return "saturated", ""
    return "none", ""


class StartScreen(Screen[RunRequest]):
    """Collects what `igentai TOPIC --flags` would say; Enter starts the run."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "start", "Start"),
        Binding("escape", "app.quit", "Quit"),
    ]

    def __init__(
        self,
        args: argparse.Namespace,
        env: Mapping[str, str] | None = None,
        *,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self._args = args
        self._env = os.environ if env is None else env
        self._blink = cursor_blink

    def compose(self) -> ComposeResult:
        args = self._args
        selected = _initial_specs(args, self._env)
        choices = provider_choices(self._env)
        listed = {spec for spec, _, _ in choices}
        # Specs `--providers` named that the list does not hold (another model, a local
        # server): listed and selected, so that the run starts with what the command said.
        choices += [(s, "from --providers", True) for s in selected if s not in listed]
        usable = [spec for spec, _, ok in choices if ok]
        stop, stop_value = _initial_stop(args)
        with VerticalScroll(id="start-form"):
            yield Static(
                Text.assemble(
                    ("igentai", "bold"), " — get several LLMs to list everything about a topic"
                ),
                id="start-title",
            )
            if all(s.startswith("sim:") for s in usable):
                keys = ", ".join(KEY_ENV.values())
                yield Static(SIM_ONLY_NOTE.format(keys=keys), id="sim-note")
            yield Static("", id="start-error")
            with Grid(id="start-grid"):
                yield Label("Topic")
                yield Input(
                    args.topic or "",
                    placeholder="e.g. Paris attractions",
                    id="topic",
                    max_length=500,
                )
                yield Label("Producers")
                yield Input(
                    str(args.producers or DEFAULT_PRODUCERS), type="integer", id="start-producers"
                )
                yield Label("Providers")
                with Vertical(id="start-providers-box"):
                    yield SelectionList[str](
                        *(
                            Selection(
                                Text.assemble(spec, ("  " + why, "dim")), spec, spec in selected
                            )
                            for spec, why, ok in choices
                            if ok
                        ),
                        id="start-providers",
                    )
                    why_missing: dict[str, list[str]] = {}
                    for spec, why, ok in choices:
                        if not ok:
                            why_missing.setdefault(why, []).append(spec.split(":")[0])
                    if why_missing:
                        text = "; ".join(f"{', '.join(n)}: {w}" for w, n in why_missing.items())
                        yield Static(
                            Text(f"unavailable: {text}", style="dim"),
                            id="start-missing",
                        )
                yield Label("Stop")
                with Horizontal(id="stop-row"):
                    yield Select(
                        [(label, value) for label, value, _f, _p in STOPS],
                        value=stop,
                        allow_blank=False,
                        id="stop-kind",
                    )
                    yield Input(stop_value, id="stop-value")
                yield Label("Routing")
                with Horizontal(id="routing-row"):
                    yield Select(
                        [(f"{name}: {ROUTING_HELP[name]}", name) for name in STRATEGIES],
                        value=args.routing or "adaptive",
                        allow_blank=False,
                        id="routing",
                    )
                    yield Select(
                        [(name, name) for name in OBJECTIVES],
                        value=args.optimize or "cost",
                        allow_blank=False,
                        id="optimize",
                    )
                    yield Input(
                        args.weights or "",
                        placeholder="e.g. sim:default=3,sim:fast=1",
                        id="weights",
                    )
            yield Button("Start (enter)", variant="primary", id="start")
        yield Footer()

    def on_mount(self) -> None:
        for inp in self.query(Input):
            inp.cursor_blink = self._blink
        self._stop_kind_changed()
        self._routing_changed()
        self.query_one("#topic", Input).focus()

    @on(Select.Changed, "#routing")
    def _routing_changed(self) -> None:
        routing = self.query_one("#routing", Select).value
        self.query_one("#optimize", Select).display = routing == "adaptive"
        self.query_one("#weights", Input).display = routing == "weighted"

    @on(Select.Changed, "#stop-kind")
    def _stop_kind_changed(self) -> None:
        kind = self.query_one("#stop-kind", Select).value
        entry = next(s for s in STOPS if s[1] == kind)
        box = self.query_one("#stop-value", Input)
        box.placeholder = entry[3]
        box.display = bool(entry[3])

    @on(Input.Submitted)
    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        try:
            request = self.request()
        except UsageError as exc:
            message = f"⚠ {in_form_words(str(exc))}"
            self.query_one("#start-error", Static).update(Text(message, style="bold red"))
            return
        self.dismiss(request)

    def request(self) -> RunRequest:
        """The form as a RunRequest, validated exactly as the command line is."""
        topic = self.query_one("#topic", Input).value
        producers = self.query_one("#start-producers", Input).value.strip() or "5"
        specs = self.query_one("#start-providers", SelectionList).selected
        if not specs:
            raise UsageError("choose at least one provider")
        argv = ["--producers", producers, "--providers", ",".join(specs)]
        kind = self.query_one("#stop-kind", Select).value
        entry = next(s for s in STOPS if s[1] == kind)
        flag, needs_value = entry[2], bool(entry[3])
        if flag and needs_value:
            value = self.query_one("#stop-value", Input).value.strip()
            if not value:
                raise UsageError(f"the stop condition needs a value ({entry[3]})")
            argv += [flag, value]
        elif flag:
            argv.append(flag)
        routing = str(self.query_one("#routing", Select).value)
        argv += ["--routing", routing]
        if routing == "adaptive":
            argv += ["--optimize", str(self.query_one("#optimize", Select).value)]
        if routing == "weighted":
            argv += ["--weights", self.query_one("#weights", Input).value.strip()]
        form = build_parser().parse_args([*argv, "--", topic])
        args = copy.copy(self._args)
        for name in (
            "topic",
            "producers",
            "providers",
            "max_unique",
            "max_requests",
            "max_tokens",
            "max_cost",
            "duration",
            "until_saturated",
            "routing",
            "optimize",
            "weights",
        ):
            setattr(args, name, getattr(form, name))
        args.headless = False
        return run_request(args)
