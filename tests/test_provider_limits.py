"""The deadline and size cap every provider's HTTP client gets (providers/transport.py).

The HTTP libraries time each read, not the request: a reply that trickles in a few bytes at a
time must still end as a `timeout`, and a runaway body must be refused as it arrives. Hang-ups
mid-reply are connection errors. Each case: one request, the right typed error, no key in it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fakes import anthropic_server as an
from fakes import gemini_server as gm
from fakes import openai_server as oa
from fakes.server import FakeServer, Reply

from igentai_tui.providers.anthropic import AnthropicProvider
from igentai_tui.providers.base import (
    BadResponse,
    CompletionRequest,
    ConnectionFailed,
    Provider,
    ProviderError,
    Timeout,
)
from igentai_tui.providers.gemini import GeminiProvider
from igentai_tui.providers.openai import OpenAIProvider

KEY = "sk-limits-test-key-123456"
REQ = CompletionRequest("gpt-4o-mini", "You list things.", "List stars.", 300, 1.0)
LONG = "\n".join(f"Star number {i}" for i in range(400))

PROTOCOLS: dict[str, tuple[type[FakeServer], Callable[[str], dict], Callable[..., Provider]]] = {
    "openai": (oa.OpenAIServer, oa.completion,
               lambda s, t: OpenAIProvider(api_key=KEY, base_url=s.base_url, timeout=t)),
    "anthropic": (an.AnthropicServer, an.message,
                  lambda s, t: AnthropicProvider(api_key=KEY, base_url=s.url, timeout=t)),
    "gemini": (gm.GeminiServer, gm.response,
               lambda s, t: GeminiProvider(api_key=KEY, base_url=s.url, timeout=t)),
}  # fmt: skip


@pytest.fixture(params=list(PROTOCOLS))
def proto(request: pytest.FixtureRequest) -> Iterator[tuple[FakeServer, Callable, Callable]]:
    server_class, body, make = PROTOCOLS[request.param]
    with server_class(api_key=KEY) as server:
        yield server, body, lambda timeout=5.0: make(server, timeout)


def fails(proto: tuple, reply: Reply, timeout: float = 5.0) -> ProviderError:
    server, _, make = proto
    server.push(reply)
    provider = make(timeout)
    try:
        with pytest.raises(ProviderError) as info:
            provider.complete(REQ)
    finally:
        provider.close()
    assert server.count == 1 and KEY not in str(info.value)
    return info.value


def test_a_trickling_reply_times_out_at_the_deadline(proto: tuple) -> None:
    # 16 bytes every 50 ms: each read is well within the timeout, the whole takes ~20 s.
    assert isinstance(fails(proto, Reply(200, proto[1](LONG), drip=0.05), timeout=0.5), Timeout)


def test_a_trickling_reply_within_the_deadline_is_read(proto: tuple) -> None:
    server, body, make = proto
    server.push(Reply(200, body("Vega\nSirius"), drip=0.01))
    provider = make(5.0)
    assert provider.complete(REQ).text == "Vega\nSirius"
    provider.close()


def test_a_body_over_the_cap_is_refused(proto: tuple) -> None:
    huge = b'{"x": "' + b"x" * (17 * 1024 * 1024) + b'"}'
    err = fails(proto, Reply(200, huge))
    assert isinstance(err, BadResponse) and "bytes" in str(err)


@pytest.mark.parametrize("reset", [False, True], ids=["close", "reset"])
def test_a_hang_up_mid_body_is_a_connection_error(proto: tuple, reset: bool) -> None:
    payload = Reply(200, proto[1](LONG)).payload()
    assert isinstance(fails(proto, Reply(200, payload, cut=len(payload) // 2, reset=reset)),
                      ConnectionFailed)  # fmt: skip


def test_a_reset_before_any_reply_is_a_connection_error(proto: tuple) -> None:
    assert isinstance(fails(proto, Reply(reset=True)), ConnectionFailed)
