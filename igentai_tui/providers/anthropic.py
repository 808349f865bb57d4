"""Anthropic's Messages API through the official `anthropic` SDK.

The system prompt goes in the top-level `system` field. Base URL: the `base_url` of the
`[anthropic]` table in config.toml, else `ANTHROPIC_BASE_URL` (read by the SDK), else the
SDK's default. The SDK's own retries are off (`max_retries=0`): the producer loop is the one
retry policy.
"""

from __future__ import annotations

import os
from typing import Any

import anthropic

from igentai_tui.providers.base import (
    AuthenticationFailed,
    BadResponse,
    Completion,
    CompletionRequest,
    ConnectionFailed,
    ContextTooLong,
    Overloaded,
    ProviderError,
    QuotaExhausted,
    Timeout,
)
from igentai_tui.providers.errors import (
    DEFAULT_TIMEOUT_S,
    MAX_REPLY_CHARS,
    from_status,
    looks_like_context_error,
    looks_like_quota_error,
    redact,
    short,
)
from igentai_tui.providers.prices import context_window_of, price_of
from igentai_tui.providers.transport import ReplyTooLarge, guard

KEY_ENV = "ANTHROPIC_API_KEY"
DEFAULT_CONTEXT = 200_000
_LENGTH_STOPS = ("max_tokens", "model_context_window_exceeded")


class AnthropicProvider:
    """Claude models. Thread-safe: one SDK client, shared by the producers."""

    name = "anthropic"

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
                f"no Anthropic API key: set {KEY_ENV} or run `igentai keys set anthropic`"
            )
        self.base_url = base_url or os.environ.get("ANTHROPIC_BASE_URL") or None
        self._key = api_key
        self._prices = prices or {}
        self._client = anthropic.Anthropic(
            api_key=api_key,
            base_url=self.base_url,
            timeout=timeout,
            max_retries=0,  # one retry loop: the producer's (see docs/providers.md)
            http_client=guard(anthropic.DefaultHttpxClient(timeout=timeout), timeout),
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
        # 1.0 is the API's default; this SDK has no `temperature` argument, so any other
        # value travels in the body as the API documents it.
        extra = {} if request.temperature == 1.0 else {"temperature": request.temperature}
        try:
            reply = self._client.messages.create(
                model=request.model,
                system=request.system,
                messages=[{"role": "user", "content": request.prompt}],
                max_tokens=request.max_tokens,
                extra_body=extra or None,
            )
        except anthropic.APIError as exc:
            raise self._map_error(exc) from None
        except ValueError as exc:  # a 2xx body that is not JSON
            raise BadResponse(f"anthropic: unreadable reply: {type(exc).__name__}") from None
        return self._completion(reply)

    # -- internals --------------------------------------------------------------------------

    def _clean(self, text: object) -> str:
        return redact(short(str(text)), [self._key])

    def _where(self) -> str:
        return self.base_url or "api.anthropic.com"

    def _map_error(self, exc: anthropic.APIError) -> ProviderError:
        if isinstance(exc, anthropic.APITimeoutError):
            return Timeout(f"anthropic: no reply within the timeout ({self._where()})")
        if isinstance(exc, anthropic.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ReplyTooLarge):
                return BadResponse(f"anthropic: {cause}")
            detail = f": {type(cause).__name__}" if cause else ""
            return ConnectionFailed(f"anthropic: cannot connect to {self._where()}{detail}")
        if isinstance(exc, anthropic.APIStatusError):
            status = exc.status_code
            type_ = getattr(exc, "type", None)
            message = getattr(exc, "api_message", None) or exc.message
            text = self._clean(f"anthropic {status}: {message}")
            headers = {k.lower(): v for k, v in exc.response.headers.items()}
            if type_ == "overloaded_error":
                return Overloaded(text)
            if type_ == "billing_error" or (status == 400 and looks_like_quota_error(message)):
                return QuotaExhausted(f"{text} (add credit to the account behind {KEY_ENV})")
            if status == 400 and looks_like_context_error(message):
                return ContextTooLong(text)
            return from_status(status, text, key_env=KEY_ENV, headers=headers, error_type=type_)
        return BadResponse(self._clean(f"anthropic: unreadable reply: {exc.message}"))

    def _completion(self, reply: Any) -> Completion:
        content = getattr(reply, "content", None)
        if isinstance(reply, str | bytes) or content is None:
            raise BadResponse("anthropic: the reply is not a message (invalid JSON?)")
        text = "".join(
            getattr(block, "text", "") or ""
            for block in content
            if getattr(block, "type", None) == "text"
        )
        stop = getattr(reply, "stop_reason", None)
        usage = getattr(reply, "usage", None)
        tokens_in = int(getattr(usage, "input_tokens", 0) or 0)
        tokens_out = int(getattr(usage, "output_tokens", 0) or 0)
        if not text:
            if stop in _LENGTH_STOPS:
                return Completion("", tokens_in, tokens_out, "length")
            raise BadResponse(f"anthropic: the reply has no text (stop_reason {stop})")
        reason = "length" if stop in _LENGTH_STOPS else "stop"
        if len(text) > MAX_REPLY_CHARS:
            text, reason = text[:MAX_REPLY_CHARS], "length"
        return Completion(text, tokens_in, tokens_out, reason)
