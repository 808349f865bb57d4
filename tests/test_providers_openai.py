"""What only the OpenAI provider does, against a local OpenAI-compatible server through the
real SDK (what every provider does: test_providers.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fakes import openai_server as oa
from fakes.server import Reply
from fakes.wires import KEY, WIRES, Wire

from igentai_tui.providers.base import (
    BadResponse,
    CompletionRequest,
    ContextTooLong,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    ServerError,
)
from igentai_tui.providers.openai import OpenAIProvider, is_official, split_model
from igentai_tui.providers.remote import RemoteProvider

pytestmark = pytest.mark.usefixtures("isolated")
REQ = WIRES["openai"].request()


@pytest.fixture
def wire() -> Wire:
    return WIRES["openai"]


def test_the_request_on_the_wire(
    server: oa.OpenAIServer, make: Callable[..., RemoteProvider]
) -> None:
    reply = make().complete(REQ)
    assert reply.text == "Eiffel Tower\nLouvre\nArc de Triomphe"
    assert (reply.input_tokens, reply.finish_reason) == (50, "stop")
    assert reply.output_tokens > 0
    assert server.count == 1
    seen = server.requests[0]
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == f"Bearer {KEY}"
    assert seen.headers["x-stainless-retry-count"] == "0"
    assert seen.body["model"] == "gpt-4o-mini"
    assert seen.body["messages"] == [
        {"role": "system", "content": "You list things."},
        {"role": "user", "content": "List Paris attractions."},
    ]
    assert seen.body["max_tokens"] == 300  # a non-OpenAI base URL gets the portable field


ERRORS: list[tuple[str, Callable[[], Reply], type[ProviderError]]] = [
    ("quota", oa.insufficient_quota, QuotaExhausted),
    (
        "over TPM",
        lambda: oa.error(
            429,
            "Request too large for gpt-4o-mini on tokens per min (TPM): Limit 200000, "
            "Requested 250000.",
            "tokens",
            "rate_limit_exceeded",
        ),
        ContextTooLong,
    ),
    ("empty choices", lambda: Reply(200, {**oa.completion("x"), "choices": []}), BadResponse),
    ("null content", lambda: Reply(200, oa.completion(None)), BadResponse),
    ("409 x-should-retry", lambda: oa.error(409, "conflict", "x",
                                            headers={"x-should-retry": "true"}), ServerError),
]  # fmt: skip


@pytest.mark.parametrize(("reply", "expected"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_map_to_typed_errors_with_one_request(
    fails: Callable[..., ProviderError], reply: Callable[[], Reply], expected: type[ProviderError]
) -> None:
    err = fails(reply())
    assert type(err) is expected, err


def test_rate_limit_retry_after_ms_and_reset_headers(
    server: oa.OpenAIServer, make: Callable[..., RemoteProvider]
) -> None:
    p = make()
    server.push(oa.error(429, "slow down", "requests", headers={"retry-after-ms": "1500"}))
    with pytest.raises(RateLimited) as info:
        p.complete(REQ)
    assert info.value.retry_after == 1.5
    server.push(oa.error(429, "slow down", "tokens", headers={"x-ratelimit-reset-tokens": "6m0s"}))
    with pytest.raises(RateLimited) as info:
        p.complete(REQ)
    assert info.value.retry_after == 360.0


def test_local_server_needs_no_key() -> None:
    with oa.OpenAIServer(api_key="no-key-needed") as local:
        p = OpenAIProvider(api_key=None, base_url=local.base_url, timeout=5)
        req = CompletionRequest(f"llama3.1@{local.base_url}", "s", "p", 100)
        assert p.complete(req).text
        assert local.requests[0].body["model"] == "llama3.1"
        p.close()


def test_split_model() -> None:
    assert split_model("llama3.1@http://localhost:11434/v1") == (
        "llama3.1",
        "http://localhost:11434/v1",
    )
    assert split_model("gpt-4o-mini") == ("gpt-4o-mini", None)
    assert split_model("org/model@v2") == ("org/model@v2", None)


def test_price_and_context_window() -> None:
    p = OpenAIProvider(api_key=KEY, base_url="http://127.0.0.1:9/v1")
    assert p.price("gpt-4o-mini") == (0.15, 0.60)
    assert p.price("gpt-4o-mini-2024-07-18") == (0.15, 0.60)
    assert p.price("llama3.1@http://127.0.0.1:9/v1") is None
    assert p.context_window("gpt-4o-mini") == 128_000
    assert p.context_window("llama3.1") == 8_192


def test_official_endpoint_detection() -> None:
    assert is_official(None) and is_official("https://api.openai.com/v1")
    assert not is_official("http://localhost:11434/v1")
