"""An OpenAI-compatible Chat Completions server: POST /v1/chat/completions, Bearer auth."""

from __future__ import annotations

import time
from collections.abc import Callable

from .server import FakeServer, Reply, Seen

RATE_HEADERS = {
    "x-ratelimit-limit-requests": "500",
    "x-ratelimit-remaining-requests": "499",
    "x-ratelimit-reset-requests": "120ms",
    "x-ratelimit-limit-tokens": "200000",
    "x-ratelimit-remaining-tokens": "199000",
    "x-ratelimit-reset-tokens": "300ms",
}


def completion(
    text: str | None,
    *,
    model: str = "gpt-4o-mini",
    finish_reason: str = "stop",
    prompt_tokens: int = 50,
    completion_tokens: int | None = None,
) -> dict:
    """A chat.completion object as the API returns it."""
    out = completion_tokens if completion_tokens is not None else max(1, len(text or "") // 4)
    return {
        "id": "chatcmpl-test123",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": out,
            "total_tokens": prompt_tokens + out,
        },
        "system_fingerprint": "fp_test",
    }


def error(
    status: int,
    message: str,
    type_: str,
    code: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    param: str | None = None,
) -> Reply:
    """An error reply with OpenAI's body shape."""
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return Reply(status, body, {"x-request-id": "req_test", **(headers or {})})


def rate_limited(retry_after: str = "2") -> Reply:
    return error(
        429,
        "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 500, Used 500.",
        "requests",
        "rate_limit_exceeded",
        headers={"retry-after": retry_after, **RATE_HEADERS, "x-ratelimit-remaining-requests": "0"},
    )


def insufficient_quota() -> Reply:
    return error(
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota",
        "insufficient_quota",
    )


def context_too_long() -> Reply:
    return error(
        400,
        "This model's maximum context length is 128000 tokens. However, your messages resulted "
        "in 130000 tokens. Please reduce the length of the messages.",
        "invalid_request_error",
        "context_length_exceeded",
        param="messages",
    )


class OpenAIServer(FakeServer):
    """Checks the path and the bearer key like the real API; answers `answer(request)`."""

    def __init__(self, api_key: str = "sk-test-key-0000", model: str = "gpt-4o-mini") -> None:
        super().__init__()
        self.api_key = api_key
        self.model = model
        self.answer: Callable[[Seen], str] = lambda seen: "Eiffel Tower\nLouvre\nArc de Triomphe"

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def check(self, seen: Seen) -> Reply | None:
        if seen.method != "POST" or seen.path.split("?")[0] != "/v1/chat/completions":
            return error(404, f"Invalid URL ({seen.method} {seen.path})", "invalid_request_error")
        if seen.headers.get("authorization") != f"Bearer {self.api_key}":
            got = seen.headers.get("authorization", "").removeprefix("Bearer ")
            masked = (got[:3] + "*" * 6 + got[-4:]) if len(got) > 8 else "***"
            return error(
                401,
                f"Incorrect API key provided: {masked}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                "invalid_api_key",
            )
        if not isinstance(seen.body, dict) or "messages" not in seen.body:
            return error(400, "'messages' is a required property", "invalid_request_error")
        return None

    def default(self, seen: Seen) -> Reply:
        model = seen.body.get("model", self.model) if isinstance(seen.body, dict) else self.model
        return Reply(200, completion(self.answer(seen), model=model), dict(RATE_HEADERS))
