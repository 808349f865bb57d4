"""Fixtures for the provider tests: a provider's wire (each of tests/fakes/wires.py's, or the
one a module names by defining its own `wire` fixture), its local server, and providers made
for it, closed after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.server import FakeServer, Reply
from fakes.wires import KEY, WIRES, Wire

from igentai_tui.providers.base import ProviderError
from igentai_tui.providers.remote import RemoteProvider


@pytest.fixture(params=list(WIRES))
def wire(request: pytest.FixtureRequest) -> Wire:
    return WIRES[request.param]


@pytest.fixture
def isolated(wire: Wire, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Wire:
    """No key, base URL or config file of the user's reaches the provider."""
    monkeypatch.setenv("IGENTAI_CONFIG_DIR", str(tmp_path / "config"))
    for var in (wire.key_env, wire.url_env, *wire.clear):
        monkeypatch.delenv(var, raising=False)
    return wire


@pytest.fixture
def server(isolated: Wire) -> Iterator[Any]:
    with isolated.server(api_key=KEY) as s:
        yield s


@pytest.fixture
def make(wire: Wire, server: FakeServer) -> Iterator[Callable[..., RemoteProvider]]:
    """make(timeout=5.0, **settings): a provider talking to `server` with the right key."""
    made: list[RemoteProvider] = []

    def make(timeout: float = 5.0, **settings: Any) -> RemoteProvider:
        settings = {"api_key": KEY, "base_url": wire.url(server.url), **settings}
        made.append(wire.provider(timeout=timeout, **settings))
        return made[-1]

    yield make
    for p in made:
        p.close()


@pytest.fixture
def fails(
    wire: Wire, server: FakeServer, make: Callable[..., RemoteProvider]
) -> Callable[..., ProviderError]:
    """fails(reply, timeout=5.0): the error of one request answered by `reply`, which the
    server saw once (no hidden retry) and which shows no key."""

    def fails(reply: Reply, timeout: float = 5.0) -> ProviderError:
        server.push(reply)
        with pytest.raises(ProviderError) as info:
            make(timeout).complete(wire.request())
        assert server.count == 1, "one request, no hidden retry"
        assert KEY not in str(info.value)
        return info.value

    return fails
