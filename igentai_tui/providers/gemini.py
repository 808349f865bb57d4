"""Google Gemini through its REST `generateContent` endpoint, over httpx.

POST {base}/v1beta/models/{model}:generateContent with the key in the `x-goog-api-key` header
(never in the URL, so it cannot leak into logs of URLs). Base URL: the `base_url` of the
`[gemini]` table in config.toml, else `GEMINI_BASE_URL`, else the public endpoint. No retries
here: the producer loop is the one retry policy.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import quote

import httpx

from igentai_tui.providers.base import (
    AuthenticationFailed,
    BadResponse,
    Completion,
    CompletionRequest,
    ConnectionFailed,
    ContextTooLong,
    PermissionDenied,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    Timeout,
)
from igentai_tui.providers.errors import (
    DEFAULT_TIMEOUT_S,
    MAX_REPLY_CHARS,
    MAX_RETRY_AFTER_S,
    from_status,
    looks_like_context_error,
    looks_like_quota_error,
    redact,
    retry_after,
    short,
)
from igentai_tui.providers.prices import context_window_of, price_of
from igentai_tui.providers.transport import ReplyTooLarge, guard

KEY_ENV = "GEMINI_API_KEY"
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"
DEFAULT_CONTEXT = 1_048_576
_DELAY = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def _retry_delay(details: list[Any]) -> float | None:
    """google.rpc.RetryInfo's retryDelay ("17s", "0.5s") in seconds."""
    for d in details:
        if isinstance(d, dict) and str(d.get("@type", "")).endswith("google.rpc.RetryInfo"):
            m = _DELAY.match(str(d.get("retryDelay", "")))
            if m:
                return min(MAX_RETRY_AFTER_S, float(m.group(1)))
    return None


def _quota_ids(details: list[Any]) -> list[str]:
    ids: list[str] = []
    for d in details:
        if isinstance(d, dict) and str(d.get("@type", "")).endswith("google.rpc.QuotaFailure"):
            for v in d.get("violations") or []:
                if isinstance(v, dict):
                    ids.append(str(v.get("quotaId", "")))
    return ids


def _reasons(details: list[Any]) -> list[str]:
    return [
        str(d.get("reason", ""))
        for d in details
        if isinstance(d, dict) and str(d.get("@type", "")).endswith("google.rpc.ErrorInfo")
    ]


class GeminiProvider:
    """Gemini models over REST. Thread-safe: one httpx client, shared by the producers."""

    name = "gemini"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        prices: dict[str, tuple[float, float]] | None = None,
    ) -> None:
        if not api_key:
            raise AuthenticationFailed(
                f"no Gemini API key: set {KEY_ENV} or run `igentai keys set gemini`"
            )
        base = (base_url or os.environ.get("GEMINI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        if not re.search(r"/v1(beta\d*)?$", base):
            base = f"{base}/{API_VERSION}"
        self.base_url = base
        self._key = api_key
        self._prices = prices or {}
        self._client = guard(
            httpx.Client(
                timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
                headers={"x-goog-api-key": api_key, "content-type": "application/json"},
                follow_redirects=False,
            ),
            timeout,
        )

    def close(self) -> None:
        """Release the connection pool (optional: the engine may just drop the provider)."""
        self._client.close()

    # -- the protocol -----------------------------------------------------------------------

    def context_window(self, model: str) -> int:
        return context_window_of(model, DEFAULT_CONTEXT)

    def price(self, model: str) -> tuple[float, float] | None:
        return price_of(self.name, model, self._prices)

    def complete(self, request: CompletionRequest) -> Completion:
        model = request.model.removeprefix("models/")
        url = f"{self.base_url}/models/{quote(model, safe='.-_')}:generateContent"
        config: dict[str, Any] = {
            "maxOutputTokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if "2.5-flash" in model:  # thinking would eat the output budget of a list reply
            config["thinkingConfig"] = {"thinkingBudget": 0}
        body = {
            "systemInstruction": {"parts": [{"text": request.system}]},
            "contents": [{"role": "user", "parts": [{"text": request.prompt}]}],
            "generationConfig": config,
        }
        try:
            resp = self._client.post(url, content=json.dumps(body))
            raw, status = resp.content, resp.status_code
            headers = {k.lower(): v for k, v in resp.headers.items()}
        except ReplyTooLarge as exc:
            raise BadResponse(f"gemini: {exc}") from None
        except httpx.TimeoutException:
            raise Timeout(f"gemini: no reply within the timeout ({self.base_url})") from None
        except httpx.TransportError as exc:
            raise ConnectionFailed(
                self._clean(f"gemini: cannot connect to {self.base_url}: {type(exc).__name__}")
            ) from None
        if status >= 400:
            raise self._map_error(status, raw, headers)
        try:
            data = json.loads(raw)
        except ValueError:
            raise BadResponse("gemini: the reply is not valid JSON") from None
        return self._completion(data)

    # -- internals --------------------------------------------------------------------------

    def _clean(self, text: object) -> str:
        return redact(short(str(text)), [self._key])

    def _map_error(self, status: int, raw: bytes, headers: dict[str, str]) -> ProviderError:
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        err = data.get("error") if isinstance(data, dict) else None
        if not isinstance(err, dict):
            snippet = raw[:200].decode("utf-8", "replace")
            return from_status(
                status, self._clean(f"gemini {status}: {snippet}"), key_env=KEY_ENV, headers=headers
            )
        message = str(err.get("message", ""))
        code = str(err.get("status", ""))
        found = err.get("details")
        details: list[Any] = found if isinstance(found, list) else []
        text = self._clean(f"gemini {status} {code}: {message}")
        reasons = _reasons(details)
        if status == 429 or code == "RESOURCE_EXHAUSTED":
            quota_ids = _quota_ids(details)
            wait = _retry_delay(details)
            if wait is None:
                wait = retry_after(headers)
            if any("PerDay" in q for q in quota_ids) or (
                wait is None and looks_like_quota_error(message) and not quota_ids
            ):
                return QuotaExhausted(f"{text} (quota exhausted: check the plan behind {KEY_ENV})")
            return RateLimited(text, retry_after=wait)
        if "API_KEY_INVALID" in reasons or "api key not valid" in message.lower():
            return AuthenticationFailed(f"{text} (check {KEY_ENV})")
        if code == "FAILED_PRECONDITION" or "location is not supported" in message.lower():
            return PermissionDenied(f"{text} (check what {KEY_ENV} may use)")
        if status == 400 and looks_like_context_error(message):
            return ContextTooLong(text)
        return from_status(status, text, key_env=KEY_ENV, headers=headers, error_type=code)

    def _completion(self, data: Any) -> Completion:
        if not isinstance(data, dict):
            raise BadResponse("gemini: the reply is not a JSON object")
        meta = data.get("usageMetadata")
        usage: dict[str, Any] = meta if isinstance(meta, dict) else {}
        tokens_in = int(usage.get("promptTokenCount") or 0)
        tokens_out = int(usage.get("candidatesTokenCount") or 0) + int(
            usage.get("thoughtsTokenCount") or 0
        )
        candidates = data.get("candidates")
        if not isinstance(candidates, list) or not candidates:
            feedback = data.get("promptFeedback")
            block = feedback.get("blockReason") if isinstance(feedback, dict) else None
            if block:
                raise BadResponse(f"gemini: the prompt was blocked ({short(str(block), 40)})")
            raise BadResponse("gemini: the reply has no candidates")
        cand = candidates[0] if isinstance(candidates[0], dict) else {}
        finish = str(cand.get("finishReason") or "")
        body = cand.get("content")
        content: dict[str, Any] = body if isinstance(body, dict) else {}
        listed = content.get("parts")
        parts: list[Any] = listed if isinstance(listed, list) else []
        text = "".join(
            p["text"]
            for p in parts
            if isinstance(p, dict) and isinstance(p.get("text"), str) and not p.get("thought")
        )
        if not text:
            if finish == "MAX_TOKENS":
                return Completion("", tokens_in, tokens_out, "length")
            raise BadResponse(f"gemini: the reply has no text (finishReason {finish or 'none'})")
        # STOP is a full reply; MAX_TOKENS, SAFETY, RECITATION, OTHER... cut it short.
        reason = "stop" if finish in ("STOP", "") else "length"
        if len(text) > MAX_REPLY_CHARS:
            text, reason = text[:MAX_REPLY_CHARS], "length"
        return Completion(text, tokens_in, tokens_out, reason)
