"""The deadline and size cap every provider's HTTP client gets (providers/transport.py).

The HTTP libraries time each read, not the request: a reply whose headers or body trickle in a
few bytes at a time must still end as a `timeout` when the request's timeout is up, and a
runaway body must be refused as it arrives. Hang-ups
mid-reply are connection errors. Each case: one request, the right typed error, no key in it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fakes import anthropic_server as an
from fakes import gemini_server as gm
from fakes import openai_server as oa
from fakes.server import FakeServer, Reply

from igentai_tui.cli import main
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


def test_trickling_headers_time_out_at_the_deadline(proto: tuple) -> None:
    # The status line and headers, one byte every 50 ms (~10 s): each read is within the
    # library's timeout, which used to let it through, however long it took.
    reply = Reply(200, proto[1]("Vega"), header_drip=0.05)
    assert isinstance(fails(proto, reply, timeout=0.5), Timeout)
    [(sent, whole)] = proto[0].heads
    assert sent < whole  # the client hung up mid-headers, at its deadline


def test_a_run_against_a_header_trickling_server_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One producer, --max-requests 2, `[openai] timeout` from the config file: both requests
    end as timeouts, and so does the run."""
    monkeypatch.chdir(tmp_path)
    for var in list(os.environ):
        if var.endswith(("_API_KEY", "_BASE_URL")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("IGENTAI_CONFIG_DIR", str(tmp_path / "config"))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text("[openai]\ntimeout = 1\n")
    with oa.OpenAIServer(api_key="no-key-needed") as server:
        server.default = lambda seen: Reply(200, oa.completion("Vega"), header_drip=0.05)
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = main(["--headless", "Stars", "--providers", f"openai:m@{server.base_url}",
                         "-n", "1", "--max-requests", "2", "--db", "t.db"])  # fmt: skip
        seen, heads = server.count, [tuple(h) for h in server.heads]
    assert code == 0 and json.loads(out.getvalue())["stop_reason"] == "request limit reached"
    assert len(heads) == 2 and all(sent < whole for sent, whole in heads)  # cut mid-headers
    con = sqlite3.connect(tmp_path / "t.db")
    kinds = [r[0] for r in con.execute("SELECT error_kind FROM calls ORDER BY id")]
    con.close()
    assert kinds == ["timeout", "timeout"] and seen == 2


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
