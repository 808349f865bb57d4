"""The Gemini provider against a local generateContent server, over httpx."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fakes import gemini_server as gm
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
from igentai_tui.providers.gemini import GeminiProvider

KEY = "AIza-test-secret-1234567890"
REQ = CompletionRequest("gemini-2.5-flash", "You list things.", "List Paris attractions.", 300)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IGENTAI_CONFIG_DIR", str(tmp_path / "config"))
    for var in ("GEMINI_API_KEY", "GEMINI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def server() -> Iterator[gm.GeminiServer]:
    with gm.GeminiServer(api_key=KEY) as s:
        yield s


_made: list[GeminiProvider] = []


@pytest.fixture(autouse=True)
def _close_providers() -> Iterator[None]:
    yield
    while _made:
        _made.pop().close()


def made(p: GeminiProvider) -> GeminiProvider:
    _made.append(p)
    return p


def provider(server: gm.GeminiServer, timeout: float = 5.0) -> GeminiProvider:
    return made(GeminiProvider(api_key=KEY, base_url=server.url, timeout=timeout))


def test_success_sends_generate_content(server: gm.GeminiServer) -> None:
    reply = provider(server).complete(REQ)
    assert reply.text == "Eiffel Tower\nLouvre\nSainte-Chapelle"
    assert (reply.input_tokens, reply.finish_reason) == (30, "stop")
    seen = server.requests[0]
    assert seen.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert seen.headers["x-goog-api-key"] == KEY
    assert "key=" not in seen.path  # header auth: the key is never in a URL
    assert seen.body["systemInstruction"] == {"parts": [{"text": "You list things."}]}
    assert seen.body["contents"] == [
        {"role": "user", "parts": [{"text": "List Paris attractions."}]}
    ]
    assert seen.body["generationConfig"]["maxOutputTokens"] == 300
    assert server.count == 1


def test_thoughts_are_skipped_and_counted_as_output(server: gm.GeminiServer) -> None:
    body = gm.response("Louvre", output_tokens=5)
    body["candidates"][0]["content"]["parts"].insert(0, {"text": "thinking...", "thought": True})
    body["usageMetadata"]["thoughtsTokenCount"] = 20
    server.push(Reply(200, body))
    reply = provider(server).complete(REQ)
    assert (reply.text, reply.output_tokens) == ("Louvre", 25)


def test_max_tokens_with_text_is_truncated(server: gm.GeminiServer) -> None:
    server.push(Reply(200, gm.response("Eiffel Tower\nLou", finish_reason="MAX_TOKENS")))
    assert provider(server).complete(REQ).truncated


def test_max_tokens_without_parts_is_an_empty_truncated_reply(server: gm.GeminiServer) -> None:
    server.push(Reply(200, gm.response(None, finish_reason="MAX_TOKENS", output_tokens=300)))
    reply = provider(server).complete(REQ)
    assert (reply.text, reply.finish_reason, reply.output_tokens) == ("", "length", 300)


def test_five_megabyte_reply_is_cut_and_marked_truncated(server: gm.GeminiServer) -> None:
    server.push(Reply(200, gm.response("Eiffel Tower\n" * (5 * 1024 * 1024 // 13))))
    reply = provider(server).complete(REQ)
    assert reply.truncated and 0 < len(reply.text) <= 200_000 and server.count == 1


ERRORS: list[tuple[str, Callable[[], Reply], type[ProviderError]]] = [
    ("rate limit", gm.rate_limited, RateLimited),
    ("daily quota", gm.quota_exhausted, QuotaExhausted),
    (
        "bare quota",
        lambda: gm.error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota."),
        QuotaExhausted,
    ),
    (
        "bad key 400",
        lambda: gm.error(400, "INVALID_ARGUMENT", "API key not valid."),
        AuthenticationFailed,
    ),
    (
        "401",
        lambda: gm.error(401, "UNAUTHENTICATED", "Request had invalid credentials."),
        AuthenticationFailed,
    ),
    ("403", lambda: gm.error(403, "PERMISSION_DENIED", "Permission denied."), PermissionDenied),
    (
        "location",
        lambda: gm.error(400, "FAILED_PRECONDITION", "User location is not supported."),
        PermissionDenied,
    ),
    ("500", lambda: gm.error(500, "INTERNAL", "An internal error has occurred."), ServerError),
    ("503", lambda: gm.error(503, "UNAVAILABLE", "The model is overloaded."), Overloaded),
    ("529", lambda: Reply(529, "overloaded", content_type="text/plain"), Overloaded),
    ("504", lambda: gm.error(504, "DEADLINE_EXCEEDED", "Deadline exceeded."), Timeout),
    ("context", gm.token_limit, ContextTooLong),
    ("bad request", lambda: gm.error(400, "INVALID_ARGUMENT", "Invalid value."), BadRequest),
    ("404 model", lambda: gm.error(404, "NOT_FOUND", "models/nope is not found"), BadRequest),
    ("invalid JSON", lambda: Reply(200, '{"candidates": [ {'), BadResponse),
    ("no candidates", lambda: Reply(200, {"candidates": []}), BadResponse),
    ("blocked prompt", lambda: Reply(200, gm.blocked("PROHIBITED_CONTENT")), BadResponse),
    ("safety no parts", lambda: Reply(200, gm.response(None, finish_reason="SAFETY")), BadResponse),
    ("other no parts", lambda: Reply(200, gm.response(None, finish_reason="OTHER")), BadResponse),
    ("stop no parts", lambda: Reply(200, gm.response(None)), BadResponse),
]


@pytest.mark.parametrize(("reply", "expected"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_map_to_typed_errors_with_one_request(
    server: gm.GeminiServer, reply: Callable[[], Reply], expected: type[ProviderError]
) -> None:
    server.push(reply())
    with pytest.raises(ProviderError) as info:
        provider(server).complete(REQ)
    assert type(info.value) is expected, info.value
    assert server.count == 1
    assert KEY not in str(info.value)


def test_rate_limit_uses_retry_info(server: gm.GeminiServer) -> None:
    server.push(gm.rate_limited("17s"))
    with pytest.raises(RateLimited) as info:
        provider(server).complete(REQ)
    assert info.value.retry_after == 17.0


def test_blocked_prompt_names_the_reason(server: gm.GeminiServer) -> None:
    server.push(Reply(200, gm.blocked("SAFETY")))
    with pytest.raises(BadResponse, match=r"blocked.*SAFETY"):
        provider(server).complete(REQ)


def test_wrong_key_is_rejected_and_not_echoed(server: gm.GeminiServer) -> None:
    wrong = "AIza-wrong-0987654321"
    with pytest.raises(AuthenticationFailed) as info:
        GeminiProvider(api_key=wrong, base_url=server.url, timeout=5).complete(REQ)
    assert wrong not in str(info.value) and "GEMINI_API_KEY" in str(info.value)


def test_timeout(server: gm.GeminiServer) -> None:
    server.push(Reply(200, gm.response("late"), delay=3))
    with pytest.raises(Timeout):
        provider(server, timeout=0.3).complete(REQ)
    assert server.count == 1


def test_connection_refused() -> None:
    with pytest.raises(ConnectionFailed):
        GeminiProvider(api_key=KEY, base_url=closed_port_url(), timeout=2).complete(REQ)


def test_gemini_base_url_env_is_honoured(
    server: gm.GeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_BASE_URL", server.url + "/v1beta")
    assert GeminiProvider(api_key=KEY, timeout=5).complete(REQ).text
    assert server.requests[0].path == "/v1beta/models/gemini-2.5-flash:generateContent"


def test_no_key_is_refused() -> None:
    with pytest.raises(AuthenticationFailed, match="GEMINI_API_KEY"):
        GeminiProvider(api_key=None)


def test_price_and_context_window() -> None:
    p = GeminiProvider(api_key=KEY, base_url="http://127.0.0.1:9")
    assert p.price("gemini-2.5-flash") == (0.30, 2.50)
    assert p.price("gemini-9-ultra") is None
    assert p.context_window("gemini-2.5-flash") == 1_048_576
