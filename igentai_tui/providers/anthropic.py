"""Anthropic's Messages API through the official `anthropic` SDK.

The system prompt goes in the top-level `system` field. Base URL: the `base_url` of the
`[anthropic]` table in config.toml, else `ANTHROPIC_BASE_URL` (read by the SDK), else the
SDK's default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anthropic

from igentai_tui.providers.base import (
    BadResponse,
    Completion,
    CompletionRequest,
    Overloaded,
    ProviderError,
    QuotaExhausted,
)
from igentai_tui.providers.errors import looks_like_quota_error
from igentai_tui.providers.remote import RemoteProvider, sdk_options, tokens

KEY_ENV = "ANTHROPIC_API_KEY"
DEFAULT_CONTEXT = 200_000
_LENGTH_STOPS = ("max_tokens", "model_context_window_exceeded")


class AnthropicProvider(RemoteProvider):
    """Claude models."""

    name = "anthropic"
    title = "Anthropic"
    key_env = KEY_ENV
    url_env = "ANTHROPIC_BASE_URL"
    default_host = "api.anthropic.com"
    default_context = DEFAULT_CONTEXT
    _client: anthropic.Anthropic

    def _connect(self, timeout: float) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            api_key=self._key, base_url=self.base_url, **sdk_options(anthropic, timeout)
        )

    def _send(self, request: CompletionRequest) -> Any:
        # 1.0 is the API's default; this SDK has no `temperature` argument, so any other
        # value travels in the body as the API documents it.
        extra = {} if request.temperature == 1.0 else {"temperature": request.temperature}
        try:
            return self._client.messages.create(
                model=request.model,
                system=request.system,
                messages=[{"role": "user", "content": request.prompt}],
                max_tokens=request.max_tokens,
                extra_body=extra or None,
            )
        except anthropic.APIError as exc:
            raise self._sdk_error(exc, anthropic) from None

    def _status_error(self, status: int, headers: Mapping[str, str], detail: Any) -> ProviderError:
        type_ = getattr(detail, "type", None)
        message = getattr(detail, "api_message", None) or detail.message
        text = self._clean(f"anthropic {status}: {message}")
        if type_ == "overloaded_error":
            return Overloaded(text)
        if type_ == "billing_error" or (status == 400 and looks_like_quota_error(message)):
            return QuotaExhausted(f"{text} (add credit to the account behind {KEY_ENV})")
        return self._from_status(status, text, headers, type_)

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
        return self._reply(
            text,
            tokens(usage, "input_tokens"),
            tokens(usage, "output_tokens"),
            cut=stop in _LENGTH_STOPS,
            empty=f"the reply has no text (stop_reason {stop})",
        )
