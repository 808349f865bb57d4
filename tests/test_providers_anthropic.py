"""What only the Anthropic provider does, against a local Messages API server through the real
SDK (what every provider does: test_providers.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fakes import anthropic_server as an
from fakes.server import Reply
from fakes.wires import KEY, WIRES, Wire

from igentai_tui.providers.anthropic import AnthropicProvider
from igentai_tui.providers.base import BadResponse, Overloaded, ProviderError, QuotaExhausted
from igentai_tui.providers.remote import RemoteProvider

pytestmark = pytest.mark.usefixtures("isolated")
REQ = WIRES["anthropic"].request()
Make = Callable[..., RemoteProvider]


@pytest.fixture
def wire() -> Wire:
    return WIRES["anthropic"]


def test_the_request_on_the_wire(server: an.AnthropicServer, make: Make) -> None:
    reply = make().complete(REQ)
    assert reply.text == "Eiffel Tower\nLouvre\nPanthéon"
    assert (reply.input_tokens, reply.finish_reason) == (40, "stop")
    assert server.count == 1
    seen = server.requests[0]
    assert seen.path == "/v1/messages"
    assert seen.headers["anthropic-version"]
    assert seen.headers["x-stainless-retry-count"] == "0"
    assert seen.body["system"] == "You list things."  # top-level system field
    assert seen.body["messages"] == [{"role": "user", "content": "List Paris attractions."}]
    assert seen.body["max_tokens"] == 300 and seen.body["model"] == "claude-haiku-4-5"


def test_temperature_other_than_default_is_sent(server: an.AnthropicServer, make: Make) -> None:
    make().complete(WIRES["anthropic"].request(temperature=0.7))
    assert server.requests[0].body["temperature"] == 0.7


def test_several_text_blocks_are_joined(server: an.AnthropicServer, make: Make) -> None:
    body = an.message("Louvre\n")
    body["content"].append({"type": "text", "text": "Orsay"})
    server.push(Reply(200, body))
    assert make().complete(REQ).text == "Louvre\nOrsay"


ERRORS: list[tuple[str, Callable[[], Reply], type[ProviderError]]] = [
    ("credit balance", an.credit_balance, QuotaExhausted),
    ("billing 402", lambda: an.error(402, "billing_error", "billing problem"), QuotaExhausted),
    ("overloaded body", lambda: an.error(500, "overloaded_error", "Overloaded"), Overloaded),
    ("empty content", lambda: Reply(200, an.message(None)), BadResponse),
    ("refusal", lambda: Reply(200, an.message(None, stop_reason="refusal")), BadResponse),
]


@pytest.mark.parametrize(("reply", "expected"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_map_to_typed_errors_with_one_request(
    fails: Callable[..., ProviderError], reply: Callable[[], Reply], expected: type[ProviderError]
) -> None:
    err = fails(reply())
    assert type(err) is expected, err


def test_price_and_context_window() -> None:
    p = AnthropicProvider(api_key=KEY, base_url="http://127.0.0.1:9")
    assert p.price("claude-haiku-4-5") == (1.0, 5.0)
    assert p.price("claude-haiku-4-5-20251001") == (1.0, 5.0)
    assert p.price("claude-unknown-9") is None
    assert p.context_window("claude-haiku-4-5") == 200_000
