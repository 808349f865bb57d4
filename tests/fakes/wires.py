"""Each real provider with the local server that speaks its wire protocol, described alike.

The provider tests that every provider must pass (tests/test_providers.py, the limits of
tests/test_provider_limits.py) run over `WIRES`; what only one provider does is tested in its
own file. Every case goes through the provider's own client (the official SDK, or httpx for
Gemini) against the server on 127.0.0.1: no client is monkeypatched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from igentai_tui.providers.anthropic import AnthropicProvider
from igentai_tui.providers.base import CompletionRequest
from igentai_tui.providers.gemini import GeminiProvider
from igentai_tui.providers.openai import OpenAIProvider
from igentai_tui.providers.remote import RemoteProvider

from . import anthropic_server as an
from . import gemini_server as gm
from . import openai_server as oa
from .server import FakeServer, Reply

KEY = "sk-test-secret-key-1234567890"

Body = Callable[..., dict[str, Any]]  # body(text, cut=False, usage=(input, output))


@dataclass(frozen=True)
class Wire:
    """One provider and its server, and the replies every provider's tests need."""

    name: str
    provider: type[RemoteProvider]
    server: type[FakeServer]
    model: str
    url: Callable[[str], str]  # the base URL a provider is given for a server at this URL
    key_env: str
    url_env: str
    body: Body  # a successful reply's body: body(text, cut=False, usage=(input, output))
    rate_limited: Callable[[int], Reply]  # a 429 asking to wait that many seconds
    quota: Callable[[], Reply]  # the account is out of quota or credit
    errors: dict[str, Callable[[], Reply]] = field(default_factory=dict)  # by behaviour
    clear: tuple[str, ...] = ()  # more environment variables the SDK would read

    def request(self, **overrides: Any) -> CompletionRequest:
        settings: dict[str, Any] = {"max_tokens": 300, **overrides}
        return CompletionRequest(self.model, "You list things.", "List Paris attractions.",
                                 **settings)  # fmt: skip


def _openai(
    text: str | None, cut: bool = False, usage: tuple[int, int | None] = (50, None)
) -> dict:
    return oa.completion(text, finish_reason="length" if cut else "stop",
                         prompt_tokens=usage[0], completion_tokens=usage[1])  # fmt: skip


def _anthropic(
    text: str | None, cut: bool = False, usage: tuple[int, int | None] = (40, None)
) -> dict:
    return an.message(text, stop_reason="max_tokens" if cut else "end_turn",
                      input_tokens=usage[0], output_tokens=usage[1])  # fmt: skip


def _gemini(
    text: str | None, cut: bool = False, usage: tuple[int, int | None] = (30, None)
) -> dict:
    return gm.response(text, finish_reason="MAX_TOKENS" if cut else "STOP",
                       prompt_tokens=usage[0], output_tokens=usage[1])  # fmt: skip


def _html(status: int) -> Callable[[], Reply]:
    return lambda: Reply(status, "<html>bad gateway</html>", content_type="text/html")


def _text(status: int, body: str) -> Callable[[], Reply]:
    return lambda: Reply(status, body, content_type="text/plain")


# The error cases every provider shares, each in its own server's words. The kind each must
# map to: tests/test_providers.py.
WIRES: dict[str, Wire] = {
    "openai": Wire(
        "openai", OpenAIProvider, oa.OpenAIServer, "gpt-4o-mini", lambda u: u + "/v1",
        "OPENAI_API_KEY", "OPENAI_BASE_URL", _openai,
        lambda s: oa.rate_limited(str(s)), oa.insufficient_quota,
        {
            "401": lambda: oa.error(401, "Incorrect API key provided: sk-te***7890.", "x",
                                    "invalid_api_key"),
            "403": lambda: oa.error(403, "Country not supported", "x",
                                    "unsupported_country_region_territory"),
            "404 model": lambda: oa.error(404, "The model `nope` does not exist", "x"),
            "bad request": lambda: oa.error(400, "Invalid value for 'temperature'",
                                            "invalid_request_error"),
            "context": oa.context_too_long,
            "500": lambda: oa.error(500, "The server had an error", "server_error"),
            "502 html": _html(502),
            "503": lambda: oa.error(503, "The engine is currently overloaded", "server_error"),
            "504": lambda: oa.error(504, "Gateway timeout", "server_error"),
            "529": lambda: Reply(529, {"error": {"message": "Overloaded"}}),
            "invalid JSON": lambda: Reply(200, "{'choices': [ nope"),
        },
        ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID"),
    ),
    "anthropic": Wire(
        "anthropic", AnthropicProvider, an.AnthropicServer, "claude-haiku-4-5", lambda u: u,
        "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", _anthropic,
        lambda s: an.rate_limited(str(s)), an.credit_balance,
        {
            "401": lambda: an.error(401, "authentication_error", "invalid x-api-key"),
            "403": lambda: an.error(403, "permission_error", "not allowed"),
            "404 model": lambda: an.error(404, "not_found_error", "model: nope"),
            "bad request": lambda: an.error(400, "invalid_request_error", "bad model"),
            "context": an.prompt_too_long,
            "500": lambda: an.error(500, "api_error", "Internal server error"),
            "502 html": _html(502),
            "503": _text(503, "upstream unavailable"),
            "504": lambda: an.error(504, "timeout_error", "Request timeout"),
            "529": an.overloaded,
            "invalid JSON": lambda: Reply(200, '{"type": "message", "content": ['),
        },
        ("ANTHROPIC_AUTH_TOKEN",),
    ),
    "gemini": Wire(
        "gemini", GeminiProvider, gm.GeminiServer, "gemini-2.5-flash", lambda u: u + "/v1beta",
        "GEMINI_API_KEY", "GEMINI_BASE_URL", _gemini,
        lambda s: gm.rate_limited(f"{s}s"), gm.quota_exhausted,
        {
            "401": lambda: gm.error(401, "UNAUTHENTICATED", "Request had invalid credentials."),
            "403": lambda: gm.error(403, "PERMISSION_DENIED", "Permission denied."),
            "404 model": lambda: gm.error(404, "NOT_FOUND", "models/nope is not found"),
            "bad request": lambda: gm.error(400, "INVALID_ARGUMENT", "Invalid value."),
            "context": gm.token_limit,
            "500": lambda: gm.error(500, "INTERNAL", "An internal error has occurred."),
            "502 html": _html(502),
            "503": lambda: gm.error(503, "UNAVAILABLE", "The model is overloaded."),
            "504": lambda: gm.error(504, "DEADLINE_EXCEEDED", "Deadline exceeded."),
            "529": _text(529, "overloaded"),
            "invalid JSON": lambda: Reply(200, '{"candidates": [ {'),
        },
    ),
}  # fmt: skip
