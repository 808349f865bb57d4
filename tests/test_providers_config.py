"""Specs with base URLs, defaults, keys and the config file, prices, retry hints."""

from __future__ import annotations

import email.utils
import io
import os
import stat
from pathlib import Path

import pytest

from igentai_tui import keys
from igentai_tui.common.clock import Clock
from igentai_tui.common.redact import redact
from igentai_tui.providers import default_specs, make_provider
from igentai_tui.providers.errors import retry_after
from igentai_tui.providers.openai import OpenAIProvider
from igentai_tui.providers.prices import price_of
from igentai_tui.providers.specs import SpecError, parse_specs, split_model

SECRET = "sk-config-test-secret-0123456789"


@pytest.fixture(autouse=True)
def config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    d = tmp_path / "config"
    monkeypatch.setenv("IGENTAI_CONFIG_DIR", str(d))
    for var in list(os.environ):
        if var.endswith(("_API_KEY", "_BASE_URL")):
            monkeypatch.delenv(var)
    return d


def build(name: str, model: str) -> object:
    return make_provider(name, model, seed=0, clock=Clock())


# -- specs -------------------------------------------------------------------------------------


def test_specs_with_a_base_url() -> None:
    assert parse_specs("openai:llama3.1@http://localhost:11434/v1,sim") == [
        ("openai", "llama3.1@http://localhost:11434/v1"),
        ("sim", "default"),
    ]
    assert parse_specs("openai,anthropic,gemini") == [
        ("openai", "gpt-4o-mini"),
        ("anthropic", "claude-haiku-4-5"),
        ("gemini", "gemini-2.5-flash"),
    ]


@pytest.mark.parametrize(
    "spec",
    [
        "anthropic:claude-haiku-4-5@http://127.0.0.1:1",
        "openai:@http://localhost:1/v1",
        "openai:m@http://",
        "openai:m@ftp://127.0.0.1/v1",
        "openai:m@file:/etc/passwd",
        "openai:m@localhost:11434/v1",
        "openai:m@127.0.0.1:8080",
        "openai:m@api.example.com/v1",
        "openai:m@http://host:99999/v1",
        "anthropic:claude-haiku-4-5@localhost:8080",
    ],
)
def test_bad_base_url_specs(spec: str) -> None:
    with pytest.raises(SpecError, match=r"http://HOST|only for openai|missing model"):
        parse_specs(spec)


def test_a_version_after_at_is_part_of_the_model() -> None:
    assert split_model("org/model@v2") == ("org/model@v2", None)
    assert split_model("claude-3-5-sonnet@20240620") == ("claude-3-5-sonnet@20240620", None)
    assert parse_specs("openai:org/model@v2@http://127.0.0.1:1/v1") == [
        ("openai", "org/model@v2@http://127.0.0.1:1/v1")
    ]
    assert split_model("org/model@v2@http://127.0.0.1:1/v1") == (
        "org/model@v2",
        "http://127.0.0.1:1/v1",
    )


def test_a_base_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(SpecError) as info:
        parse_specs(f"openai:m@http://user:{SECRET}@127.0.0.1:1/v1")
    assert SECRET not in str(info.value)


def test_make_provider_splits_the_url_and_needs_no_key_for_it() -> None:
    p = build("openai", "llama3.1@http://127.0.0.1:9/v1")
    assert isinstance(p, OpenAIProvider) and p.base_url == "http://127.0.0.1:9/v1"


@pytest.mark.parametrize(
    ("name", "var"),
    [
        ("openai", "OPENAI_API_KEY"),
        ("anthropic", "ANTHROPIC_API_KEY"),
        ("gemini", "GEMINI_API_KEY"),
    ],
)
def test_make_provider_without_key_names_the_fix(name: str, var: str) -> None:
    with pytest.raises(SpecError, match=var):
        build(name, "some-model")


def test_default_specs_use_providers_with_keys(config: Path) -> None:
    assert default_specs({})[0] == [("sim", "default")]
    specs, note = default_specs({"OPENAI_API_KEY": SECRET, "GEMINI_API_KEY": SECRET})
    assert specs == [("openai", "gpt-4o-mini"), ("gemini", "gemini-2.5-flash")]
    assert SECRET not in note
    keys.set_key("anthropic", SECRET)
    assert default_specs({})[0] == [("anthropic", "claude-haiku-4-5")]


def test_config_file_base_url_timeout_and_prices(config: Path) -> None:
    config.mkdir(parents=True)
    (config / "config.toml").write_text(
        '[keys]\nopenai = "sk-from-config-file-1"\n'
        '[openai]\nbase_url = "http://127.0.0.1:9/v1"\ntimeout = 30\n'
        '[prices]\n"llama3.1" = [0, 0]\n"gpt-4o-mini" = {input = 1.0, output = 2.0}\n'
    )
    p = build("openai", "llama3.1")
    assert isinstance(p, OpenAIProvider) and p.base_url == "http://127.0.0.1:9/v1"
    assert p.price("llama3.1") == (0.0, 0.0)
    assert p.price("gpt-4o-mini") == (1.0, 2.0)
    assert keys.get_key("openai") == "sk-from-config-file-1"
    (config / "config.toml").write_text('[openai]\ntimeout = "soon"\n')
    with pytest.raises(SpecError, match="timeout"):
        build("openai", "llama3.1@http://127.0.0.1:9/v1")


# -- keys --------------------------------------------------------------------------------------


def test_set_key_writes_a_private_file_and_env_wins(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = keys.set_key("openai", f"  {SECRET}\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.get_key("openai") == SECRET
    assert [p for p in ("openai", "anthropic", "gemini") if keys.key_source(p)] == ["openai"]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-000000")
    assert keys.get_key("openai") == "sk-from-env-000000"
    assert keys.key_source("openai") == "env OPENAI_API_KEY"


def test_keys_files_are_private_and_a_readable_one_warns_once(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keys, "_warned", set())
    path = keys.set_key("gemini", SECRET)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.stat().st_mode) == 0o700
    keys.check_files()
    assert capsys.readouterr().err == ""  # private: no warning
    path.chmod(0o644)
    toml = config / "config.toml"
    toml.write_text(f'[keys]\nopenai = "{SECRET}"\n')
    toml.chmod(0o640)
    keys.check_files()
    assert keys.get_key("gemini") == SECRET  # a warning, not an error
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2  # one line per file, once
    for line, file in zip(sorted(err), ("config.toml", "keys.json"), strict=True):
        assert line.startswith("igentai: warning: ") and f"chmod 600 {config / file}" in line
    assert SECRET not in "".join(err)


def test_keys_command_set_list_unset_never_prints_the_key(config: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert (
        keys.keys_command(["set", "anthropic"], stdin=io.StringIO(SECRET + "\n"), out=out, err=err)
        == 0
    )
    assert keys.get_key("anthropic") == SECRET
    assert keys.keys_command(["list"], out=out, err=err) == 0
    listing = out.getvalue()
    assert "anthropic" in listing and "not set (set OPENAI_API_KEY)" in listing
    assert keys.keys_command(["unset", "anthropic"], out=out, err=err) == 0
    assert keys.get_key("anthropic") is None
    assert keys.keys_command(["set", "nope"], stdin=io.StringIO("x"), out=out, err=err) == 2
    assert keys.keys_command(["set", "openai"], stdin=io.StringIO("\n"), out=out, err=err) == 2
    assert keys.keys_command([], out=out, err=err) == 2
    assert SECRET not in out.getvalue() + err.getvalue()


# -- prices and retry hints -------------------------------------------------------------------


def test_prices_config_file_first_then_genai_prices() -> None:
    assert price_of("openai", "gpt-4o-mini") == (0.15, 0.60)
    assert price_of("anthropic", "claude-haiku-4-5-20251001") == (1.0, 5.0)
    assert price_of("gemini", "gemini-2.5-flash") == (0.30, 2.50)
    assert price_of("openai", "GPT-4o-mini", {"gpt-4o-mini": (1.0, 2.0)}) == (1.0, 2.0)
    assert price_of("openai", "gpt-4o-mini-but-not-really") is None
    assert price_of("openai", "llama3.1") is None
    assert price_of("sim", "default") is None  # sim prices itself (its profile)


def test_retry_after_forms() -> None:
    assert retry_after({"retry-after": "3"}) == 3.0
    assert retry_after({"retry-after-ms": "250", "retry-after": "3"}) == 0.25
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({"retry-after": "99999"}) == 600.0
    date = email.utils.formatdate(1_000_010, usegmt=True)
    assert retry_after({"retry-after": date}, now=1_000_000) == pytest.approx(10, abs=1)
    assert retry_after({"x-ratelimit-reset-requests": "1m30s"}) == 90.0
    assert retry_after({}) is None


def test_redact() -> None:
    assert redact(f"bad key {SECRET}!", [SECRET, None]) == "bad key ***!"
    assert redact("short", ["short"]) == "short"  # too short to be a key: left alone
