"""The OpenAI provider against a local OpenAI-compatible server, through the real SDK."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fakes import openai_server as oa
from fakes.server import Reply, closed_port_url

from igentai_tui.providers.base import (
    AuthenticationFailed,
    BadRequest,
    BadResponse,
    CompletionRequest,
    ConnectionFailed,
    ContextTooLong,
    Overloaded,
    PermissionDenied,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    ServerError,
    Timeout,
)
from igentai_tui.providers.openai import OpenAIProvider, is_official, split_model

KEY = "sk-test-secret-key-1234567890"
REQ = CompletionRequest("gpt-4o-mini", "You list things.", "List Paris attractions.", 300, 1.0)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IGENTAI_CONFIG_DIR", str(tmp_path / "config"))
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def server() -> Iterator[oa.OpenAIServer]:
    with oa.OpenAIServer(api_key=KEY) as s:
        yield s


_made: list[OpenAIProvider] = []


@pytest.fixture(autouse=True)
def _close_providers() -> Iterator[None]:
    yield
    while _made:
        _made.pop().close()


def made(p: OpenAIProvider) -> OpenAIProvider:
    _made.append(p)
    return p


def provider(server: oa.OpenAIServer, timeout: float = 5.0) -> OpenAIProvider:
    return made(OpenAIProvider(api_key=KEY, base_url=server.base_url, timeout=timeout))


def test_success_sends_the_chat_completions_request(server: oa.OpenAIServer) -> None:
    reply = provider(server).complete(REQ)
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


def test_truncated_reply_is_marked_length(server: oa.OpenAIServer) -> None:
    server.push(Reply(200, oa.completion("Eiffel Tower\nLouv", finish_reason="length")))
    reply = provider(server).complete(REQ)
    assert reply.truncated and reply.text.startswith("Eiffel")


def test_reasoning_model_out_of_tokens_gives_empty_truncated_reply(
    server: oa.OpenAIServer,
) -> None:
    server.push(Reply(200, oa.completion(None, finish_reason="length", completion_tokens=300)))
    reply = provider(server).complete(REQ)
    assert (reply.text, reply.finish_reason, reply.output_tokens) == ("", "length", 300)


def test_five_megabyte_reply_is_cut_and_marked_truncated(server: oa.OpenAIServer) -> None:
    big = "Eiffel Tower\n" * (5 * 1024 * 1024 // 13)
    server.push(Reply(200, oa.completion(big)))
    reply = provider(server).complete(REQ)
    assert reply.truncated and 0 < len(reply.text) <= 200_000
    assert server.count == 1


ERRORS: list[tuple[str, Callable[[], Reply], type[ProviderError]]] = [
    ("rate limit", lambda: oa.rate_limited("7"), RateLimited),
    ("quota", oa.insufficient_quota, QuotaExhausted),
    (
        "401",
        lambda: oa.error(401, "Incorrect API key provided: sk-te***7890.", "x", "invalid_api_key"),
        AuthenticationFailed,
    ),
    (
        "403",
        lambda: oa.error(403, "Country not supported", "x", "unsupported_country_region_territory"),
        PermissionDenied,
    ),
    ("500", lambda: oa.error(500, "The server had an error", "server_error"), ServerError),
    (
        "503",
        lambda: oa.error(503, "The engine is currently overloaded", "server_error"),
        Overloaded,
    ),
    ("529", lambda: Reply(529, {"error": {"message": "Overloaded"}}), Overloaded),
    ("context", oa.context_too_long, ContextTooLong),
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
    (
        "bad request",
        lambda: oa.error(400, "Invalid value for 'temperature'", "invalid_request_error"),
        BadRequest,
    ),
    ("404 model", lambda: oa.error(404, "The model `nope` does not exist", "x"), BadRequest),
    ("invalid JSON", lambda: Reply(200, "{'choices': [ nope"), BadResponse),
    ("empty choices", lambda: Reply(200, {**oa.completion("x"), "choices": []}), BadResponse),
    ("null content", lambda: Reply(200, oa.completion(None)), BadResponse),
    (
        "html 502",
        lambda: Reply(502, "<html>bad gateway</html>", content_type="text/html"),
        ServerError,
    ),
]


@pytest.mark.parametrize(("reply", "expected"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_map_to_typed_errors_with_one_request(
    server: oa.OpenAIServer, reply: Callable[[], Reply], expected: type[ProviderError]
) -> None:
    server.push(reply())
    with pytest.raises(ProviderError) as info:
        provider(server).complete(REQ)
    assert type(info.value) is expected, info.value
    assert server.count == 1  # no hidden SDK retry
    assert KEY not in str(info.value)


def test_rate_limit_carries_retry_after(server: oa.OpenAIServer) -> None:
    server.push(oa.rate_limited("7"))
    with pytest.raises(RateLimited) as info:
        provider(server).complete(REQ)
    assert info.value.retry_after == 7.0


def test_rate_limit_retry_after_ms_and_reset_headers(server: oa.OpenAIServer) -> None:
    p = provider(server)
    server.push(oa.error(429, "slow down", "requests", headers={"retry-after-ms": "1500"}))
    with pytest.raises(RateLimited) as info:
        p.complete(REQ)
    assert info.value.retry_after == 1.5
    server.push(oa.error(429, "slow down", "tokens", headers={"x-ratelimit-reset-tokens": "6m0s"}))
    with pytest.raises(RateLimited) as info:
        p.complete(REQ)
    assert info.value.retry_after == 360.0


def test_quota_and_auth_disable_the_provider_and_name_the_env_var(
    server: oa.OpenAIServer,
) -> None:
    p = provider(server)
    for reply in (oa.insufficient_quota(), oa.error(401, "bad key", "x", "invalid_api_key")):
        server.push(reply)
        with pytest.raises(ProviderError) as info:
            p.complete(REQ)
        assert info.value.disables_provider and "OPENAI_API_KEY" in str(info.value)


def test_x_should_retry_makes_a_4xx_retryable(server: oa.OpenAIServer) -> None:
    server.push(oa.error(409, "conflict", "x", headers={"x-should-retry": "true"}))
    with pytest.raises(ServerError):
        provider(server).complete(REQ)


def test_wrong_key_is_rejected_by_the_server_and_not_echoed(server: oa.OpenAIServer) -> None:
    wrong = "sk-wrong-secret-0987654321"
    p = OpenAIProvider(api_key=wrong, base_url=server.base_url, timeout=5)
    with pytest.raises(AuthenticationFailed) as info:
        p.complete(REQ)
    assert wrong not in str(info.value) and server.count == 1


def test_timeout(server: oa.OpenAIServer) -> None:
    server.push(Reply(200, oa.completion("late"), delay=3))
    with pytest.raises(Timeout):
        provider(server, timeout=0.3).complete(REQ)
    assert server.count == 1


def test_connection_refused() -> None:
    p = OpenAIProvider(api_key=KEY, base_url=closed_port_url() + "/v1", timeout=2)
    with pytest.raises(ConnectionFailed) as info:
        p.complete(REQ)
    assert KEY not in str(info.value)


def test_openai_base_url_env_is_honoured(
    server: oa.OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    p = OpenAIProvider(api_key=KEY, timeout=5)
    assert p.complete(REQ).text and server.count == 1


def test_local_server_needs_no_key() -> None:
    with oa.OpenAIServer(api_key="no-key-needed") as local:
        p = OpenAIProvider(api_key=None, base_url=local.base_url, timeout=5)
        req = CompletionRequest(f"llama3.1@{local.base_url}", "s", "p", 100)
        assert p.complete(req).text
        assert local.requests[0].body["model"] == "llama3.1"


def test_official_endpoint_without_key_is_refused() -> None:
    with pytest.raises(AuthenticationFailed, match="OPENAI_API_KEY"):
        OpenAIProvider(api_key=None)


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
