"""What every real provider does, each through its own client against a local server speaking
its wire protocol (tests/fakes/wires.py). What one provider alone does: test_providers_NAME.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fakes.server import Reply, closed_port_url
from fakes.wires import KEY, Wire

from igentai_tui.providers.base import (
    AuthenticationFailed,
    BadRequest,
    BadResponse,
    ConnectionFailed,
    ContextTooLong,
    Overloaded,
    PermissionDenied,
    ProviderError,
    RateLimited,
    ServerError,
    Timeout,
)
from igentai_tui.providers.remote import RemoteProvider

pytestmark = pytest.mark.usefixtures("isolated")

Make = Callable[..., RemoteProvider]
Fails = Callable[..., ProviderError]


def test_a_reply_gives_its_text_and_token_counts(wire: Wire, server: Any, make: Make) -> None:
    server.push(Reply(200, wire.body("Louvre\nMusée d'Orsay", usage=(12, 7))))
    reply = make().complete(wire.request())
    assert (reply.text, reply.input_tokens, reply.output_tokens) == ("Louvre\nMusée d'Orsay", 12, 7)
    assert reply.finish_reason == "stop" and server.count == 1


def test_a_reply_cut_by_the_token_limit_is_marked_truncated(
    wire: Wire, server: Any, make: Make
) -> None:
    server.push(Reply(200, wire.body("Eiffel Tower\nLouv", cut=True)))
    reply = make().complete(wire.request())
    assert reply.truncated and reply.text.startswith("Eiffel")


def test_out_of_tokens_before_any_text_is_an_empty_truncated_reply(
    wire: Wire, server: Any, make: Make
) -> None:
    """A reasoning model can spend its whole output budget thinking."""
    server.push(Reply(200, wire.body(None, cut=True, usage=(50, 300))))
    reply = make().complete(wire.request())
    assert (reply.text, reply.finish_reason, reply.output_tokens) == ("", "length", 300)


def test_a_five_megabyte_reply_is_cut_and_marked_truncated(
    wire: Wire, server: Any, make: Make
) -> None:
    server.push(Reply(200, wire.body("Eiffel Tower\n" * (5 * 1024 * 1024 // 13))))
    reply = make().complete(wire.request())
    assert reply.truncated and 0 < len(reply.text) <= 200_000 and server.count == 1


KINDS: dict[str, type[ProviderError]] = {
    "401": AuthenticationFailed,
    "403": PermissionDenied,
    "404 model": BadRequest,
    "bad request": BadRequest,
    "context": ContextTooLong,
    "500": ServerError,
    "502 html": ServerError,
    "503": Overloaded,
    "504": Timeout,
    "529": Overloaded,
    "invalid JSON": BadResponse,
}


@pytest.mark.parametrize("case", list(KINDS))
def test_errors_map_to_typed_errors_with_one_request(wire: Wire, fails: Fails, case: str) -> None:
    err = fails(wire.errors[case]())
    assert type(err) is KINDS[case], err


def test_a_rate_limit_carries_the_wait_the_server_asks(wire: Wire, fails: Fails) -> None:
    err = fails(wire.rate_limited(7))
    assert isinstance(err, RateLimited) and err.retry_after == 7.0


def test_quota_and_auth_disable_the_provider_and_name_the_env_var(
    wire: Wire, server: Any, make: Make
) -> None:
    p = make()
    for reply in (wire.quota(), wire.errors["401"]()):
        server.push(reply)
        with pytest.raises(ProviderError) as info:
            p.complete(wire.request())
        assert info.value.disables_provider and wire.key_env in str(info.value)


def test_a_wrong_key_is_rejected_by_the_server_and_not_echoed(
    wire: Wire, server: Any, make: Make
) -> None:
    wrong = "sk-wrong-secret-0987654321"
    with pytest.raises(AuthenticationFailed) as info:
        make(api_key=wrong).complete(wire.request())
    assert wrong not in str(info.value) and wire.key_env in str(info.value)
    assert server.count == 1


def test_no_reply_within_the_timeout(wire: Wire, fails: Fails) -> None:
    assert isinstance(fails(Reply(200, wire.body("late"), delay=3), timeout=0.3), Timeout)


def test_connection_refused(wire: Wire) -> None:
    p = wire.provider(api_key=KEY, base_url=wire.url(closed_port_url()), timeout=2)
    try:
        with pytest.raises(ConnectionFailed) as info:
            p.complete(wire.request())
    finally:
        p.close()
    assert KEY not in str(info.value)


def test_the_base_url_variable_is_honoured(
    wire: Wire, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(wire.url_env, wire.url(server.url))
    p = wire.provider(api_key=KEY, timeout=5)
    try:
        assert p.complete(wire.request()).text and server.count == 1
    finally:
        p.close()


def test_no_key_is_refused_naming_the_fix(wire: Wire) -> None:
    """(For OpenAI: at its official endpoint; a local server needs none.)"""
    with pytest.raises(AuthenticationFailed, match=f"{wire.key_env}.*igentai keys set"):
        wire.provider(api_key=None)
