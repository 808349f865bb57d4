"""The base class of the providers that call a server (OpenAI, Anthropic, Gemini).

What they share is here: the key (required, or the fix named when missing), the base URL (the
argument, else the provider's environment variable) and price overrides, the client's life,
one request's shape (`_send` the wire call, `_completion` the reply read, a non-JSON body a
`bad_response`), the errors that are not the server's answer (timeouts, refused connections,
oversized replies), the SDKs' errors, and the reply's tail (empty or cut-off text, the size
cap). A subclass holds its wire protocol only: its client, the request's body, what its error
bodies say (`_status_error`), and where its reply keeps text and token counts. None retries:
the producer loop owns the one retry policy.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import ModuleType
from typing import Any, ClassVar, Protocol

from igentai_tui.common.redact import redact
from igentai_tui.providers.base import (
    AuthenticationFailed,
    BadResponse,
    Completion,
    CompletionRequest,
    ConnectionFailed,
    ProviderError,
    Timeout,
)
from igentai_tui.providers.errors import DEFAULT_TIMEOUT_S, MAX_REPLY_CHARS, from_status, short
from igentai_tui.providers.prices import context_window_of, price_of
from igentai_tui.providers.transport import ReplyTooLarge, guard


class _Client(Protocol):
    def close(self) -> None: ...


class RemoteProvider:
    """One server's endpoint for one provider. Thread-safe: one HTTP client, shared."""

    name: str
    title: ClassVar[str]  # the provider as the no-key message names it ("OpenAI")
    key_env: ClassVar[str]
    url_env: ClassVar[str]  # the environment variable that may hold the base URL
    default_host: ClassVar[str]  # where requests go when no base URL is set
    default_context: ClassVar[int]
    _client: _Client

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        prices: dict[str, tuple[float, float]] | None = None,
    ) -> None:
        self.base_url = self._endpoint(base_url or os.environ.get(self.url_env) or None)
        key = api_key or self._keyless()
        if not key:
            raise AuthenticationFailed(
                f"no {self.title} API key: set {self.key_env} or run `igentai keys set {self.name}`"
            )
        self._key = key
        self._prices = prices or {}
        self._client = self._connect(timeout)

    def close(self) -> None:
        """Release the connection pool (optional: the engine may just drop the provider)."""
        self._client.close()

    # -- the protocol -----------------------------------------------------------------------

    def context_window(self, model: str) -> int:
        return context_window_of(self._bare(model), self.default_context)

    def price(self, model: str) -> tuple[float, float] | None:
        return price_of(self.name, self._bare(model), self._prices)

    def complete(self, request: CompletionRequest) -> Completion:
        try:
            reply = self._send(request)
        except ValueError as exc:  # a 2xx body that is not JSON, or not a reply
            raise BadResponse(f"{self.name}: unreadable reply: {type(exc).__name__}") from None
        return self._completion(reply)

    # -- what a subclass writes -------------------------------------------------------------

    def _connect(self, timeout: float) -> Any:
        """The client, made once (`self._key` and `self.base_url` are set)."""
        raise NotImplementedError

    def _send(self, request: CompletionRequest) -> Any:
        """Send the request; the decoded reply, or a ProviderError."""
        raise NotImplementedError

    def _completion(self, reply: Any) -> Completion:
        """The decoded reply's text and token counts (`_reply` does the rest)."""
        raise NotImplementedError

    def _status_error(self, status: int, headers: Mapping[str, str], detail: Any) -> ProviderError:
        """The typed error for an HTTP error status; `detail`: the SDK's error or the body."""
        raise NotImplementedError

    def _endpoint(self, base_url: str | None) -> str | None:
        """The base URL to use, from the one configured (None: the client's default)."""
        return base_url

    def _keyless(self) -> str | None:
        """The key to send when none is configured; None: one is needed."""
        return None

    def _bare(self, model: str) -> str:
        """The model's name as prices and context windows know it."""
        return model

    # -- shared -----------------------------------------------------------------------------

    @property
    def where(self) -> str:
        return self.base_url or self.default_host

    def _clean(self, text: object) -> str:
        """One short line, with this provider's key (and any other key read) masked."""
        return redact(short(str(text)), [self._key])

    def _from_status(
        self,
        status: int,
        text: str,
        headers: Mapping[str, str],
        error_type: str | None = None,
        error_code: str | None = None,
    ) -> ProviderError:
        """The mapping every provider falls back on (errors.from_status), naming our key."""
        return from_status(
            status, text, key_env=self.key_env, headers=headers,
            error_type=error_type, error_code=error_code,
        )  # fmt: skip

    def _timed_out(self) -> Timeout:
        return Timeout(f"{self.name}: no reply within the timeout ({self.where})")

    def _unreachable(self, cause: BaseException | None) -> ProviderError:
        """A request that got no answer: a reply over the size cap, or no connection."""
        if isinstance(cause, ReplyTooLarge):
            return BadResponse(f"{self.name}: {cause}")
        detail = f": {type(cause).__name__}" if cause else ""
        return ConnectionFailed(self._clean(f"{self.name}: cannot connect to {self.where}{detail}"))

    def _sdk_error(self, exc: Any, sdk: ModuleType) -> ProviderError:
        """An error of an official SDK (`openai`, `anthropic`: the same classes) as ours."""
        if isinstance(exc, sdk.APITimeoutError):
            return self._timed_out()
        if isinstance(exc, sdk.APIConnectionError):
            return self._unreachable(exc.__cause__ or exc.__context__)
        if isinstance(exc, sdk.APIStatusError):
            return self._status_error(exc.status_code, lower(exc.response.headers), exc)
        # A 2xx body the SDK could not read (e.g. invalid JSON).
        return BadResponse(self._clean(f"{self.name}: unreadable reply: {exc.message}"))

    def _reply(
        self, text: str | None, tokens_in: int, tokens_out: int, *, cut: bool, empty: str
    ) -> Completion:
        """The reply: `cut` when generation stopped early; no text is a `bad_response`
        (saying `empty`) unless it was cut (a reasoning model out of tokens)."""
        if not text:
            if cut:
                return Completion("", tokens_in, tokens_out, "length")
            raise BadResponse(f"{self.name}: {empty}")
        reason = "length" if cut else "stop"
        if len(text) > MAX_REPLY_CHARS:
            text, reason = text[:MAX_REPLY_CHARS], "length"
        return Completion(text, tokens_in, tokens_out, reason)


def sdk_options(sdk: ModuleType, timeout: float) -> dict[str, Any]:
    """An official SDK client's settings: our timeout on every request as a whole, and the
    SDK's own retries off (`max_retries=0`: the producer loop is the one retry policy)."""
    client = guard(sdk.DefaultHttpxClient(timeout=timeout), timeout)
    return {"timeout": timeout, "max_retries": 0, "http_client": client}


def lower(headers: Any) -> dict[str, str]:
    """HTTP headers with lower-case names."""
    return {k.lower(): v for k, v in headers.items()}


def tokens(usage: Any, *names: str) -> int:
    """The sum of the named token counts of a usage object or mapping (absent ones count 0)."""
    get = usage.get if isinstance(usage, Mapping) else lambda n: getattr(usage, n, None)
    return sum(int(get(n) or 0) for n in names)
