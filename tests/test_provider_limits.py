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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fakes import openai_server as oa
from fakes.server import Reply
from fakes.wires import Wire

from igentai_tui.cli import main
from igentai_tui.providers.base import BadResponse, ConnectionFailed, ProviderError, Timeout
from igentai_tui.providers.remote import RemoteProvider

LONG = "\n".join(f"Star number {i}" for i in range(400))
Fails = Callable[..., ProviderError]


def test_a_trickling_reply_times_out_at_the_deadline(wire: Wire, fails: Fails) -> None:
    # 16 bytes every 50 ms: each read is well within the timeout, the whole takes ~20 s.
    assert isinstance(fails(Reply(200, wire.body(LONG), drip=0.05), timeout=0.5), Timeout)


def test_trickling_headers_time_out_at_the_deadline(wire: Wire, server: Any, fails: Fails) -> None:
    # The status line and headers, one byte every 50 ms (~10 s): each read is within the
    # library's timeout, which used to let it through, however long it took.
    reply = Reply(200, wire.body("Vega"), header_drip=0.05)
    assert isinstance(fails(reply, timeout=0.5), Timeout)
    [(sent, whole)] = server.heads
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


def test_a_trickling_reply_within_the_deadline_is_read(
    wire: Wire, server: Any, make: Callable[..., RemoteProvider]
) -> None:
    server.push(Reply(200, wire.body("Vega\nSirius"), drip=0.01))
    assert make().complete(wire.request()).text == "Vega\nSirius"


def test_a_body_over_the_cap_is_refused(fails: Fails) -> None:
    huge = b'{"x": "' + b"x" * (17 * 1024 * 1024) + b'"}'
    err = fails(Reply(200, huge))
    assert isinstance(err, BadResponse) and "bytes" in str(err)


@pytest.mark.parametrize("reset", [False, True], ids=["close", "reset"])
def test_a_hang_up_mid_body_is_a_connection_error(wire: Wire, fails: Fails, reset: bool) -> None:
    payload = Reply(200, wire.body(LONG)).payload()
    reply = Reply(200, payload, cut=len(payload) // 2, reset=reset)
    assert isinstance(fails(reply), ConnectionFailed)


def test_a_reset_before_any_reply_is_a_connection_error(fails: Fails) -> None:
    assert isinstance(fails(Reply(reset=True)), ConnectionFailed)
