"""Bad command lines and config files: one clear line on stderr, exit 2, nothing stored lost.

One table; each case runs `igentai_tui.cli.main` in-process (the real entry point, minus the
interpreter start: an uncaught exception fails the test, where the real command would print a
traceback). `test_the_real_command_prints_one_line` runs a few cases as subprocesses in one
batch to show that the installed command behaves the same.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from igentai_tui import commands, history, keys
from igentai_tui.cli import main
from igentai_tui.store import database

RUN = ["--headless", "Paris attractions", "--providers", "sim:instant", "--max-requests", "1"]
SECRET = "sk-bad-input-secret-0123456789abcdef"


@dataclass(frozen=True)
class Case:
    """A bad invocation: argv, files to write first (relative to the test dir), the message."""

    id: str
    argv: list[str]
    message: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None


def _existing(path: Path) -> None:
    path.joinpath("taken.txt").write_text("do not overwrite\n")


CASES = [
    # -- the topic -------------------------------------------------------------------------------
    Case("empty topic", ["--headless", ""], "topic is empty"),
    Case("blank topic", ["--headless", "   "], "topic is empty"),
    Case("escape-only topic", ["--headless", "\x1b[2J\x00\u202e"], "topic is empty"),
    Case("10 KB topic", ["--headless", "x" * 10_240], "at most 500"),
    Case("no topic", ["--headless"], "topic is required"),
    # -- flags: wrong types and ranges -----------------------------------------------------------
    Case("unknown flag", [*RUN, "--bogus"], "unrecognized arguments"),
    Case("producers 0", [*RUN, "--producers", "0"], "above 0"),
    Case("producers negative", [*RUN, "--producers", "-3"], "above 0"),
    Case("producers word", [*RUN, "--producers", "many"], "whole number"),
    Case("producers too many", [*RUN, "--producers", "100000"], "too many"),
    Case("max-unique 0", [*RUN, "--max-unique", "0"], "above 0"),
    Case("max-requests fraction", [*RUN, "--max-requests", "1.5"], "whole number"),
    Case("max-tokens word", [*RUN, "--max-tokens", "lots"], "whole number"),
    Case("max-cost negative", [*RUN, "--max-cost", "-1"], "above 0"),
    Case("max-cost nan", [*RUN, "--max-cost", "nan"], "above 0"),
    Case("max-cost inf", [*RUN, "--max-cost", "inf"], "above 0"),
    Case("duration word", [*RUN, "--duration", "soon"], "duration"),
    Case("duration 0", [*RUN, "--duration", "0s"], "above 0"),
    Case("duration negative", [*RUN, "--duration", "-5m"], "duration"),
    Case("seed word", [*RUN, "--seed", "x"], "whole number"),
    Case("flag without value", [*RUN, "--producers"], "expected one argument"),
    # -- provider specs --------------------------------------------------------------------------
    Case("unknown provider", [*RUN, "--providers", "gpt5"], "unknown provider"),
    Case("empty spec", [*RUN, "--providers", "sim,,sim"], "empty provider spec"),
    Case("missing model", [*RUN, "--providers", "openai:"], "missing model"),
    Case("unknown sim model", [*RUN, "--providers", "sim:nonesuch"], "nonesuch"),
    Case("openai without key", [*RUN, "--providers", "openai"], "OPENAI_API_KEY"),
    Case("gemini without key", [*RUN, "--providers", "gemini"], "GEMINI_API_KEY"),
    Case(
        "base URL for anthropic",
        [*RUN, "--providers", "anthropic:claude-haiku-4-5@http://127.0.0.1:1"],
        "only for openai",
    ),
    Case("base URL without host", [*RUN, "--providers", "openai:m@http://"], "invalid base URL"),
    Case(
        "credentials in the URL",
        [*RUN, "--providers", f"openai:m@http://u:{SECRET}@127.0.0.1:1/v1"],
        "not the URL",
    ),
    Case(
        "base URL not http",
        [*RUN, "--providers", "openai:m@ftp://127.0.0.1/v1"],
        "'ftp://127.0.0.1/v1' is not an http or https URL (use http://HOST[:PORT][/PATH]",
    ),
    Case(
        "base URL without scheme",
        [*RUN, "--providers", "openai:llama3.1@localhost:11434/v1"],
        "'localhost:11434/v1' is not an http or https URL",
    ),
    Case(
        "base URL without scheme for anthropic",
        [*RUN, "--providers", "anthropic:claude-haiku-4-5@127.0.0.1:8080"],
        "only for openai, not 'anthropic' (set ANTHROPIC_BASE_URL instead)",
    ),
    Case(
        "OPENAI_BASE_URL without scheme",
        [*RUN, "--providers", "openai:llama3.1"],
        "OPENAI_BASE_URL: 'localhost:11434/v1' is not an http or https URL",
        env={"OPENAI_BASE_URL": "localhost:11434/v1"},
    ),
    Case(
        "ANTHROPIC_BASE_URL not http",
        [*RUN, "--providers", "anthropic"],
        "ANTHROPIC_BASE_URL: 'ftp://proxy.example/v1' is not an http or https URL",
        env={"ANTHROPIC_BASE_URL": "ftp://proxy.example/v1", "ANTHROPIC_API_KEY": SECRET},
    ),
    Case(
        "GEMINI_BASE_URL without host",
        [*RUN, "--providers", "gemini:gemini-2.5-flash"],
        "GEMINI_BASE_URL: 'https://' has no host",
        env={"GEMINI_BASE_URL": "https://", "GEMINI_API_KEY": SECRET},
    ),
    # -- prices and cost limits ------------------------------------------------------------------
    Case(
        "max-cost with a model of unknown price",
        [*RUN, "--providers", "openai:llama3.1@http://127.0.0.1:9/v1,sim", "--max-cost", "1"],
        "no price is known for openai:llama3.1@http://127.0.0.1:9/v1; give one with "
        "--price openai:llama3.1=IN/OUT",
    ),
    Case("price without a pair", [*RUN, "--price", "sim=1"], "expected PROVIDER:MODEL=IN/OUT"),
    Case("price negative", [*RUN, "--price", "sim=-1/2"], "expected PROVIDER:MODEL=IN/OUT"),
    Case("price of another model", [*RUN, "--price", "sim:fast=1/2"], "not a provider of this run"),
    # -- paths and databases ---------------------------------------------------------------------
    Case("db is a directory", [*RUN, "--db", "."], "is a directory"),
    Case("output is a directory", [*RUN, "--output", "."], "is a directory"),
    Case(
        "db under a file",
        [*RUN, "--db", "afile/x.db"],
        "cannot create the folder",
        files={"afile": "x"},
    ),
    Case("output under a file", [*RUN, "--output", "afile/out.txt"], "afile", files={"afile": "x"}),
    Case(
        "db is a text file",
        [*RUN, "--db", "notes.db"],
        "not an SQLite database",
        files={"notes.db": "hello, I am not a database\n" * 10},
    ),
    Case("IGENTAI_DB is a directory", RUN[:-2], "is a directory", env={"IGENTAI_DB": "."}),
    Case("db locked", [*RUN, "--db", "locked.db"], "locked by another process"),
    Case("runs on a locked db", ["runs", "--db", "locked.db"], "locked by another process"),
    Case("resume without a db", [*RUN[:1], "--resume", "last", "--db", "none.db"], "no database"),
    Case("resume unknown run", ["--headless", "--resume", "zzzz", "--db", "real.db"], "no run"),
    Case(
        "resume with another topic",
        ["--headless", "Other", "--resume", "last", "--db", "real.db"],
        "leave the topic out",
    ),
    Case(
        "export over a file",
        ["export", "last", "--db", "real.db", "-o", "taken.txt"],
        "--force",
        setup=_existing,
    ),
    Case(
        "output is the database",
        [*RUN, "--db", "real.db", "--output", "real.db"],
        "--output real.db is the database's file real.db",
    ),
    Case(
        "output is the database by another path",
        [*RUN, "--db", "real.db", "--output", "./sub/../real.db"],
        "is the database's file real.db",
    ),
    Case(
        "output is a symlink to the database",
        [*RUN, "--db", "real.db", "--output", "list.txt"],
        "--output list.txt is the database's file real.db",
        setup=lambda tmp: tmp.joinpath("list.txt").symlink_to(tmp / "real.db"),
    ),
    Case(
        "output is a hard link to the database",
        [*RUN, "--db", "real.db", "--output", "hard.txt"],
        "--output hard.txt is the database's file real.db",
        setup=lambda tmp: os.link(tmp / "real.db", tmp / "hard.txt"),
    ),
    Case(
        "output is the database's lock file",
        [*RUN, "--db", "real.db", "--output", "real.db.locks"],
        "is the database's file real.db.locks",
    ),
    Case(
        "export over the database",
        ["export", "last", "--db", "real.db", "-o", "real.db", "--force"],
        "export target real.db is the database's file real.db",
    ),
    Case("stats without run", ["stats", "--db", "real.db"], "required: run"),
    Case("path with both", ["path", "--db", "--config"], "not allowed with"),
    # -- the keys command ------------------------------------------------------------------------
    Case("keys alone", ["keys"], "usage: igentai keys"),
    Case("keys unknown command", ["keys", "show"], "usage: igentai keys"),
    Case(
        "keys set with the key as an argument",
        ["keys", "set", "openai", SECRET],
        "never from the command line",
    ),
    Case("keys set unknown provider", ["keys", "set", "mistral"], "unknown provider"),
    Case(
        "keys list with a broken keys.json",
        ["keys", "list"],
        "not valid JSON",
        files={"config/keys.json": "{openai: sk-"},
    ),
    # -- config.toml and keys.json: each names the file and the key ------------------------------
    Case(
        "config: bad TOML",
        RUN,
        "config.toml: not valid TOML",
        files={"config/config.toml": "[openai\nbase_url = 1"},
    ),
    Case(
        "config: unknown table",
        RUN,
        "unknown key 'mistral'",
        files={"config/config.toml": "[mistral]\nbase_url = 'http://x'"},
    ),
    Case(
        "config: top-level key",
        RUN,
        "unknown key 'timeout'",
        files={"config/config.toml": "timeout = 5"},
    ),
    Case(
        "config: known name not a table",
        RUN,
        "openai must be a table",
        files={"config/config.toml": "openai = 'sk-x'"},
    ),
    Case(
        "config: unknown setting",
        RUN,
        "[openai] unknown key 'base_ur'",
        files={"config/config.toml": "[openai]\nbase_ur = 'http://x'"},
    ),
    Case(
        "config: timeout string",
        RUN,
        "[anthropic] timeout must be a number",
        files={"config/config.toml": "[anthropic]\ntimeout = 'soon'"},
    ),
    Case(
        "config: timeout negative",
        RUN,
        "[gemini] timeout must be a number",
        files={"config/config.toml": "[gemini]\ntimeout = -1"},
    ),
    Case(
        "config: timeout boolean",
        RUN,
        "[openai] timeout must be a number",
        files={"config/config.toml": "[openai]\ntimeout = true"},
    ),
    Case(
        "config: base_url number",
        RUN,
        "[openai] base_url must be an http(s) URL",
        files={"config/config.toml": "[openai]\nbase_url = 42"},
    ),
    Case(
        "config: base_url not http",
        RUN,
        "[gemini] base_url 'file:///etc/passwd' is not an http or https URL",
        files={"config/config.toml": "[gemini]\nbase_url = 'file:///etc/passwd'"},
    ),
    Case(
        "config: key a number",
        RUN,
        "[keys] openai must be the key",
        files={"config/config.toml": "[keys]\nopenai = 123"},
    ),
    Case(
        "config: key empty",
        RUN,
        "[keys] gemini must be the key",
        files={"config/config.toml": "[keys]\ngemini = ''"},
    ),
    Case(
        "config: key for unknown provider",
        RUN,
        "[keys] unknown key 'mistral'",
        files={"config/config.toml": "[keys]\nmistral = 'x'"},
    ),
    Case(
        "config: price a word",
        RUN,
        "[prices] 'gpt-4o-mini' must be [input, output]",
        files={"config/config.toml": "[prices]\n'gpt-4o-mini' = 'cheap'"},
    ),
    Case(
        "config: price negative",
        RUN,
        "[prices] 'llama3.1' must be [input, output]",
        files={"config/config.toml": "[prices]\n'llama3.1' = [-1, 0]"},
    ),
    Case(
        "config: price table missing output",
        RUN,
        "[prices] 'm' must be [input, output]",
        files={"config/config.toml": "[prices]\nm = { input = 1 }"},
    ),
    Case(
        "config: not UTF-8",
        RUN,
        "config.toml: not valid TOML",
        files={"config/config.toml": b"[keys]\nopenai = '\xff\xfe'"},
    ),
    Case(
        "config: a directory",
        RUN,
        "config.toml: Is a directory",
        files={"config/config.toml/x": ""},
    ),
    Case(
        "keys.json: not JSON",
        RUN,
        "keys.json: not valid JSON",
        files={"config/keys.json": "openai=sk-123"},
    ),
    Case(
        "keys.json: a list",
        RUN,
        "keys.json: expected a JSON object",
        files={"config/keys.json": '["sk-123"]'},
    ),
    Case(
        "keys.json: key a number",
        RUN,
        "keys.json: openai must be the key",
        files={"config/keys.json": '{"openai": 5}'},
    ),
    Case(
        "keys.json: unknown provider",
        RUN,
        "keys.json: unknown key 'mistral'",
        files={"config/keys.json": '{"mistral": "sk-123456789"}'},
    ),
    Case(
        "keys.json: the key as a name",
        RUN,
        "keys.json: unknown key of 36 characters",
        files={"config/keys.json": f'{{"{SECRET}": "openai"}}'},
    ),
    Case(
        "config: bad setting, TUI",
        ["Paris attractions"],
        "[openai] unknown key 'model'",
        files={"config/config.toml": "[openai]\nmodel = 'gpt-4o'"},
    ),
    Case("config dir is a file", RUN, "is a file", files={"config": "x"}),
]


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """Hold an exclusive SQLite lock on `path` (another writer, mid-transaction)."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA locking_mode = EXCLUSIVE")
    con.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        con.close()


@pytest.fixture(scope="module")
def real_db(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a database holding one short sim run."""
    tmp = tmp_path_factory.mktemp("realdb")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*RUN, "--db", str(tmp / "real.db"), "--output", str(tmp / "o.txt")])
    assert code == 0, err.getvalue()
    con = sqlite3.connect(tmp / "real.db")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return (tmp / "real.db").read_bytes()


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in list(os.environ):
        if var.endswith(("_API_KEY", "_BASE_URL")) or var.startswith("IGENTAI_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("IGENTAI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(keys, "_warned", set())
    # A locked database fails fast here: each module that waits on one reads its own name.
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr(history, "BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr(commands, "BUSY_TIMEOUT_MS", 50)
    return tmp_path


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def test_the_table_is_large_and_distinct() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)
    assert len({(tuple(c.argv), tuple(sorted(c.files.items()))) for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_exit_2(
    case: Case,
    isolated: Path,
    real_db: bytes,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tmp = isolated
    (tmp / "real.db").write_bytes(real_db)
    for name, content in case.files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    for var, value in case.env.items():
        monkeypatch.setenv(var, value)
    if case.setup:
        case.setup(tmp)
    argv = list(case.argv)
    if argv[:1] == ["--headless"] and "--db" not in argv and "IGENTAI_DB" not in case.env:
        argv += ["--db", "igentai.db"]
    locked = "locked.db" in argv
    if locked:
        (tmp / "locked.db").write_bytes(real_db)
    before = digests(tmp)
    with contextlib.ExitStack() as stack:
        if locked:
            stack.enter_context(_lock(tmp / "locked.db"))
        code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("igentai: error: "), err
    assert case.message in lines[0], lines[0]
    if any(name.startswith("config") for name in case.files):  # names the file
        assert str(tmp / "config") in lines[0]
    assert "Traceback" not in err and SECRET not in err
    after = digests(tmp)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing changed or lost


BATCH = [c for c in CASES if c.id in ("unknown flag", "config: timeout string", "keys alone")]
_DRIVER = """
import json, os, subprocess, sys
results = []
for argv, files in json.loads(sys.argv[1]):
    for name, text in files.items():
        os.makedirs(os.path.dirname(name) or ".", exist_ok=True)
        open(name, "w").write(text)
    p = subprocess.run([sys.executable, "-m", "igentai_tui", *argv], capture_output=True, text=True)
    results.append([p.returncode, p.stdout, p.stderr])
    for name in files:
        os.remove(name)
print(json.dumps(results))
"""


def test_the_real_command_prints_one_line(isolated: Path) -> None:
    """The installed entry point, for a few cases: exit status 2 and one line, no traceback."""
    cases = [[[*c.argv, "--db", "x.db"] if c.argv[0] == "--headless" else c.argv, c.files]
             for c in BATCH]  # fmt: skip
    p = subprocess.run(
        [sys.executable, "-c", _DRIVER, json.dumps(cases)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=isolated,
    )
    assert p.returncode == 0, p.stderr
    for case, (code, out, err) in zip(BATCH, json.loads(p.stdout), strict=True):
        assert code == 2 and out == "", (case.id, err)
        assert len(err.strip().splitlines()) == 1 and case.message in err, (case.id, err)
