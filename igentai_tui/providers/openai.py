"""OpenAI Chat Completions through the official `openai` SDK, and any OpenAI-compatible server.

Base URL, in order: the spec (`openai:llama3.1@http://localhost:11434/v1`), the `base_url` of
the `[openai]` table in config.toml, `OPENAI_BASE_URL`, the SDK's default. A server other than
api.openai.com needs no key: a placeholder is sent when none is configured.

The SDK's own retries are off (`max_retries=0`): the producer loop is the one retry policy.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import openai

from igentai_tui.providers.base import (
    AuthenticationFailed,
    BadResponse,
    Completion,
    CompletionRequest,
    ConnectionFailed,
    ContextTooLong,
    ProviderError,
    QuotaExhausted,
    Timeout,
)
from igentai_tui.providers.errors import (
    DEFAULT_TIMEOUT_S,
    MAX_REPLY_CHARS,
    from_status,
    looks_like_quota_error,
    redact,
    short,
)
from igentai_tui.providers.prices import context_window_of, price_of
from igentai_tui.providers.specs import split_model
from igentai_tui.providers.transport import ReplyTooLarge, guard

KEY_ENV = "OPENAI_API_KEY"
OFFICIAL_HOST = "api.openai.com"
PLACEHOLDER_KEY = "no-key-needed"
DEFAULT_CONTEXT = 128_000
LOCAL_DEFAULT_CONTEXT = 8_192
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


def is_official(base_url: str | None) -> bool:
    return base_url is None or (urlsplit(base_url).hostname or "") == OFFICIAL_HOST


class OpenAIProvider:
    """One OpenAI (or OpenAI-compatible) endpoint. Thread-safe: one SDK client, shared."""

    name = "openai"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        prices: dict[str, tuple[float, float]] | None = None,
        context_window: int | None = None,
    ) -> None:
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self.base_url = base_url
        self.official = is_official(base_url)
        if not api_key:
            if self.official:
                raise AuthenticationFailed(
                    f"no OpenAI API key: set {KEY_ENV} or run `igentai keys set openai`"
                )
            api_key = PLACEHOLDER_KEY
        self._key = api_key
        self._prices = prices or {}
        self._context = context_window
        self._client = openai.OpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=0,  # one retry loop: the producer's (see docs/providers.md)
            http_client=guard(openai.DefaultHttpxClient(timeout=timeout), timeout),
        )

    def close(self) -> None:
        """Release the connection pool (optional: the engine may just drop the provider)."""
        self._client.close()

    # -- the protocol -----------------------------------------------------------------------

    def context_window(self, model: str) -> int:
        if self._context:
            return self._context
        default = DEFAULT_CONTEXT if self.official else LOCAL_DEFAULT_CONTEXT
        return context_window_of(split_model(model)[0], default)

    def price(self, model: str) -> tuple[float, float] | None:
        return price_of(self.name, split_model(model)[0], self._prices)

    def complete(self, request: CompletionRequest) -> Completion:
        model = split_model(request.model)[0]
        params: dict[str, Any] = {
            "model": model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.prompt},
            ],
        }
        reasoning = model.startswith(_REASONING_PREFIXES)
        if self.official:
            params["max_completion_tokens"] = request.max_tokens
        else:  # what every OpenAI-compatible server understands
            params["max_tokens"] = request.max_tokens
        if not (reasoning and request.temperature == 1.0):
            params["temperature"] = request.temperature
        try:
            reply = self._client.chat.completions.create(**params)
        except openai.APIError as exc:
            raise self._map_error(exc) from None
        except ValueError as exc:  # a 2xx body that is not JSON, or not a completion
            raise BadResponse(f"openai: unreadable reply: {type(exc).__name__}") from None
        return self._completion(reply)

    # -- internals --------------------------------------------------------------------------

    def _clean(self, text: object) -> str:
        return redact(short(str(text)), [self._key])

    def _map_error(self, exc: openai.APIError) -> ProviderError:
        if isinstance(exc, openai.APITimeoutError):
            return Timeout(f"openai: no reply within the timeout ({self._where()})")
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ReplyTooLarge):
                return BadResponse(f"openai: {cause}")
            detail = f": {type(cause).__name__}" if cause else ""
            return ConnectionFailed(f"openai: cannot connect to {self._where()}{detail}")
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            body = exc.body if isinstance(exc.body, dict) else {}
            err = body.get("error") if isinstance(body.get("error"), dict) else body
            message = err.get("message") if isinstance(err, dict) else None
            code, type_ = exc.code, exc.type
            text = self._clean(f"openai {status}: {message or exc.message}")
            if status == 429 and looks_like_quota_error(code, type_):
                return QuotaExhausted(f"{text} (add credit, or check the account behind {KEY_ENV})")
            if status == 429 and "request too large" in str(message).lower():
                # Bigger than the tokens-per-minute limit: waiting will not help, a smaller
                # prompt will.
                return ContextTooLong(text)
            headers = {k.lower(): v for k, v in exc.response.headers.items()}
            return from_status(
                status, text, key_env=KEY_ENV, headers=headers, error_type=type_, error_code=code
            )
        # A 2xx body the SDK could not read (e.g. invalid JSON).
        return BadResponse(self._clean(f"openai: unreadable reply: {exc.message}"))

    def _where(self) -> str:
        return self.base_url or OFFICIAL_HOST

    def _completion(self, reply: Any) -> Completion:
        if isinstance(reply, str | bytes) or not hasattr(reply, "choices"):
            raise BadResponse("openai: the reply is not a chat completion (invalid JSON?)")
        if not reply.choices:
            raise BadResponse("openai: the reply has no choices")
        choice = reply.choices[0]
        message = getattr(choice, "message", None)
        text = getattr(message, "content", None) if message is not None else None
        finish = getattr(choice, "finish_reason", None)
        usage = getattr(reply, "usage", None)
        tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
        tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
        if not isinstance(text, str) or not text:
            if finish == "length":  # the token limit ran out before any text (reasoning)
                return Completion("", tokens_in, tokens_out, "length")
            refusal = getattr(message, "refusal", None)
            why = f" (refusal: {self._clean(refusal)})" if refusal else f" (finish {finish})"
            raise BadResponse(f"openai: the reply has no content{why}")
        reason = "length" if finish == "length" else "stop"
        if len(text) > MAX_REPLY_CHARS:
            text, reason = text[:MAX_REPLY_CHARS], "length"
        return Completion(text, tokens_in, tokens_out, reason)
