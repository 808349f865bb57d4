"""API keys never leave the provider: not in the DB, output, exports, logs, stderr or the TUI.

Distinctive fake keys come from the three places igentai reads them (environment, keys.json,
config.toml). Local servers on 127.0.0.1 answer a few lists, then echo the key back in their
error bodies (whole, and only a prefix or a suffix, as real APIs do), and one provider raises
an unexpected exception carrying the key. Then every artifact is scanned, as raw bytes, for
any run of 8 or more characters of any key.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import pytest
from fakes import anthropic_server as an
from fakes import gemini_server as gm
from fakes import openai_server as oa
from fakes.server import Reply
from rich.console import Console
from test_tui import make_app, terminal_output, until

from igentai_tui import keys
from igentai_tui.cli import main
from igentai_tui.common import redact
from igentai_tui.engine.prompts import PLAN_VERSION
from igentai_tui.providers.base import AuthenticationFailed, BadResponse
from igentai_tui.providers.openai import OpenAIProvider
from igentai_tui.providers.sim.topics import universe_for

OPENAI_KEY = "sk-proj-Q7hX2Lx9Vb4Nc1Mz8KwR5tY0"
ANTHROPIC_KEY = "sk-ant-api03-Wd5Ry3Tp0Ke6Jf8Gu2Io4Pa7"
GEMINI_KEY = "AIzaSyD-Zq3Xc6Vb9Nm2Lk5Jh8Gf1Ds4"
KEYS = (OPENAI_KEY, ANTHROPIC_KEY, GEMINI_KEY)


def parts(key: str, n: int = redact.MIN_PART) -> set[bytes]:
    """Every run of `n` characters of `key`: finding none of them means no 8+ prefix/suffix."""
    return {key[i : i + n].encode() for i in range(len(key) - n + 1)}


def leaks(blobs: Iterable[tuple[str, bytes | str]]) -> list[str]:
    found = []
    for name, blob in blobs:
        raw = blob.encode() if isinstance(blob, str) else blob
        for key in KEYS:
            for part in parts(key):
                if part in raw:
                    found.append(f"{name}: {part.decode()!r}")
                    break
    return found


def echoing(key: str) -> str:
    """An error message that quotes the key, as real APIs do, whole and in part."""
    return f"Incorrect API key provided: {key}. Prefix {key[:12]}… suffix …{key[-10:]}."


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The three keys from the three sources; no other key or base URL from the environment."""
    for var in list(os.environ):
        if var.endswith(("_API_KEY", "_BASE_URL")) or var.startswith("IGENTAI_"):
            monkeypatch.delenv(var)
    config = tmp_path / "config"
    monkeypatch.setenv("IGENTAI_CONFIG_DIR", str(config))
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    keys.set_key("anthropic", ANTHROPIC_KEY)
    (config / "config.toml").write_text(f'[keys]\ngemini = "{GEMINI_KEY}"\n')
    (config / "config.toml").chmod(0o600)
    monkeypatch.chdir(tmp_path)
    return tmp_path


class Servers:
    """The three fake APIs: two good lists each, then the key echoed in an auth error."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.openai = oa.OpenAIServer(api_key=OPENAI_KEY)
        self.anthropic = an.AnthropicServer(api_key=ANTHROPIC_KEY)
        self.gemini = gm.GeminiServer(api_key=GEMINI_KEY)
        self.monkeypatch = monkeypatch
        n = iter(range(10**6))
        for s in (self.openai, self.anthropic, self.gemini):
            s.answer = lambda seen: "\n".join(f"Place {next(n)}" for _ in range(5))

    def __enter__(self) -> Servers:
        for s in (self.openai, self.anthropic, self.gemini):
            s.start()
        # Two good replies each: the run's first request, wherever it goes, asks for subtopics.
        self.openai.push(Reply(200, oa.completion("Eiffel Tower\nLouvre")))
        self.openai.push(Reply(200, oa.completion("Musée d'Orsay\nPanthéon")))
        self.openai.push(
            oa.error(401, echoing(OPENAI_KEY), "invalid_request_error", "invalid_api_key")
        )
        self.anthropic.push(Reply(200, an.message("Sainte-Chapelle\nPlace des Vosges")))
        self.anthropic.push(Reply(200, an.message("Palais Garnier\nOpéra Bastille")))
        self.anthropic.push(an.error(401, "authentication_error", echoing(ANTHROPIC_KEY)))
        self.gemini.push(Reply(200, gm.response("Arc de Triomphe\nMontmartre")))
        self.gemini.push(Reply(200, gm.response("Sacré-Cœur\nLes Invalides")))
        self.gemini.push(
            gm.error(400, "INVALID_ARGUMENT", echoing(GEMINI_KEY),
                     details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                               "reason": "API_KEY_INVALID"}]),
        )  # fmt: skip
        env = self.monkeypatch.setenv
        env("OPENAI_BASE_URL", self.openai.base_url)
        env("ANTHROPIC_BASE_URL", self.anthropic.url)
        env("GEMINI_BASE_URL", self.gemini.url)
        # A provider bug: an exception (not a typed error) whose text carries the key.
        real = OpenAIProvider.complete
        calls = iter(range(10**6))

        def buggy(provider: OpenAIProvider, request: object) -> object:
            if next(calls) == 0:
                raise RuntimeError(f"client state dump: api_key={OPENAI_KEY!r}")
            return real(provider, request)  # type: ignore[arg-type]

        self.monkeypatch.setattr(OpenAIProvider, "complete", buggy)
        return self

    def __exit__(self, *exc: object) -> None:
        for s in (self.openai, self.anthropic, self.gemini):
            s.close()


def test_redact_catches_whole_keys_and_their_parts() -> None:
    key = "sk-test-REDACT-abcdefghijklmnop"
    text = f"bad {key}; starts {key[:8]}; ends {key[-9:]}; middle {key[10:20]}; short {key[:7]}"
    out = redact.redact(text, [key])
    assert not any(p.decode() in out for p in parts(key))
    assert out.count("***") == 4 and f"short {key[:7]}" in out  # under 8 characters: kept
    assert redact.redact("nothing secret here", [key]) == "nothing secret here"


def test_every_provider_error_is_scrubbed_of_every_key_read(setup: Path) -> None:
    assert keys.get_key("gemini") == GEMINI_KEY  # reading a key registers it
    err = BadResponse(f"TypeError: {GEMINI_KEY[3:20]} in {GEMINI_KEY}")
    assert not leaks([("message", str(err))])
    assert "***" in str(AuthenticationFailed(f"key {GEMINI_KEY[-8:]} refused"))


def test_a_headless_run_leaks_no_key(
    setup: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # the SDKs and httpx log requests at DEBUG: scanned too
    tmp = setup
    with Servers(monkeypatch) as servers:
        code = main(
            ["--headless", "Paris attractions", "--providers", "openai,anthropic,gemini",
             "--producers", "3", "--max-requests", "40", "--db", "igentai.db", "--no-verify"]
        )  # fmt: skip
        counts = [s.count for s in (servers.openai, servers.anthropic, servers.gemini)]
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert code == 1 and summary["status"] == "failed", err  # every provider refused its key
    assert all(c >= 2 for c in counts)
    assert "OPENAI_API_KEY" in err and "disabled" in err and "***" in err  # said, redacted
    assert summary["unique"] >= 6
    # The keys did reach the servers (so they were really in play) ...
    assert servers.openai.requests[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"
    # ... and the stored error messages say what happened, without them.
    con = sqlite3.connect(tmp / "igentai.db")
    sql = "SELECT error_message FROM calls WHERE error_kind IS NOT NULL"
    messages = [r[0] for r in con.execute(sql)]
    con.close()
    assert any("RuntimeError" in m for m in messages)
    assert sum("Incorrect API key provided: ***" in m for m in messages) == 3
    exports = []
    for fmt in ("txt", "csv", "jsonl", "md"):
        assert main(["export", "last", "--db", "igentai.db", "-f", fmt, "--with-provenance",
                     "--status", "all"]) == 0  # fmt: skip
        exports.append((f"export {fmt}", capsys.readouterr().out))
    db = ["--db", "igentai.db"]
    for command in (["stats", "last", *db], ["stats", "last", "--json", *db], ["runs", *db],
                    ["keys", "list"]):  # fmt: skip
        assert main(command) == 0
        got = capsys.readouterr()
        exports.append((" ".join(command), got.out + got.err))
    files = [(str(p.relative_to(tmp)), p.read_bytes()) for p in tmp.iterdir() if p.is_file()]
    assert {"igentai.db", "output.txt"} <= {name for name, _ in files}
    assert leaks([*files, *exports, ("stdout", out), ("stderr", err), ("log", caplog.text)]) == []
    assert caplog.records  # there were log lines to scan


async def test_the_tui_shows_no_key(setup: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp = setup
    arms = "openai,anthropic,gemini,sim:instant"  # sim keeps the run (and its WAL) going
    with Servers(monkeypatch):
        app = make_app(tmp, "--providers", arms, "-n", "4", "--no-verify", provider="real")
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: app.orc is not None and len(app.orc.accounts.disabled) == 3)
            await until(pilot, lambda: app.model.found >= 20)
            app.screen.refresh_panels()  # type: ignore[attr-defined]
            await pilot.pause(0.1)
            raw, _ = terminal_output(app)
            svg = app.export_screenshot()
            notices = "\n".join(n.message for n in app.model.notices)
            live = [(p.name, p.read_bytes()) for p in tmp.iterdir() if p.is_file()]
            await pilot.press("s")
            await until(pilot, lambda: app.run_closed)
    assert "t.db-wal" in {name for name, _ in live}  # scanned while the run was writing
    # The errors were shown (the status line shows the latest notice), redacted.
    assert "disabled" in notices
    files = [(p.name, p.read_bytes()) for p in tmp.iterdir() if p.is_file()]
    shown = [("screen", raw), ("screenshot", svg), ("notices", notices)]
    assert leaks([*live, *files, *shown]) == []


async def test_a_tui_crash_report_shows_no_key(setup: Path) -> None:
    """Textual prints a crash report with local variables; igentai's has neither them nor keys."""
    assert keys.get_key("openai") == OPENAI_KEY  # read, hence registered for redaction

    def boom() -> None:
        api_key = OPENAI_KEY  # a local, as in any provider frame
        raise RuntimeError(f"unexpected failure with {api_key[:20]}")

    app = make_app(setup, topic=None)  # the start screen: no run to wind down
    app.error_console = report = Console(file=io.StringIO(), width=100, record=True)
    with pytest.raises(RuntimeError):
        async with app.run_test(size=(100, 30)) as pilot:
            app.call_later(boom)
            await pilot.pause(0.2)
    text = report.export_text()  # what the terminal shows after the crash
    assert "RuntimeError: unexpected failure with ***" in text and "boom" in text
    assert leaks([("crash report", text)]) == []


# Shaped like keys, though no key igentai read: refused all the same.
SHAPED = [
    "sk-live-a1B2c3D4e5F6g7H8i9J0k1",
    "AIzaSyB" + "x7Y" * 11,
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "ghp_R4nd0mT0k3nW1thM1x3dCaseAndD1g1ts",
]


def _echoing_reply(prompt: str) -> str:
    """A proxy's page or an injected reply: the key read back among entries and subtopics."""
    if "Task: split" in prompt:  # the planning request: subtopics
        return "\n".join(["Museums", f"Proxy error: key {OPENAI_KEY} rejected", "Parks",
                          f"{ANTHROPIC_KEY[:14]} gardens", "Churches"])  # fmt: skip
    return "\n".join(["Eiffel Tower", f"Your key is {OPENAI_KEY}", f"{GEMINI_KEY[3:20]} Bridge",
                      *SHAPED, "Louvre", "Notre-Dame de Paris"])  # fmt: skip


def test_a_reply_that_echoes_a_key_is_dropped_and_counted(
    setup: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tmp = setup
    assert keys.get_key("anthropic") and keys.get_key("gemini")  # read: igentai knows them
    with oa.OpenAIServer(api_key=OPENAI_KEY) as server:
        server.answer = lambda seen: _echoing_reply(seen.body["messages"][-1]["content"])
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        code = main(["--headless", "Paris attractions", "--providers", "openai", "-n", "1",
                     "--max-requests", "3", "--db", "igentai.db", "--no-verify"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    con = sqlite3.connect(tmp / "igentai.db")
    texts = [r[0] for r in con.execute("SELECT text FROM entries ORDER BY id")]
    subtopics = [r[0] for r in con.execute("SELECT name FROM partitions WHERE name != ''")]
    rejected = dict(con.execute("SELECT prompt_version = ?, sum(rejected) FROM calls GROUP BY 1",
                                (PLAN_VERSION,)).fetchall())  # fmt: skip
    kinds = [r[0] for r in con.execute("SELECT prompt_version = ? FROM calls", (PLAN_VERSION,))]
    con.close()
    assert texts == ["Eiffel Tower", "Louvre", "Notre-Dame de Paris"]
    assert sorted(subtopics) == ["Churches", "Museums", "Parks"]
    plans, lists = kinds.count(1), kinds.count(0)  # planning requests (subtopics), lists
    assert plans >= 1 and lists >= 1 and rejected == {1: 2 * plans, 0: (2 + len(SHAPED)) * lists}
    assert json.loads(out)["unique"] == 3
    assert "a reply of openai:gpt-4o-mini held an API key or a key-shaped token" in err
    # Counted where the user looks: `igentai stats`, as JSON and as text.
    assert main(["stats", "last", "--json", "--db", "igentai.db"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["providers"]["openai:gpt-4o-mini"]["rejected"] == sum(rejected.values())
    assert main(["stats", "last", "--db", "igentai.db"]) == 0
    assert f"{sum(rejected.values())} items of its replies rejected" in capsys.readouterr().out
    files = [(p.name, p.read_bytes()) for p in tmp.iterdir() if p.is_file()]
    assert leaks(files) == []
    for token in SHAPED:
        assert not any(token[:12].encode() in blob for _, blob in files), token


def test_key_shapes_are_told_from_names(monkeypatch: pytest.MonkeyPatch) -> None:
    # Keys other tests registered (in this process) hold digit runs such as "12345678".
    monkeypatch.setattr(redact, "_registered", set())
    monkeypatch.setattr(redact, "_registered_parts", frozenset())
    for token in [*SHAPED, OPENAI_KEY, ANTHROPIC_KEY, GEMINI_KEY]:  # none of them registered
        assert redact.holds_secret(f"the key: {token}."), token
    names = [e.name for topic in ("Paris attractions", "board games", "dog breeds")
             for e in universe_for(topic).entries]  # fmt: skip
    names += ["Saint-Jean-Pied-de-Port", "Pneumonoultramicroscopicsilicovolcanoconiosis",
              "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch", "Whisk-making tools",
              "Task-management-software-list", "ISBN 978-3-16-148410-0", "Boeing 787-9",
              "Mozart-Symphony-No40-K550", "12345678901234567890123456789012345"]  # fmt: skip
    assert [n for n in names if redact.holds_secret(n)] == []
