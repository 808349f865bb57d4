"""The Textual app driven by Pilot: every key, the start screen, quitting, hostile text."""

from __future__ import annotations

import asyncio
import gc
import html
import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from test_headless import run_then_close_its_terminal

from igentai_tui.engine.events import FoundEntry, NewEntries, Notice
from igentai_tui.export import export_run
from igentai_tui.providers import make_provider
from igentai_tui.providers.base import (
    AuthenticationFailed,
    BadResponse,
    Completion,
    CompletionRequest,
)
from igentai_tui.request import build_parser, resume_settings, run_request
from igentai_tui.tui.app import IgentaiApp, run_tui
from igentai_tui.tui.screens.dialogs import AddOnDialog, ConfirmQuit, ExportDialog
from igentai_tui.tui.screens.help import HelpScreen
from igentai_tui.tui.screens.run import RunScreen
from igentai_tui.tui.screens.start import StartScreen
from igentai_tui.tui.widgets.producers import ProducersTable

SIZE = (100, 30)


class Scripted:
    """A provider whose replies come from a function of the call number."""

    name = "scripted"

    def __init__(self, reply: Callable[[int], str | Exception], delay: float = 0.05) -> None:
        self._reply = reply
        self._delay = delay
        self._n = 0
        self._lock = threading.Lock()

    def complete(self, request: CompletionRequest) -> Completion:
        with self._lock:
            self._n += 1
            n = self._n
        time.sleep(self._delay)
        out = self._reply(n)
        if isinstance(out, Exception):
            raise out
        return Completion(out, 100, 50)

    def context_window(self, model: str) -> int:
        return 8000


def fresh(n: int) -> str:
    return "\n".join([*(f"Entry {n}-{i}" for i in range(8)), "Eiffel Tower"])


def make_app(
    tmp_path: Path,
    *flags: str,
    provider: object | None = None,
    topic: str | None = "Paris attractions",
) -> IgentaiApp:
    """An app on a scripted provider (or the real factory when `provider` is "real")."""
    argv = [*flags, "--db", str(tmp_path / "t.db"), "--output", str(tmp_path / "out.txt")]
    if topic is not None:
        argv += ["--", topic]
    args = build_parser().parse_args(argv)
    wanted = topic is not None or args.resume is not None
    request = run_request(args, resume_settings(args)) if wanted else None
    chosen = provider or Scripted(fresh)

    def factory(name: str, model: str, *, seed: int, clock: object) -> object:
        if chosen == "real":
            return make_provider(name, model, seed=seed, clock=clock)  # type: ignore[arg-type]
        return chosen

    return IgentaiApp(args, request=request, provider_factory=factory, env={}, cursor_blink=False)  # type: ignore[arg-type]


async def until(pilot: object, cond: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)  # type: ignore[attr-defined]


async def started(pilot: object, app: IgentaiApp, producers: int = 1) -> RunScreen:
    """Wait until the run screen shows and `producers` producers have taken a request."""
    await until(pilot, lambda: isinstance(app.screen, RunScreen))
    states = app.model.states
    await until(
        pilot,
        lambda: (
            sum(p.state != "starting" for p in states.values()) >= producers
            and app.model.snapshot is not None
        ),
    )
    screen = app.screen
    assert isinstance(screen, RunScreen)
    screen.refresh_panels()
    return screen


async def finish(pilot: object, app: IgentaiApp) -> None:
    """Stop the run and wait until it has closed its store, so that nothing outlives a test."""
    assert app.runner is not None
    app.runner.stop("test over")
    await until(pilot, lambda: app.run_closed)


_SVG_TEXT = re.compile(r'<text [^>]*?x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', re.S)


def terminal_output(app: IgentaiApp) -> tuple[str, str]:
    """The current screen as Textual's public screenshot gives it (an SVG holding every
    character the screen's cells hold, control characters included), and its plain text,
    a line per row."""
    svg = app.export_screenshot()
    rows: dict[float, list[tuple[float, str]]] = {}
    for x, y, text in _SVG_TEXT.findall(svg):
        rows.setdefault(float(y), []).append((float(x), html.unescape(text)))
    lines = ("".join(t for _, t in sorted(row)) for _, row in sorted(rows.items()))
    return svg, "\n".join(lines).replace("\xa0", " ")


def footer_labels(app: IgentaiApp) -> set[str]:
    screen = app.screen
    return {
        b.binding.description
        for b in screen.active_bindings.values()
        if b.enabled and b.binding.show
    }


def calls(tmp_path: Path) -> int:
    """How many requests the run has stored (each is stored before it is sent)."""
    con = sqlite3.connect(tmp_path / "t.db")
    (n,) = con.execute("SELECT count(*) FROM calls").fetchone()
    con.close()
    return int(n)


def db_entries(tmp_path: Path) -> list[str]:
    """The confirmed entries (what output.txt holds), sorted: the file has them in the order
    they were confirmed."""
    con = sqlite3.connect(tmp_path / "t.db")
    rows = [r[0] for r in con.execute("SELECT text FROM entries WHERE status = 'confirmed'")]
    con.close()
    return sorted(rows)


def output_lines(path: Path) -> list[str]:
    return sorted(path.read_text(encoding="utf-8").splitlines())


# -- keys ------------------------------------------------------------------------------------


async def test_space_pauses_and_resumes_all(tmp_path: Path) -> None:
    app = make_app(tmp_path, "-n", "3")
    async with app.run_test(size=SIZE) as pilot:
        screen = await started(pilot, app, 3)
        assert "Pause all" in footer_labels(app)
        await pilot.press("space")
        await until(pilot, lambda: app.model.all_paused)
        states = app.model.states
        await until(pilot, lambda: all(p.state == "paused" for p in states.values()))
        screen.refresh_panels()
        assert "Resume all" in footer_labels(app) and "Pause all" not in footer_labels(app)
        assert "PAUSED" in terminal_output(app)[1]
        requests = calls(tmp_path)
        await pilot.pause(0.2)
        assert calls(tmp_path) == requests  # nothing moves while paused
        await pilot.press("space")
        await until(pilot, lambda: not app.model.all_paused)
        await until(pilot, lambda: calls(tmp_path) > requests)
        assert "Pause all" in footer_labels(app)
        await finish(pilot, app)


async def test_p_pauses_and_resumes_the_selected_producer(tmp_path: Path) -> None:
    app = make_app(tmp_path, "-n", "3")
    async with app.run_test(size=SIZE) as pilot:
        screen = await started(pilot, app, 3)
        await pilot.press("down")
        table = screen.query_one(ProducersTable)
        assert table.selected_pid == 2
        await pilot.press("p")
        states = app.model.states
        await until(pilot, lambda: states[2].paused)
        assert not states[1].paused
        assert "Resume" in footer_labels(app)
        await until(pilot, lambda: states[2].state == "paused")
        await pilot.press("p")
        await until(pilot, lambda: not states[2].paused)
        assert "Pause" in footer_labels(app)
        await finish(pilot, app)


async def test_the_footer_is_not_rebuilt_as_the_run_moves(tmp_path: Path) -> None:
    """Textual keeps every footer key it discards alive (textual#6666): the footer must be
    rebuilt only when a key's state changes, not on each cursor move or refresh."""

    def footer_keys() -> int:
        gc.collect()
        return sum(isinstance(o, key_class) for o in gc.get_objects())

    app = make_app(tmp_path, "-n", "3")
    async with app.run_test(size=SIZE) as pilot:
        screen = await started(pilot, app, 3)
        await pilot.pause(0.2)
        key_class = type(screen.query("FooterKey").first())  # not exported by textual.widgets
        before = footer_keys()
        for key in ("down", "down", "up", "up") * 10:  # three live producers, all running
            await pilot.press(key)
        for _ in range(10):
            screen.refresh_panels()
            await pilot.pause(0.05)
        assert footer_keys() == before
        await pilot.press("p")  # a key's state changes: the footer shows "Resume"
        await until(pilot, lambda: "Resume" in footer_labels(app))
        await finish(pilot, app)


async def test_a_adds_a_producer(tmp_path: Path) -> None:
    app = make_app(tmp_path, "-n", "2")
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app, 2)
        await pilot.press("a")
        states = app.model.states
        await until(pilot, lambda: len(states) == 3)
        await until(pilot, lambda: states[3].state == "running")
        await finish(pilot, app)


async def test_shift_a_adds_on_the_chosen_provider(tmp_path: Path) -> None:
    app = make_app(tmp_path, "-n", "2", "--providers", "sim:default,sim:fast")
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app, 2)
        await pilot.press("A")
        assert isinstance(app.screen, AddOnDialog)
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        await until(pilot, lambda: 3 in app.model.states)
        assert app.model.states[3].arm == "sim:fast"
        await pilot.press("A", "escape")
        await pilot.pause(0.1)
        assert len(app.model.states) == 3
        await finish(pilot, app)


async def test_d_removes_the_selected_producer_but_never_the_last(tmp_path: Path) -> None:
    app = make_app(tmp_path, "-n", "2")
    async with app.run_test(size=SIZE) as pilot:
        screen = await started(pilot, app, 2)
        states = app.model.states
        assert screen.check_action("remove", ()) is True
        await pilot.press("d")
        await until(pilot, lambda: states[1].stopping)
        await until(pilot, lambda: states[1].state == "stopped")
        screen.refresh_panels()
        await pilot.press("down")  # producer 2, the last one
        assert screen.check_action("remove", ()) is None  # greyed out
        await pilot.press("d")
        await pilot.pause(0.1)
        assert not states[2].stopping
        assert "removed" in terminal_output(app)[1]
        await finish(pilot, app)


async def test_s_stops_cleanly_and_the_app_stays(tmp_path: Path) -> None:
    app = make_app(tmp_path, "-n", "2")
    async with app.run_test(size=SIZE) as pilot:
        screen = await started(pilot, app, 2)
        await pilot.press("s")
        await until(pilot, lambda: app.run_closed)
        assert app.result is not None and app.result.status == "stopped"
        screen.refresh_panels()
        for action in ("pause_all", "add", "add_on", "remove", "stop"):
            assert not screen.check_action(action, ())
        assert "STOPPED" in terminal_output(app)[1]
        # The notice the stop posted while it checked what was pending is not said again.
        app.model(Notice("stopped by user: checking the entries", "information", until_end=True))
        screen.refresh_panels()
        await pilot.pause()
        assert terminal_output(app)[1].count("stopped by user") == 1
        assert output_lines(tmp_path / "out.txt") == db_entries(tmp_path)
        await pilot.press("q")  # no run going: no question
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_value == 0


async def test_q_asks_then_stops_cleanly_and_db_equals_output(tmp_path: Path) -> None:
    """On sim: after q and yes, the stored entries are exactly the lines of output.txt."""
    app = make_app(tmp_path, "-n", "4", "--providers", "sim:fast", provider="real")
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app, 4)
        await until(pilot, lambda: app.model.found > 50)
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmQuit)
        await pilot.press("n")
        assert isinstance(app.screen, RunScreen) and app.result is None
        await pilot.press("q", "y")
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_value == 0
    assert app.result is not None and app.result.status == "stopped"
    texts = db_entries(tmp_path)
    assert len(texts) == app.result.snapshot.confirmed > 50
    assert output_lines(tmp_path / "out.txt") == texts


async def test_e_exports_the_entries(tmp_path: Path) -> None:
    app = make_app(tmp_path, "-n", "2")
    target = tmp_path / "export.jsonl"
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app, 2)
        await pilot.press("s")
        await until(pilot, lambda: app.run_closed)
        await pilot.press("e")
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        from textual.widgets import Input, Select

        dialog.query_one("#format", Select).value = "jsonl"
        await pilot.pause()
        dialog.query_one("#path", Input).value = str(target)
        await pilot.click("#export")
        await until(pilot, lambda: target.exists() and target.stat().st_size > 0)
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert sorted(r["text"] for r in rows) == db_entries(tmp_path)
    assert rows[0]["provider"] == "sim" and rows[0]["producer"] in (1, 2)


async def test_question_mark_shows_help(tmp_path: Path) -> None:
    app = make_app(tmp_path, "-n", "1")
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "pause all producers" in terminal_output(app)[1]
        await pilot.press("escape")
        assert isinstance(app.screen, RunScreen)
        await finish(pilot, app)


async def test_command_palette_has_the_commands(tmp_path: Path) -> None:
    app = make_app(tmp_path, "-n", "1")
    async with app.run_test(size=SIZE) as pilot:
        screen = await started(pilot, app)
        titles = {c.title for c in app.get_system_commands(screen)}
        assert {"Pause all producers", "Add a producer", "Stop the run", "Export entries"} <= titles
        assert "Resume all producers" not in titles  # only what applies now
        await pilot.press("ctrl+p")
        await pilot.pause(0.1)
        from textual.command import CommandPalette
        from textual.widgets import Input

        assert isinstance(app.screen, CommandPalette)
        app.screen.query_one(Input).value = "Add a producer"
        await until(pilot, lambda: app.screen.query("CommandList Option") or True)
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(pilot, lambda: len(app.model.states) == 2)
        await finish(pilot, app)


# -- start screen ----------------------------------------------------------------------------


async def test_start_screen_collects_the_run(tmp_path: Path) -> None:
    app = make_app(tmp_path, topic=None)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen))
        assert "Only sim is available" in terminal_output(app)[1]
        await pilot.press("enter")  # empty topic
        assert isinstance(app.screen, StartScreen)
        assert "the topic is empty" in terminal_output(app)[1]
        from textual.widgets import Input, Select

        screen = app.screen
        screen.query_one("#start-producers", Input).value = "2"
        screen.query_one("#stop-kind", Select).value = "max_requests"
        await pilot.pause()
        screen.query_one("#stop-value", Input).value = "6"
        await pilot.click("#topic")
        await pilot.press(*"Board games", "enter")
        await until(pilot, lambda: app.run_closed)
    assert app.request is not None
    s = app.request.settings
    assert (s.topic, s.producers, s.limits.max_requests) == ("Board games", 2, 6)
    assert [a.label for a in s.arms] == ["sim:default"]
    assert app.result is not None and app.result.status == "completed"
    # --max-requests counts the requests for entries and subtopics, not verification's.
    con = sqlite3.connect(tmp_path / "t.db")
    sql = "SELECT count(*) FROM calls WHERE prompt_version NOT LIKE 'verify%'"
    assert con.execute(sql).fetchone()[0] == 6
    con.close()


async def test_start_screen_keeps_the_providers_the_command_named(tmp_path: Path) -> None:
    """`igentai --providers sim:fast,sim:slow` with no topic: the start screen lists and selects
    the models the command named, not only the default ones, and the run uses them."""
    app = make_app(tmp_path, "--providers", "sim:fast,sim:slow", "--max-requests", "2", topic=None)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen))
        from textual.widgets import SelectionList

        providers = app.screen.query_one("#start-providers", SelectionList)
        assert providers.selected == ["sim:fast", "sim:slow"]
        await pilot.click("#topic")
        await pilot.press(*"Board games", "enter")
        await until(pilot, lambda: app.run_closed)
    assert app.request is not None
    assert [a.label for a in app.request.settings.arms] == ["sim:fast", "sim:slow"]


async def test_start_screen_picks_the_routing(tmp_path: Path) -> None:
    app = make_app(tmp_path, topic=None)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen))
        from textual.widgets import Input, Select

        screen = app.screen
        assert screen.query_one("#optimize", Select).display
        assert not screen.query_one("#weights", Input).display
        screen.query_one("#routing", Select).value = "weighted"
        await pilot.pause()
        assert screen.query_one("#weights", Input).display
        assert not screen.query_one("#optimize", Select).display
        screen.query_one("#weights", Input).value = "sim:fast=2"
        screen.query_one("#stop-kind", Select).value = "max_requests"
        await pilot.pause()
        screen.query_one("#stop-value", Input).value = "4"
        await pilot.click("#topic")
        await pilot.press(*"Board games", "enter")
        assert "not one of the run's providers" in terminal_output(app)[1]
        screen.query_one("#weights", Input).value = "sim=2"
        await pilot.click("#topic")
        await pilot.press("enter")
        await until(pilot, lambda: app.run_closed)
    assert app.request is not None
    s = app.request.settings
    assert (s.routing, s.weights) == ("weighted", {"sim:default": 2.0})


async def test_start_screen_rejects_bad_values_and_escape_quits(tmp_path: Path) -> None:
    app = make_app(tmp_path, topic=None)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen))
        from textual.widgets import Input, Select

        screen = app.screen
        screen.query_one("#stop-kind", Select).value = "duration"
        await pilot.pause()
        screen.query_one("#stop-value", Input).value = "soon"
        await pilot.click("#topic")
        await pilot.press(*"Enzymes", "enter")
        assert "expected a duration" in terminal_output(app)[1]
        await pilot.press("escape")
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_value == 0 and app.result is None


# -- exit statuses ---------------------------------------------------------------------------


async def test_failed_run_exits_1(tmp_path: Path) -> None:
    bad = Scripted(lambda n: AuthenticationFailed("invalid key \x1b]0;PWNED\x07"))
    app = make_app(tmp_path, "-n", "2", provider=bad)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.run_closed)
        assert app.result is not None and app.result.status == "failed"
        assert isinstance(app.screen, RunScreen)
        app.screen.refresh_panels()
        raw, text = terminal_output(app)
        assert "FAILED" in text and "\x1b]" not in raw
        await pilot.press("q")
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_value == 1


async def test_unwritable_output_exits_2(tmp_path: Path) -> None:
    (tmp_path / "out.txt").mkdir()
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_value == 2 and "is a directory" in app.message


def test_closing_the_terminal_stops_the_run_and_exits_129(tmp_path: Path) -> None:
    """The real app on a real (pseudo-)terminal that is closed under it: the run is stored and
    marked interrupted, and the app exits 129 instead of being killed (or hanging: Textual's
    writer thread dies on the dead terminal)."""
    code, _ = run_then_close_its_terminal(
        tmp_path, "Paris attractions", "--providers", "sim:fast", "--db", "igentai.db",
        "--duration", "60",
    )  # fmt: skip
    assert code == 129
    con = sqlite3.connect(tmp_path / "igentai.db")
    run = con.execute("SELECT status, stop_reason FROM runs").fetchone()
    sql = "SELECT text FROM entries WHERE status = 'confirmed'"
    texts = sorted(r[0] for r in con.execute(sql))
    in_flight = con.execute("SELECT count(*) FROM calls WHERE error_kind = 'in_flight'").fetchone()
    con.close()
    assert run == ("stopped", "interrupted by SIGHUP") and in_flight == (0,)
    assert output_lines(tmp_path / "output.txt") == texts != []


def test_run_tui_rejects_an_empty_topic(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_tui(build_parser().parse_args(["   "])) == 2
    assert "the topic is empty" in capsys.readouterr().err


# -- untrusted text --------------------------------------------------------------------------

HOSTILE = [
    "[bold]",
    "[@click=app.quit]x[/]",
    "x [/] y",
    "\x1b]0;PWNED\x07",
    "\x1b[2J",
    "NUL\x00here",
    "\x9b31mcsi",
    "\u202eevil",
    "\x1b]8;;http://evil.example\x07link\x1b]8;;\x07",
    "\x85next\x8dline",
    "zero\u200bwidth\u2066iso\u2069",
    "L\u043euvre",
    '=HYPERLINK("http://evil.example")',
    "L" * 10_240,
]
FORBIDDEN = ("\x1b]", "\x1b[2J", "\x07", "\x00", "\x9b", "\u202e", "PWNED", "evil.example\x07",
             "\x85", "\x8d", "\u200b", "\u2066", "]8;")  # fmt: skip


async def test_hostile_entries_are_shown_literally(tmp_path: Path) -> None:
    def reply(n: int) -> str | Exception:
        if n % 3 == 0:
            return BadResponse("bad \x1b]0;PWNED\x07 [bold]reply[/bold] \x1b[2J")
        return "\n".join([*HOSTILE, f"Safe {n}"])

    app = make_app(tmp_path, "-n", "2", provider=Scripted(reply))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await started(pilot, app, 2)
        await until(pilot, lambda: app.model.found >= 4)
        # And straight into the panels, past the engine's own parsing and cleaning:
        raw = [FoundEntry(h, 1, "sim:default", "[red]part\x1b[2J") for h in reversed(HOSTILE)]
        app.model(NewEntries(tuple(raw)))
        app.model(Notice("provider said \x1b]0;PWNED\x07 [@click=app.quit]quit[/]", "error"))
        screen.refresh_panels()
        await pilot.pause(0.1)
        out, text = terminal_output(app)
        for bad in FORBIDDEN:
            assert bad not in out, repr(bad)
        assert "[bold]" in text
        assert "[@click=app.quit]x[/]" in text
        assert "x [/] y" in text
        assert "[@click=app.quit]quit[/]" in text
        assert "zerowidthiso" in text and "L\u043euvre" in text  # invisibles gone, letters kept
        assert '=HYPERLINK("http://evil.example")' in text  # shown as typed, never a link
        assert "L" * 130 not in text  # bounded with an ellipsis
        assert "LLLL…" in text
        await pilot.click("#recent")  # a click on the literal [@click] text does nothing
        assert app.return_code is None and app.is_running
        await pilot.press("s")
        await until(pilot, lambda: app.run_closed)
    assert app.result is not None and app.result.status == "stopped"


# -- export ----------------------------------------------------------------------------------


async def test_export_during_a_run(tmp_path: Path) -> None:
    app = make_app(tmp_path, "-n", "2")
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app, 2)
        await until(pilot, lambda: app.model.found > 10)
        assert app.model.run is not None
        target = tmp_path / "during.jsonl"
        args = (tmp_path / "t.db", app.model.run.run_id, "jsonl", target)
        n = await asyncio.to_thread(export_run, *args)
        rows = [json.loads(line) for line in target.read_text().splitlines()]
        assert n == len(rows) >= 10 and all(r["text"].startswith("Entry ") for r in rows[:5])
        await pilot.press("s")
        await until(pilot, lambda: app.run_closed)


# -- themes and sizes ------------------------------------------------------------------------


async def test_themes_and_resizing_down_to_small_terminals(tmp_path: Path) -> None:
    app = make_app(tmp_path, "-n", "2", "--providers", "sim:default,sim:fast")
    async with app.run_test(size=SIZE) as pilot:
        screen = await started(pilot, app, 2)
        for theme in ("textual-light", "nord", "gruvbox", "textual-dark"):
            app.theme = theme
            screen.refresh_panels()
            await pilot.pause()
            assert "Throughput" in terminal_output(app)[1]
        for size in ((200, 60), (80, 24), (60, 16), (30, 10), (100, 30)):
            await pilot.resize_terminal(*size)
            screen.refresh_panels()
            await pilot.pause()
            assert app.size == size
            terminal_output(app)
        text = terminal_output(app)[1]
        assert "Producers" in text and "Providers" in text and "Recent entries" in text
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert "Recent entries" in terminal_output(app)[1]  # kept; the providers table goes
        await pilot.press("s")
        await until(pilot, lambda: app.run_closed)


async def test_resume_continues_a_stopped_run(tmp_path: Path) -> None:
    app = make_app(tmp_path, "-n", "2", "--max-requests", "4")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.run_closed)
    assert app.result is not None and app.result.status == "completed"
    uid, first = app.result.run.uid, app.result.snapshot.unique
    again = make_app(tmp_path, "-n", "2", "--max-requests", "10", "--resume", uid, topic=None)
    async with again.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: again.run_closed)
        # The gap is shown (in the status line until a later notice, such as a split, comes).
        assert any(n.message.startswith("resumed after") for n in again.model.notices)
    assert again.result is not None and again.result.run.uid == uid
    assert again.result.status == "completed" and again.result.snapshot.unique > first
    assert output_lines(tmp_path / "out.txt") == db_entries(tmp_path)
