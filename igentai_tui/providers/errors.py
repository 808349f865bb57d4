"""Shared helpers for mapping a provider's HTTP failures onto the typed errors of base.py.

Every real provider (OpenAI, Anthropic, Gemini) turns its own failures into the same small
set of errors, so the producer loop has one retry policy. The helpers here are the parts they
share: reading retry hints from headers, classifying by status code, and short messages (the
base class, remote.py, keeps keys out of them).
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping

from igentai_tui.providers.base import (
    AuthenticationFailed,
    BadRequest,
    ContextTooLong,
    Overloaded,
    PermissionDenied,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    ServerError,
    Timeout,
)

DEFAULT_TIMEOUT_S = 120.0
"""Seconds one request may take before it counts as a timeout (override per provider)."""

MAX_RETRY_AFTER_S = 600.0
"""A retry hint longer than this is clamped: a producer never sleeps for hours."""

MAX_REPLY_CHARS = 200_000
"""Reply text beyond this is cut off and the reply marked truncated ("length")."""

MAX_MESSAGE_CHARS = 300
"""Provider error messages are shortened to this many characters."""

_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "maximum context length",
    "context length",
    "context window",
    "context size",
    "exceed_context_size",
    "prompt is too long",
    "too many tokens",
    "input token count",
    "exceeds the maximum number of tokens",
)
_QUOTA_MARKERS = (
    "insufficient_quota",
    "credit balance is too low",
    "exceeded your current quota",
    "billing",
)


def short(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """One line, at most `limit` characters."""
    one = " ".join(str(text).split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def _go_duration(text: str) -> float | None:
    """Parse OpenAI's rate-limit reset values such as "1s", "6m0s", "20ms"."""
    text = text.strip()
    if not text:
        return None
    pos = 0
    total = 0.0
    for m in _DURATION_PART.finditer(text):
        if m.start() != pos:
            return None
        pos = m.end()
        total += float(m.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[m.group(2)]
    return total if pos == len(text) else None


def retry_after(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """Seconds the server asks us to wait, from `retry-after-ms`, `retry-after` (seconds or an
    HTTP date) or, failing those, OpenAI's `x-ratelimit-reset-*` headers. None when absent."""
    if not headers:
        return None
    value: float | None = None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            value = float(ms) / 1000.0
        except ValueError:
            value = None
    if value is None and (ra := headers.get("retry-after")):
        try:
            value = float(ra)
        except ValueError:
            parsed = email.utils.parsedate_tz(ra)
            if parsed is not None:
                value = email.utils.mktime_tz(parsed) - (time.time() if now is None else now)
    if value is None:
        resets = [
            d
            for h in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens")
            if (raw := headers.get(h)) and (d := _go_duration(raw)) is not None
        ]
        if resets:
            value = max(resets)
    if value is None or value != value:  # missing or NaN
        return None
    return min(MAX_RETRY_AFTER_S, max(0.0, value))


def looks_like_context_error(*texts: str | None) -> bool:
    blob = " ".join(t for t in texts if t).lower()
    return any(m in blob for m in _CONTEXT_MARKERS)


def looks_like_quota_error(*texts: str | None) -> bool:
    blob = " ".join(t for t in texts if t).lower()
    return any(m in blob for m in _QUOTA_MARKERS)


def from_status(
    status: int,
    message: str,
    *,
    key_env: str,
    headers: Mapping[str, str] | None = None,
    error_type: str | None = None,
    error_code: str | None = None,
) -> ProviderError:
    """The typed error for an HTTP error status, shared by every provider.

    Providers check their own special cases (quota, overload bodies) first and fall back here.
    `message` must already be redacted."""
    wait = retry_after(headers)
    hint = (headers or {}).get("x-should-retry", "").lower()
    if status == 401:
        return AuthenticationFailed(f"{message} (check {key_env})")
    if status == 402:
        return QuotaExhausted(f"{message} (billing: check the account behind {key_env})")
    if status == 403:
        return PermissionDenied(f"{message} (check what {key_env} may use)")
    if status == 429:
        if looks_like_quota_error(error_type, error_code):
            return QuotaExhausted(
                f"{message} (quota or billing: check the account behind {key_env})"
            )
        return RateLimited(message, retry_after=wait)
    if status == 408 or status == 504:
        return Timeout(message, retry_after=wait)
    if status in (503, 529):
        return Overloaded(message, retry_after=wait)
    if status >= 500:
        return ServerError(message, retry_after=wait)
    if looks_like_context_error(error_type, error_code, message):
        return ContextTooLong(message)
    if hint == "true" or status == 409:
        return ServerError(message, retry_after=wait)
    return BadRequest(message)
