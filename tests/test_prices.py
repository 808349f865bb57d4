"""Prices: genai-prices, the config file, --price, and a cost limit that is always honoured.

A cost limit (`--max-cost`) with a model of unknown price is refused before the run starts
(exit 2, the message names the model and the flag); every other cost limit stops the run.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import sqlite3
from pathlib import Path

import pytest
from fakes import openai_server as oa
from fakes.server import Seen

from igentai_tui.cli import main
from igentai_tui.common.clock import Clock
from igentai_tui.providers import make_provider
from igentai_tui.providers.anthropic import AnthropicProvider
from igentai_tui.providers.base import list_price
from igentai_tui.providers.gemini import GeminiProvider
from igentai_tui.providers.openai import OpenAIProvider
from igentai_tui.providers.specs import DEFAULT_MODELS
from igentai_tui.request import build_parser, run_request
from igentai_tui.tui.app import IgentaiApp

KEY = "sk-prices-test-key-0123456789"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in list(os.environ):
        if var.endswith(("_API_KEY", "_BASE_URL")) or var.startswith("IGENTAI_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("IGENTAI_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path


_tags = itertools.count()


def fresh(seen: Seen) -> str:
    tag = next(_tags)
    return "\n".join(f"Star {tag}-{i}" for i in range(10))


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--headless", "Stars", "--db", "igentai.db", "-n", "1", *argv])
    return code, out.getvalue(), err.getvalue()


def test_models_outside_the_old_table_have_their_list_price() -> None:
    openai = OpenAIProvider(api_key=KEY)
    assert openai.price("o4-mini") == (1.1, 4.4)  # was unknown: the run spent on
    assert openai.price("gpt-4o-mini") == (0.15, 0.60)
    assert openai.price("gpt-4o-mini-2024-07-18") == (0.15, 0.60)
    assert AnthropicProvider(api_key=KEY).price("claude-haiku-4-5") == (1.0, 5.0)
    assert AnthropicProvider(api_key=KEY).price("claude-opus-4-5") == (5.0, 25.0)
    gemini = GeminiProvider(api_key=KEY)
    assert gemini.price("gemini-2.0-flash") == (0.10, 0.40)
    assert gemini.price("models/gemini-2.5-flash") == (0.30, 2.50)
    assert openai.price("llama3.1") is None  # a local model: the user prices it
    assert openai.price("gpt-4o-mini-but-not-really") is None


def test_the_start_screen_offers_only_models_with_a_price(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its stop condition "at a cost in USD" is always honoured: every model it offers (the
    default of each provider) has a known price; sim is free."""
    for name, model in DEFAULT_MODELS.items():
        if name != "sim":
            monkeypatch.setenv(f"{name.upper()}_API_KEY", KEY)
        provider = make_provider(name, model, seed=0, clock=Clock())
        assert list_price(provider, model) is not None, (name, model)
    assert list_price(make_provider("sim", "default", seed=0, clock=Clock()), "default") == (0, 0)


def test_price_flag_wins_and_names_arms_without_their_url() -> None:
    args = build_parser().parse_args(
        ["Stars", "--providers", "openai:llama3.1@http://127.0.0.1:9/v1,sim",
         "--price", "openai:llama3.1=0.2/0.6", "--price", "sim=1/2"]
    )  # fmt: skip
    prices = run_request(args).settings.prices
    assert prices == {"openai:llama3.1@http://127.0.0.1:9/v1": (0.2, 0.6), "sim:default": (1, 2)}
    sim = make_provider("sim", "default", seed=0, clock=Clock())
    assert list_price(sim, "default", prices) == (1.0, 2.0)  # the run's price wins


def test_a_cost_limit_stops_a_run_on_a_model_the_old_table_lacked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with oa.OpenAIServer(api_key=KEY) as server:
        server.answer = fresh
        code, out, err = run(
            "--providers", f"openai:o4-mini@{server.base_url}", "--max-cost", "0.0005",
            "--max-requests", "40",
        )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["stop_reason"] == "cost limit reached"
    assert summary["cost_usd"] >= 0.0005 and summary["requests"] < 40


def test_a_local_model_priced_on_the_command_line_is_counted_and_resumed() -> None:
    with oa.OpenAIServer(api_key="no-key-needed") as server:  # a local server wants no key
        server.answer = fresh
        spec = f"openai:llama3.1@{server.base_url}"
        code, out, err = run(
            "--providers", spec, "--price", "openai:llama3.1=100/200", "--max-cost", "0.01"
        )
        assert code == 0, err
        assert json.loads(out)["stop_reason"] == "cost limit reached"
        con = sqlite3.connect("igentai.db")
        rows = con.execute("SELECT input_tokens, output_tokens, cost_usd FROM calls").fetchall()
        con.close()
        assert rows and all(
            c == pytest.approx((i * 100 + o * 200) / 1e6) for i, o, c in rows
        )  # every call priced with the flag's price
        # A resume keeps the run's prices: its higher cost limit is accepted and reached.
        code, out, err = run("--resume", "last", "--max-cost", "0.02")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["stop_reason"] == "cost limit reached" and summary["cost_usd"] >= 0.02


async def test_the_tui_refuses_a_cost_limit_it_cannot_count() -> None:
    args = build_parser().parse_args(
        ["Stars", "--providers", "openai:llama3.1@http://127.0.0.1:9/v1", "--max-cost", "1",
         "--db", "igentai.db"]
    )  # fmt: skip
    app = IgentaiApp(args, request=run_request(args), env={}, cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        # refused, or (before) running
        while app.return_value is None and not (app.runner and app.runner.opened):
            await pilot.pause(0.02)
        refused = app.return_value
        app.exit()
    assert refused == 2 and app.result is None
    assert "--price openai:llama3.1=IN/OUT" in app.message
