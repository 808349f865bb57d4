"""The Textual app: start screen, run screen, keys and quitting.

`run_tui(args)` is the entry point of `igentai [TOPIC]`. The app is a thin front end over
`runner.Runner`, which it drives on its own event loop: it shows the run's events and sends
its controls. The exit statuses are the headless mode's: 0 when the run ended (stop
condition, `s`, or `q` after a clean stop), 1 when it failed, 2 on bad input, 130 when
interrupted by a signal (129 by SIGHUP: the terminal closed).
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import signal
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.drivers._writer_thread import WriterThread
from textual.screen import Screen

from igentai_tui.common.clock import Clock
from igentai_tui.common.redact import redact
from igentai_tui.common.sanitize import display_text
from igentai_tui.engine.events import Notice
from igentai_tui.engine.routing import scored_per
from igentai_tui.engine.settings import RunResult, RunSettings
from igentai_tui.engine.words import count
from igentai_tui.exits import Exit, UsageError
from igentai_tui.providers import make_provider
from igentai_tui.providers.base import Provider, list_price
from igentai_tui.request import RunRequest, resume_settings, run_request
from igentai_tui.runner import RunError, Runner
from igentai_tui.signals import leave_closed_terminal, terminals
from igentai_tui.tui.model import RunInfo, RunModel
from igentai_tui.tui.screens.dialogs import ConfirmQuit
from igentai_tui.tui.screens.run import RunScreen
from igentai_tui.tui.screens.start import StartScreen

ProviderFactory = Callable[..., Provider]


class IgentaiApp(App[int]):
    """One run, shown live and steered by keys."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "igentai"
    # App declares these as instance attributes and its docs set them on the class; ruff
    # (RUF012) wants a mutable class attribute marked ClassVar: mypy calls that an override.
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [  # type: ignore[misc]
        (0, "-narrow"),
        (96, "-normal"),
        (150, "-wide"),
    ]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [  # type: ignore[misc]
        (0, "-short"),
        (28, "-tall"),
    ]

    def __init__(
        self,
        args: argparse.Namespace,
        *,
        request: RunRequest | None = None,
        clock: Clock | None = None,
        provider_factory: ProviderFactory = make_provider,
        env: Mapping[str, str] | None = None,
        handle_signals: bool = False,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.args = args
        self.request = request
        self.clock = clock or Clock()
        self.model = RunModel()
        self.runner: Runner | None = None
        self.run_screen: RunScreen | None = None
        self.message = ""  # printed on stderr once the app has closed
        self._provider_factory = provider_factory
        self._env = env
        self._handle_signals = handle_signals
        self._cursor_blink = cursor_blink
        self._quit_when_done = False
        self.run_closed = False  # the run is over, its store and output file closed

    # -- life cycle ------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.begin()

    def begin(self) -> None:
        """The first screen: the start screen, or the run when the request is known."""
        if self.request is None:
            self.push_screen(
                StartScreen(self.args, self._env, cursor_blink=self._cursor_blink), self.start_run
            )
        else:
            self.start_run(self.request)

    def start_run(self, request: RunRequest | None) -> None:
        if request is None:
            self.exit(Exit.OK)
            return
        self.request = request
        self.run_worker(self._drive(request), name="run", group="run", exit_on_error=False)

    async def _drive(self, request: RunRequest) -> None:
        """Open the run, show it, run it to the end (the Runner closes what it opened)."""
        self.runner = runner = Runner(request, self.clock, provider_factory=self._provider_factory)
        try:
            await runner.open()
            if (resumed := runner.resumed) is not None:
                if resumed.restored:
                    what = f"{request.output} was behind the database: {resumed.restored} restored"
                    self.model(Notice(what, "info"))
                why = resumed.run.stop_reason or "crashed"
                self.model(Notice(f"resuming run {resumed.run.uid} ({why})", "info"))
            runner.subscribe(self.model)
            self.run_screen = RunScreen(self.model, runner, _info(request, runner.providers))
            await self.push_screen(self.run_screen)
            if self._handle_signals:
                runner.catch_signals(self._on_signal)
            if request.note:
                self.model(Notice(request.note, "info"))
            await runner.run()
            if self.run_screen.is_attached:
                self.run_screen.refresh_panels()
                self.run_screen.refresh_bindings()
        except RunError as exc:
            self._fail(exc.code, str(exc))
            return
        finally:
            self.run_closed = True  # closed by the Runner, and its end shown
        if self._quit_when_done:
            self.exit(self.exit_code)

    def on_unmount(self) -> None:
        """However the app ends, producer threads must not outlive it."""
        if self.runner is not None and self.runner.result is None:
            self.runner.stop("the app closed", "stopped")

    def _fatal_error(self) -> None:
        """Textual's crash report, without the values of local variables (Textual shows them,
        and one may be an API key) and scrubbed of every key read (overrides Textual's hook)."""
        import io

        from rich.console import Console
        from rich.text import Text
        from rich.traceback import Traceback

        self.bell()
        width = self.console.width or 100
        console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
        console.print(Traceback(show_locals=False, width=width))
        self.panic(Text(redact(console.export_text())))

    def _on_signal(self, signum: int, again: bool) -> None:
        if signum == signal.SIGHUP:
            self._replace_writer()
        self._stop_and_quit(f"interrupted by {signal.Signals(signum).name}")

    def _replace_writer(self) -> None:
        """After a hang-up (the Runner has pointed the closed terminal at /dev/null), what
        Textual still draws goes there instead of failing.

        Textual writes from a thread that dies on the first failed write, and the app then
        blocks for good on that thread's full queue (textual#6692 is the same dead writer):
        so the writer is replaced, whether it has died already or is about to."""
        driver = self._driver
        old = getattr(driver, "_writer_thread", None)
        if not isinstance(old, WriterThread):
            return
        # Textual has no public way to replace a driver's writer: the attributes it uses are
        # private (checked with isinstance above), hence the two ignores.
        fresh = WriterThread(driver._file)  # type: ignore[union-attr]
        fresh.start()
        driver._writer_thread = fresh  # type: ignore[union-attr]
        with contextlib.suppress(queue.Full):
            old._queue.put_nowait(None)  # a live one ends once it has written what it holds

    def _fail(self, code: int, message: str) -> None:
        self.message = f"igentai: error: {message}"
        self.exit(code)

    @property
    def result(self) -> RunResult | None:
        """The ended run, once it has ended."""
        return self.runner.result if self.runner is not None else None

    @property
    def run_active(self) -> bool:
        return self.runner is not None and self.runner.opened and self.result is None

    @property
    def exit_code(self) -> int:
        return self.runner.exit_code if self.runner is not None else Exit.OK

    # -- quitting --------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """q, ctrl+q and the palette's Quit: confirm while a run is going, then stop cleanly."""
        if self.runner is None or not self.runner.opened or self.run_closed:
            self.exit(self.exit_code)
            return
        if not self.run_active:  # ended, still closing the store: exit once it is closed
            self._quit_when_done = True
            return
        if self._quit_when_done:
            self.notify("still stopping: storing what was found…")
            return
        if isinstance(self.screen, ConfirmQuit):
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._stop_and_quit("stopped by user (quit)")

        self.push_screen(ConfirmQuit(), answered)

    def _stop_and_quit(self, reason: str) -> None:
        self._quit_when_done = True
        if self.runner is None or not self.runner.opened or self.run_closed:
            self.exit(self.exit_code)
        elif self.run_screen is not None:
            self.run_screen.stop_run(reason)
        else:
            self.runner.stop(reason)

    # -- command palette -------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        if isinstance(screen, RunScreen):
            for action, title, help_text in screen.COMMAND_LIST:
                if screen.check_action(action, ()):
                    yield SystemCommand(title, help_text, getattr(screen, f"action_{action}"))
        yield from super().get_system_commands(screen)


def run_tui(args: argparse.Namespace) -> int:
    """Run the full-screen app for `igentai [TOPIC]`; return the exit status."""
    request = None
    if args.topic is not None or getattr(args, "resume", None) is not None:
        try:
            request = run_request(args, resume_settings(args))
        except UsageError as exc:
            print(f"igentai: error: {exc}", file=sys.stderr)
            return Exit.USAGE
    app = IgentaiApp(args, request=request, handle_signals=True)
    ttys = terminals()
    code = app.run()
    leave_closed_terminal(ttys)  # after a hang-up (SIGHUP), what follows is written nowhere
    if app.message:
        print(app.message, file=sys.stderr)
    result = app.result
    if result is not None and app.request is not None:
        snap = result.snapshot
        print(
            f"igentai: run {result.run.uid} {result.status}: {display_text(result.reason, 300)}; "
            f"{count(snap.confirmed, 'confirmed entry')} in {app.request.output} "
            f"(database {app.request.db})",
            file=sys.stderr,
        )
    if code is None:  # the app crashed (Textual printed why) or closed without a code
        return Exit.FAILED if app.return_code else Exit.OK
    return int(code)


def _info(request: RunRequest, providers: Mapping[str, Provider]) -> RunInfo:
    """What the run screen shows of the run as it starts."""
    s = request.settings
    return RunInfo(
        topic=s.topic,
        arms=tuple(a.label for a in s.arms),
        limits=s.limits,
        db=request.db,
        output=request.output,
        producers=s.producers,
        note=request.note,
        routing=s.routing + (f", per {_per(s, providers)}" if s.routing == "adaptive" else ""),
    )


def _per(s: RunSettings, providers: Mapping[str, Provider]) -> str:
    """What adaptive routing scores the run's arms on, in words."""
    prices = [list_price(providers.get(arm.label), arm.model, s.prices) for arm in s.arms]
    return scored_per(s.optimize, prices)
