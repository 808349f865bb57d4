"""The Anthropic provider against a local Messages API server, through the real SDK."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fakes import anthropic_server as an
from fakes.server import Reply, closed_port_url

from igentai_tui.providers.anthropic import AnthropicProvider
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

KEY = "sk-ant-test-secret-1234567890"
REQ = CompletionRequest("claude-haiku-4-5", "You list things.", "List Paris attractions.", 300)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IGENTAI_CONFIG_DIR", str(tmp_path / "config"))
    for var in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def server() -> Iterator[an.AnthropicServer]:
    with an.AnthropicServer(api_key=KEY) as s:
        yield s


_made: list[AnthropicProvider] = []


@pytest.fixture(autouse=True)
def _close_providers() -> Iterator[None]:
    yield
    while _made:
        _made.pop().close()


def made(p: AnthropicProvider) -> AnthropicProvider:
    _made.append(p)
    return p


def provider(server: an.AnthropicServer, timeout: float = 5.0) -> AnthropicProvider:
    return made(AnthropicProvider(api_key=KEY, base_url=server.url, timeout=timeout))


def test_success_sends_a_messages_request(server: an.AnthropicServer) -> None:
    reply = provider(server).complete(REQ)
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


def test_temperature_other_than_default_is_sent(server: an.AnthropicServer) -> None:
    req = CompletionRequest("claude-haiku-4-5", "s", "p", 100, temperature=0.7)
    provider(server).complete(req)
    assert server.requests[0].body["temperature"] == 0.7


def test_several_text_blocks_are_joined(server: an.AnthropicServer) -> None:
    body = an.message("Louvre\n")
    body["content"].append({"type": "text", "text": "Orsay"})
    server.push(Reply(200, body))
    assert provider(server).complete(REQ).text == "Louvre\nOrsay"


def test_max_tokens_stop_is_truncated(server: an.AnthropicServer) -> None:
    server.push(Reply(200, an.message("Eiffel Tower\nLou", stop_reason="max_tokens")))
    assert provider(server).complete(REQ).truncated


def test_five_megabyte_reply_is_cut_and_marked_truncated(server: an.AnthropicServer) -> None:
    server.push(Reply(200, an.message("Eiffel Tower\n" * (5 * 1024 * 1024 // 13))))
    reply = provider(server).complete(REQ)
    assert reply.truncated and 0 < len(reply.text) <= 200_000 and server.count == 1


ERRORS: list[tuple[str, Callable[[], Reply], type[ProviderError]]] = [
    ("rate limit", an.rate_limited, RateLimited),
    ("credit balance", an.credit_balance, QuotaExhausted),
    ("billing 402", lambda: an.error(402, "billing_error", "billing problem"), QuotaExhausted),
    (
        "401",
        lambda: an.error(401, "authentication_error", "invalid x-api-key"),
        AuthenticationFailed,
    ),
    ("403", lambda: an.error(403, "permission_error", "not allowed"), PermissionDenied),
    ("500", lambda: an.error(500, "api_error", "Internal server error"), ServerError),
    ("529", an.overloaded, Overloaded),
    ("overloaded body", lambda: an.error(500, "overloaded_error", "Overloaded"), Overloaded),
    ("503", lambda: Reply(503, "upstream unavailable", content_type="text/plain"), Overloaded),
    ("504", lambda: an.error(504, "timeout_error", "Request timeout"), Timeout),
    ("context", an.prompt_too_long, ContextTooLong),
    ("bad request", lambda: an.error(400, "invalid_request_error", "bad model"), BadRequest),
    ("404", lambda: an.error(404, "not_found_error", "model: nope"), BadRequest),
    ("invalid JSON", lambda: Reply(200, '{"type": "message", "content": ['), BadResponse),
    ("empty content", lambda: Reply(200, an.message(None)), BadResponse),
    ("refusal", lambda: Reply(200, an.message(None, stop_reason="refusal")), BadResponse),
]


@pytest.mark.parametrize(("reply", "expected"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_map_to_typed_errors_with_one_request(
    server: an.AnthropicServer, reply: Callable[[], Reply], expected: type[ProviderError]
) -> None:
    server.push(reply())
    with pytest.raises(ProviderError) as info:
        provider(server).complete(REQ)
    assert type(info.value) is expected, info.value
    assert server.count == 1  # no hidden SDK retry, even with x-should-retry: true
    assert KEY not in str(info.value)


def test_rate_limit_carries_retry_after(server: an.AnthropicServer) -> None:
    server.push(an.rate_limited("3"))
    with pytest.raises(RateLimited) as info:
        provider(server).complete(REQ)
    assert info.value.retry_after == 3.0


def test_disabling_errors_name_the_env_var(server: an.AnthropicServer) -> None:
    p = provider(server)
    for reply in (an.credit_balance(), an.error(401, "authentication_error", "invalid x-api-key")):
        server.push(reply)
        with pytest.raises(ProviderError) as info:
            p.complete(REQ)
        assert info.value.disables_provider and "ANTHROPIC_API_KEY" in str(info.value)


def test_wrong_key_is_rejected_and_not_echoed(server: an.AnthropicServer) -> None:
    wrong = "sk-ant-wrong-0987654321"
    p = AnthropicProvider(api_key=wrong, base_url=server.url, timeout=5)
    with pytest.raises(AuthenticationFailed) as info:
        p.complete(REQ)
    assert wrong not in str(info.value)


def test_timeout(server: an.AnthropicServer) -> None:
    server.push(Reply(200, an.message("late"), delay=3))
    with pytest.raises(Timeout):
        provider(server, timeout=0.3).complete(REQ)
    assert server.count == 1


def test_connection_refused() -> None:
    p = AnthropicProvider(api_key=KEY, base_url=closed_port_url(), timeout=2)
    with pytest.raises(ConnectionFailed):
        p.complete(REQ)


def test_anthropic_base_url_env_is_honoured(
    server: an.AnthropicServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    assert AnthropicProvider(api_key=KEY, timeout=5).complete(REQ).text
    assert server.count == 1


def test_no_key_is_refused() -> None:
    with pytest.raises(AuthenticationFailed, match="ANTHROPIC_API_KEY"):
        AnthropicProvider(api_key=None)


def test_price_and_context_window() -> None:
    p = AnthropicProvider(api_key=KEY, base_url="http://127.0.0.1:9")
    assert p.price("claude-haiku-4-5") == (1.0, 5.0)
    assert p.price("claude-haiku-4-5-20251001") == (1.0, 5.0)
    assert p.price("claude-unknown-9") is None
    assert p.context_window("claude-haiku-4-5") == 200_000
