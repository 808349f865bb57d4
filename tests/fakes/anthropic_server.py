"""An Anthropic Messages server: POST /v1/messages; a key and anthropic-version required."""

from __future__ import annotations

from collections.abc import Callable

from .server import FakeServer, Reply, Seen

RATE_HEADERS = {
    "anthropic-ratelimit-requests-limit": "50",
    "anthropic-ratelimit-requests-remaining": "49",
    "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:00Z",
}


def message(
    text: str | None,
    *,
    model: str = "claude-haiku-4-5",
    stop_reason: str = "end_turn",
    input_tokens: int = 40,
    output_tokens: int | None = None,
) -> dict:
    """A Message object as the API returns it (`text=None`: an empty content list)."""
    out = output_tokens if output_tokens is not None else max(1, len(text or "") // 4)
    return {
        "id": "msg_test123",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [] if text is None else [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": out},
    }


def error(status: int, type_: str, message: str, *, headers: dict[str, str] | None = None) -> Reply:
    """An error reply with Anthropic's body shape."""
    body = {"type": "error", "error": {"type": type_, "message": message}}
    return Reply(status, body, {"request-id": "req_test", **(headers or {})})


def rate_limited(retry_after: str = "3") -> Reply:
    return error(
        429,
        "rate_limit_error",
        "This request would exceed the rate limit for your organization of 50 requests per minute.",
        headers={"retry-after": retry_after, **RATE_HEADERS},
    )


def overloaded() -> Reply:
    return error(529, "overloaded_error", "Overloaded", headers={"x-should-retry": "true"})


def credit_balance() -> Reply:
    return error(
        400,
        "invalid_request_error",
        "Your credit balance is too low to access the Anthropic API. Please go to Plans & "
        "Billing to upgrade or purchase credits.",
    )


def prompt_too_long() -> Reply:
    return error(400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum")


class AnthropicServer(FakeServer):
    """Checks the path, x-api-key and anthropic-version like the real API."""

    def __init__(self, api_key: str = "sk-ant-test-key-0000") -> None:
        super().__init__()
        self.api_key = api_key
        self.answer: Callable[[Seen], str] = lambda seen: "Eiffel Tower\nLouvre\nPanthéon"

    def check(self, seen: Seen) -> Reply | None:
        if seen.method != "POST" or seen.path.split("?")[0] != "/v1/messages":
            return error(404, "not_found_error", f"Not found: {seen.path}")
        if not seen.headers.get("anthropic-version"):
            return error(400, "invalid_request_error", "anthropic-version: header is required")
        # The API takes the key as `x-api-key`; recent SDKs send it as a bearer token instead.
        bearer = seen.headers.get("authorization", "").removeprefix("Bearer ")
        if self.api_key not in (seen.headers.get("x-api-key"), bearer):
            return error(401, "authentication_error", "invalid x-api-key")
        body = seen.body
        if not isinstance(body, dict) or "max_tokens" not in body or "messages" not in body:
            return error(400, "invalid_request_error", "max_tokens: Field required")
        return None

    def default(self, seen: Seen) -> Reply:
        model = seen.body.get("model", "claude-haiku-4-5")
        return Reply(200, message(self.answer(seen), model=model), dict(RATE_HEADERS))
