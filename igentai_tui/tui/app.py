"""The Textual app: start screen, run screen, and the run's life cycle.

`run_tui(args)` is the entry point of `igentai [TOPIC]`. The app drives the orchestrator on
its own event loop, hosts the producers as thread workers, and keeps the exit statuses of the
headless mode: 0 when the run ended (stop condition, `s`, or `q` after a clean stop), 1 when
it failed, 2 on bad input, 130 when interrupted by a signal (129 by SIGHUP: the terminal closed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.drivers._writer_thread import WriterThread
from textual.screen import Screen

from igentai_tui.common.clock import Clock
from igentai_tui.common.redact import redact
from igentai_tui.common.sanitize import display_text
from igentai_tui.engine.events import Notice
from igentai_tui.engine.orchestrator import Orchestrator, RunResult, RunSettings
from igentai_tui.engine.routing import scored_per
from igentai_tui.engine.words import count
from igentai_tui.exits import Exit, UsageError
from igentai_tui.output import OutputError, OutputFile, repair
from igentai_tui.providers import make_provider
from igentai_tui.providers.base import Provider, list_price
from igentai_tui.request import (
    MAX_PRODUCERS,
    RunRequest,
    build_providers,
    resume_settings,
    run_request,
)
from igentai_tui.signals import leave_closed_terminal, stop_signals, terminals
from igentai_tui.store import RunRow, Store, StoreError
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
        self.orc: Orchestrator | None = None
        self.result: RunResult | None = None
        self.run_screen: RunScreen | None = None
        self.message = ""  # printed on stderr once the app has closed
        self._provider_factory = provider_factory
        self._env = env
        self._handle_signals = handle_signals
        self._cursor_blink = cursor_blink
        self.run_closed = False  # the run is over and its store and output file are closed
        self._quit_when_done = False
        self._signal = 0  # the first signal that stopped the run

    # -- life cycle ------------------------------------------------------------------------

    def on_mount(self) -> None:
        # Thread workers run in the loop's default executor: make room for every producer.
        loop = asyncio.get_running_loop()
        loop.set_default_executor(
            ThreadPoolExecutor(max_workers=MAX_PRODUCERS + 32, thread_name_prefix="igentai")
        )
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
        """Open everything, run to the end, close everything."""
        try:
            providers = build_providers(request.settings, self.clock, self._provider_factory)
        except UsageError as exc:
            self._fail(Exit.USAGE, str(exc))
            return
        try:
            output = OutputFile(request.output)
        except OutputError as exc:
            self._fail(Exit.USAGE, str(exc))
            return
        try:
            try:
                store = await Store.open(request.db)
            except StoreError as exc:
                self._fail(Exit.USAGE, str(exc))
                return
            try:
                await self._run(request, store, providers, output)
            finally:
                await store.close()
        finally:
            output.close()
            self.run_closed = True
        if self._quit_when_done:
            self.exit(self.exit_code)

    async def _run(
        self, request: RunRequest, store: Store, providers: dict[str, Any], output: OutputFile
    ) -> None:
        s = request.settings
        try:
            resume = await self._prepare_resume(store, request)
        except StoreError as exc:
            self._fail(Exit.USAGE, str(exc))
            return
        except OutputError as exc:  # the repair met a full disk: nothing was run
            self._fail(Exit.FAILED, str(exc))
            return
        orc = Orchestrator(s, store, providers, output, clock=self.clock, spawn=self._spawn)
        orc.subscribe(self.model)
        self.orc = orc
        info = RunInfo(
            topic=s.topic,
            arms=tuple(a.label for a in s.arms),
            limits=s.limits,
            db=request.db,
            output=request.output,
            producers=s.producers,
            note=request.note,
            routing=s.routing + (f", per {_per(s, providers)}" if s.routing == "adaptive" else ""),
        )
        self.run_screen = RunScreen(self.model, orc, info)
        await self.push_screen(self.run_screen)
        if self._handle_signals:
            self._install_signals()
        if request.note:
            self.model(Notice(request.note, "info"))
        task = asyncio.ensure_future(orc.run(resume))
        try:
            self.result = await asyncio.shield(task)
        except asyncio.CancelledError:  # the app is closing under us: stop cleanly first
            orc.stop("the app closed", "stopped")
            await _settle(task)  # the store is closed only once the run is done with it
            await _engine_tasks_done()
            if task.done() and not task.cancelled() and task.exception() is None:
                self.result = task.result()
            raise
        except StoreError as exc:  # e.g. the run is live in another process
            orc.stop(str(exc), "failed")
            self._fail(Exit.USAGE, str(exc))
            return
        except Exception as exc:
            orc.stop(f"internal error: {exc!r}", "failed")
            self._fail(Exit.FAILED, f"the run failed: {exc!r}")
            return
        if self.run_screen.is_attached:
            self.run_screen.refresh_panels()
            self.run_screen.refresh_bindings()

    async def _prepare_resume(self, store: Store, request: RunRequest) -> RunRow | None:
        """For --resume: find the run and bring the output file in line with the DB."""
        if request.resume is None:
            return None
        run = await store.get_run(request.resume)
        if run is None:
            raise StoreError(f"no run {request.resume} in {store.path}")
        store.lock_run(run)  # before touching its output file, as the headless runner does
        added = repair(request.output, await store.entry_texts(run.id))
        if added:
            self.model(
                Notice(f"{request.output} was behind the database: {added} restored", "info")
            )
        self.model(Notice(f"resuming run {run.uid} ({run.stop_reason or 'crashed'})", "info"))
        return run

    def on_unmount(self) -> None:
        """However the app ends, producer threads must not outlive it."""
        if self.orc is not None and self.result is None:
            self.orc.stop("the app closed", "stopped")

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

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        """Host a producer as a thread worker (from the app's thread or any other)."""

        def start() -> None:
            self.run_worker(target, name=name, group="producers", thread=True, exit_on_error=False)

        if threading.get_ident() == self._thread_id:
            start()
        else:
            self.call_from_thread(start)

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        ttys = terminals()

        def handler(signum: int) -> None:
            if signum == signal.SIGHUP:
                self._leave_closed_terminal(ttys)
            self._signal = self._signal or signum
            self._stop_and_quit(f"interrupted by {signal.Signals(signum).name}")

        for sig in stop_signals():
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, handler, sig)

    def _leave_closed_terminal(self, ttys: list[int]) -> None:
        """After a hang-up, what Textual still draws goes to /dev/null instead of failing.

        Textual writes from a thread that dies on the first failed write, and the app then
        blocks for good on that thread's full queue (textual#6692 is the same dead writer):
        so the writer is replaced too, whether it has died already or is about to."""
        leave_closed_terminal(ttys)
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
    def run_active(self) -> bool:
        return self.orc is not None and self.result is None

    @property
    def exit_code(self) -> int:
        if self._signal == signal.SIGHUP:
            return Exit.HANGUP
        if self._signal:
            return Exit.INTERRUPTED
        if self.result is not None and self.result.status == "failed":
            return Exit.FAILED
        return Exit.OK

    # -- quitting --------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """q, ctrl+q and the palette's Quit: confirm while a run is going, then stop cleanly."""
        if self.orc is None or self.run_closed:
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
        if self.orc is None or self.run_closed:
            self.exit(self.exit_code)
        elif self.run_screen is not None:
            self.run_screen.stop_run(reason)
        elif self.orc is not None:
            self.orc.stop(reason)

    # -- command palette -------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        if isinstance(screen, RunScreen):
            for action, title, help_text in screen.COMMAND_LIST:
                if screen.check_action(action, ()):
                    yield SystemCommand(title, help_text, getattr(screen, f"action_{action}"))
        yield from super().get_system_commands(screen)


async def _settle(task: asyncio.Future[Any]) -> None:
    """Wait until `task` is done, whatever cancellations reach the caller meanwhile."""
    while not task.done():
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.shield(task)


async def _engine_tasks_done(grace: float = 1.0) -> None:
    """Make sure the orchestrator's own tasks (its ingest loop) have ended; cancel stragglers.

    Workaround: when the loop is torn down, `Orchestrator.run()` can be cancelled before it has
    awaited its ingest task, and a cancellation that lands while `Store.record()` awaits its
    COMMIT becomes the ROLLBACK's error, which the ingest loop catches: it then waits on its
    queue forever and the loop never closes. Cancelling it again there ends it.
    """
    me = asyncio.current_task()

    def pending() -> list[asyncio.Task[Any]]:
        return [
            t
            for t in asyncio.all_tasks()
            if t is not me
            and not t.done()
            and getattr(t.get_coro(), "__qualname__", "").startswith("Orchestrator.")
        ]

    deadline = time.monotonic() + grace
    while (rest := pending()) and time.monotonic() < deadline:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.01)
    for t in rest:
        t.cancel()
    deadline = time.monotonic() + grace
    while pending() and time.monotonic() < deadline:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.01)


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


def _per(s: RunSettings, providers: Mapping[str, Provider]) -> str:
    """What adaptive routing scores the run's arms on, in words."""
    prices = [list_price(providers.get(arm.label), arm.model, s.prices) for arm in s.arms]
    return scored_per(s.optimize, prices)
