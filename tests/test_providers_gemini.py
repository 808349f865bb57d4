"""What only the Gemini provider does, against a local generateContent server over httpx
(what every provider does: test_providers.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fakes import gemini_server as gm
from fakes.server import Reply
from fakes.wires import KEY, WIRES, Wire

from igentai_tui.providers.base import (
    AuthenticationFailed,
    BadResponse,
    PermissionDenied,
    ProviderError,
    QuotaExhausted,
)
from igentai_tui.providers.gemini import GeminiProvider
from igentai_tui.providers.remote import RemoteProvider

pytestmark = pytest.mark.usefixtures("isolated")
REQ = WIRES["gemini"].request()
Make = Callable[..., RemoteProvider]


@pytest.fixture
def wire() -> Wire:
    return WIRES["gemini"]


def test_the_request_on_the_wire(server: gm.GeminiServer, make: Make) -> None:
    reply = make(base_url=server.url).complete(REQ)  # the API version is added to the URL
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


def test_thoughts_are_skipped_and_counted_as_output(server: gm.GeminiServer, make: Make) -> None:
    body = gm.response("Louvre", output_tokens=5)
    body["candidates"][0]["content"]["parts"].insert(0, {"text": "thinking...", "thought": True})
    body["usageMetadata"]["thoughtsTokenCount"] = 20
    server.push(Reply(200, body))
    reply = make().complete(REQ)
    assert (reply.text, reply.output_tokens) == ("Louvre", 25)


ERRORS: list[tuple[str, Callable[[], Reply], type[ProviderError]]] = [
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
        "location",
        lambda: gm.error(400, "FAILED_PRECONDITION", "User location is not supported."),
        PermissionDenied,
    ),
    ("no candidates", lambda: Reply(200, {"candidates": []}), BadResponse),
    ("blocked prompt", lambda: Reply(200, gm.blocked("PROHIBITED_CONTENT")), BadResponse),
    ("safety no parts", lambda: Reply(200, gm.response(None, finish_reason="SAFETY")), BadResponse),
    ("other no parts", lambda: Reply(200, gm.response(None, finish_reason="OTHER")), BadResponse),
    ("stop no parts", lambda: Reply(200, gm.response(None)), BadResponse),
]


@pytest.mark.parametrize(("reply", "expected"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_map_to_typed_errors_with_one_request(
    fails: Callable[..., ProviderError], reply: Callable[[], Reply], expected: type[ProviderError]
) -> None:
    err = fails(reply())
    assert type(err) is expected, err


def test_blocked_prompt_names_the_reason(fails: Callable[..., ProviderError]) -> None:
    err = fails(Reply(200, gm.blocked("SAFETY")))
    assert isinstance(err, BadResponse) and "blocked" in str(err) and "SAFETY" in str(err)


def test_price_and_context_window() -> None:
    p = GeminiProvider(api_key=KEY, base_url="http://127.0.0.1:9")
    assert p.price("gemini-2.5-flash") == (0.30, 2.50)
    assert p.price("gemini-9-ultra") is None
    assert p.context_window("gemini-2.5-flash") == 1_048_576
