"""OpenAI Chat Completions through the official `openai` SDK, and any OpenAI-compatible server.

Base URL, in order: the spec (`openai:llama3.1@http://localhost:11434/v1`), the `base_url` of
the `[openai]` table in config.toml, `OPENAI_BASE_URL`, the SDK's default. A server other than
api.openai.com needs no key: a placeholder is sent when none is configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import openai

from igentai_tui.providers.base import (
    BadResponse,
    Completion,
    CompletionRequest,
    ContextTooLong,
    ProviderError,
)
from igentai_tui.providers.prices import context_window_of
from igentai_tui.providers.remote import RemoteProvider, sdk_options, tokens
from igentai_tui.providers.specs import split_model

KEY_ENV = "OPENAI_API_KEY"
OFFICIAL_HOST = "api.openai.com"
PLACEHOLDER_KEY = "no-key-needed"
DEFAULT_CONTEXT = 128_000
LOCAL_DEFAULT_CONTEXT = 8_192
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


def is_official(base_url: str | None) -> bool:
    return base_url is None or (urlsplit(base_url).hostname or "") == OFFICIAL_HOST


class OpenAIProvider(RemoteProvider):
    """One OpenAI (or OpenAI-compatible) endpoint."""

    name = "openai"
    title = "OpenAI"
    key_env = KEY_ENV
    url_env = "OPENAI_BASE_URL"
    default_host = OFFICIAL_HOST
    default_context = DEFAULT_CONTEXT
    _client: openai.OpenAI

    @property
    def official(self) -> bool:
        """api.openai.com, where a key is needed; else a compatible server, where none is."""
        return is_official(self.base_url)

    def _keyless(self) -> str | None:
        return None if self.official else PLACEHOLDER_KEY

    def _connect(self, timeout: float) -> openai.OpenAI:
        return openai.OpenAI(
            api_key=self._key, base_url=self.base_url, **sdk_options(openai, timeout)
        )

    def context_window(self, model: str) -> int:
        if self.official:
            return super().context_window(model)
        return context_window_of(self._bare(model), LOCAL_DEFAULT_CONTEXT)

    def _bare(self, model: str) -> str:
        return split_model(model)[0]

    def _send(self, request: CompletionRequest) -> Any:
        model = self._bare(request.model)
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
            return self._client.chat.completions.create(**params)
        except openai.APIError as exc:
            raise self._sdk_error(exc, openai) from None

    def _status_error(self, status: int, headers: Mapping[str, str], detail: Any) -> ProviderError:
        body = detail.body if isinstance(detail.body, dict) else {}
        err = body.get("error") if isinstance(body.get("error"), dict) else body
        message = err.get("message") if isinstance(err, dict) else None
        text = self._clean(f"openai {status}: {message or detail.message}")
        if status == 429 and "request too large" in str(message).lower():
            # Bigger than the tokens-per-minute limit: waiting will not help, a smaller
            # prompt will.
            return ContextTooLong(text)
        return self._from_status(status, text, headers, detail.type, detail.code)

    def _completion(self, reply: Any) -> Completion:
        if isinstance(reply, str | bytes) or not hasattr(reply, "choices"):
            raise BadResponse("openai: the reply is not a chat completion (invalid JSON?)")
        if not reply.choices:
            raise BadResponse("openai: the reply has no choices")
        choice = reply.choices[0]
        message = getattr(choice, "message", None)
        text = getattr(message, "content", None)
        finish = getattr(choice, "finish_reason", None)
        refusal = getattr(message, "refusal", None)
        why = f" (refusal: {self._clean(refusal)})" if refusal else f" (finish {finish})"
        usage = getattr(reply, "usage", None)
        return self._reply(
            text if isinstance(text, str) else None,
            tokens(usage, "prompt_tokens"),
            tokens(usage, "completion_tokens"),
            cut=finish == "length",  # with no text: a reasoning model out of tokens
            empty=f"the reply has no content{why}",
        )
