"""The provider protocol every LLM back end implements, and the typed errors they raise.

A provider is called from a producer's worker thread: `complete()` is synchronous and may
block for as long as the request takes. Providers never retry on their own; the producer loop
owns the one retry policy and acts on the error's kind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

from igentai_tui.common.redact import redact
from igentai_tui.common.sanitize import clean_control


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """One request: the prompt text and the sampling settings."""

    model: str
    system: str
    prompt: str
    max_tokens: int = 2048
    temperature: float = 1.0


@dataclass(frozen=True, slots=True)
class Completion:
    """A reply: its text, token usage and why generation stopped ("stop" or "length")."""

    text: str
    input_tokens: int
    output_tokens: int
    finish_reason: str = "stop"

    @property
    def truncated(self) -> bool:
        """True when the reply was cut off by the token limit."""
        return self.finish_reason == "length"


class ProviderError(Exception):
    """Base of every provider failure. `kind` is the stable name stored in the calls table."""

    kind: ClassVar[str] = "error"
    retryable: ClassVar[bool] = False
    disables_provider: ClassVar[bool] = False

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        # Whoever wrote it (a server, an SDK, a bug): no key, no escape sequence, one line.
        super().__init__(redact(clean_control(str(message))))
        self.retry_after = retry_after


class RateLimited(ProviderError):
    kind = "rate_limited"
    retryable = True


class Overloaded(ProviderError):
    kind = "overloaded"
    retryable = True


class ServerError(ProviderError):
    kind = "server_error"
    retryable = True


class Timeout(ProviderError):
    kind = "timeout"
    retryable = True


class ConnectionFailed(ProviderError):
    kind = "connection_error"
    retryable = True


class AuthenticationFailed(ProviderError):
    kind = "authentication"
    disables_provider = True


class PermissionDenied(ProviderError):
    kind = "permission"
    disables_provider = True


class QuotaExhausted(ProviderError):
    kind = "quota_exhausted"
    disables_provider = True


class ContextTooLong(ProviderError):
    kind = "context_too_long"


class BadRequest(ProviderError):
    kind = "bad_request"


class BadResponse(ProviderError):
    """The reply was malformed or empty."""

    kind = "bad_response"
    retryable = True


@runtime_checkable
class Provider(Protocol):
    """What the engine needs of an LLM back end."""

    name: str

    def complete(self, request: CompletionRequest) -> Completion:
        """Send one request and return the reply; raise a ProviderError on failure."""
        ...

    def context_window(self, model: str) -> int:
        """The model's context window, in tokens."""
        ...


def list_price(
    provider: object, model: str, prices: Mapping[str, Sequence[float]] | None = None
) -> tuple[float, float] | None:
    """`model`'s price in USD per million input and output tokens: the run's own (`prices`,
    from --price, by arm label `provider:model`), else the provider's optional `price(model)`;
    None when neither knows it."""
    own = (prices or {}).get(f"{getattr(provider, 'name', '')}:{model}")
    if own is not None:
        return float(own[0]), float(own[1])
    price = getattr(provider, "price", None)
    return price(model) if price else None


def estimate_tokens(text: str) -> int:
    """A cheap token estimate (about four characters a token), used for prompt budgets."""
    return (len(text) + 3) // 4
