"""A Gemini server: POST /v1beta/models/{model}:generateContent, x-goog-api-key header."""

from __future__ import annotations

import re
from collections.abc import Callable

from .server import FakeServer, Reply, Seen

_PATH = re.compile(r"^/v1beta/models/([\w.\-]+):generateContent$")


def response(
    text: str | None,
    *,
    finish_reason: str = "STOP",
    prompt_tokens: int = 30,
    output_tokens: int | None = None,
    model: str = "gemini-2.5-flash",
) -> dict:
    """A GenerateContentResponse (`text=None`: a candidate without parts)."""
    out = output_tokens if output_tokens is not None else max(1, len(text or "") // 4)
    content: dict = {"role": "model"}
    if text is not None:
        content["parts"] = [{"text": text}]
    return {
        "candidates": [{"content": content, "finishReason": finish_reason, "index": 0}],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": out,
            "totalTokenCount": prompt_tokens + out,
        },
        "modelVersion": model,
        "responseId": "resp_test",
    }


def blocked(reason: str = "SAFETY") -> dict:
    return {
        "promptFeedback": {"blockReason": reason},
        "usageMetadata": {"promptTokenCount": 30, "totalTokenCount": 30},
        "modelVersion": "gemini-2.5-flash",
    }


def error(
    code: int,
    status: str,
    message: str,
    *,
    details: list | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """An error reply with Google's body shape."""
    err: dict = {"code": code, "message": message, "status": status}
    if details is not None:
        err["details"] = details
    return Reply(code, {"error": err}, dict(headers or {}))


def rate_limited(delay: str = "2s") -> Reply:
    return error(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan and billing details.",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/generate_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel",
                    }
                ],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay},
        ],
    )


def quota_exhausted() -> Reply:
    return error(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan and billing details.",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/generate_requests",
                        "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                    }
                ],
            }
        ],
    )


def token_limit() -> Reply:
    return error(
        400,
        "INVALID_ARGUMENT",
        "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
    )


class GeminiServer(FakeServer):
    """Checks the path and x-goog-api-key like the real API."""

    def __init__(self, api_key: str = "AIza-test-key-0000") -> None:
        super().__init__()
        self.api_key = api_key
        self.answer: Callable[[Seen], str] = lambda seen: "Eiffel Tower\nLouvre\nSainte-Chapelle"

    def check(self, seen: Seen) -> Reply | None:
        if seen.method != "POST" or not _PATH.match(seen.path.split("?")[0]):
            return error(404, "NOT_FOUND", f"Requested entity was not found: {seen.path}")
        if seen.headers.get("x-goog-api-key") != self.api_key:
            return error(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                    }
                ],
            )
        if not isinstance(seen.body, dict) or not seen.body.get("contents"):
            return error(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: required")
        return None

    def default(self, seen: Seen) -> Reply:
        return Reply(200, response(self.answer(seen)))
