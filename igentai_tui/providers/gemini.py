"""Google Gemini through its REST `generateContent` endpoint, over httpx.

POST {base}/v1beta/models/{model}:generateContent with the key in the `x-goog-api-key` header
(never in the URL, so it cannot leak into logs of URLs). Base URL: the `base_url` of the
`[gemini]` table in config.toml, else `GEMINI_BASE_URL`, else the public endpoint. No retries
here: the producer loop is the one retry policy (providers/remote.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from igentai_tui.providers.base import (
    AuthenticationFailed,
    BadResponse,
    Completion,
    CompletionRequest,
    PermissionDenied,
    ProviderError,
    QuotaExhausted,
    RateLimited,
)
from igentai_tui.providers.errors import (
    MAX_RETRY_AFTER_S,
    looks_like_quota_error,
    retry_after,
    short,
)
from igentai_tui.providers.remote import RemoteProvider, lower, tokens
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


class GeminiProvider(RemoteProvider):
    """Gemini models over REST."""

    name = "gemini"
    title = "Gemini"
    key_env = KEY_ENV
    url_env = "GEMINI_BASE_URL"
    default_host = DEFAULT_BASE_URL
    default_context = DEFAULT_CONTEXT
    _client: httpx.Client

    def _endpoint(self, base_url: str | None) -> str:
        base = (base_url or DEFAULT_BASE_URL).rstrip("/")
        return base if re.search(r"/v1(beta\d*)?$", base) else f"{base}/{API_VERSION}"

    def _connect(self, timeout: float) -> httpx.Client:
        return guard(
            httpx.Client(
                timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
                headers={"x-goog-api-key": self._key, "content-type": "application/json"},
                follow_redirects=False,
            ),
            timeout,
        )

    def _send(self, request: CompletionRequest) -> Any:
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
            raw = resp.content
        except httpx.TimeoutException:
            raise self._timed_out() from None
        except (ReplyTooLarge, httpx.TransportError) as exc:
            raise self._unreachable(exc) from None
        if resp.status_code >= 400:
            raise self._status_error(resp.status_code, lower(resp.headers), raw)
        return json.loads(raw)

    def _status_error(self, status: int, headers: Mapping[str, str], detail: Any) -> ProviderError:
        try:
            data = json.loads(detail)
        except ValueError:
            data = None
        err = data.get("error") if isinstance(data, dict) else None
        if not isinstance(err, dict):
            snippet = detail[:200].decode("utf-8", "replace")
            return self._from_status(status, self._clean(f"gemini {status}: {snippet}"), headers)
        message = str(err.get("message", ""))
        code = str(err.get("status", ""))
        found = err.get("details")
        details: list[Any] = found if isinstance(found, list) else []
        text = self._clean(f"gemini {status} {code}: {message}")
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
        if "API_KEY_INVALID" in _reasons(details) or "api key not valid" in message.lower():
            return AuthenticationFailed(f"{text} (check {KEY_ENV})")
        if code == "FAILED_PRECONDITION" or "location is not supported" in message.lower():
            return PermissionDenied(f"{text} (check what {KEY_ENV} may use)")
        return self._from_status(status, text, headers, code)

    def _completion(self, data: Any) -> Completion:
        if not isinstance(data, dict):
            raise BadResponse("gemini: the reply is not a JSON object")
        meta = data.get("usageMetadata")
        usage: dict[str, Any] = meta if isinstance(meta, dict) else {}
        tokens_in = tokens(usage, "promptTokenCount")
        tokens_out = tokens(usage, "candidatesTokenCount", "thoughtsTokenCount")
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
        empty = f"the reply has no text (finishReason {finish or 'none'})"
        if not text and finish != "MAX_TOKENS":  # no text is a reply only when out of tokens
            raise BadResponse(f"gemini: {empty}")
        # STOP is a full reply; MAX_TOKENS, SAFETY, RECITATION, OTHER... cut it short.
        return self._reply(text, tokens_in, tokens_out, cut=finish not in ("STOP", ""), empty=empty)
