"""One deadline and one size cap for every HTTP request, whatever client library carries it.

httpx and httpx2 (the SDKs' fork of it) have no total timeout: their `timeout=` bounds each
network operation (connecting, each read, each write), so a server that trickles its status
line, its headers or its body a few bytes at a time never trips it. `guard(client, timeout)`
makes every network operation of a request wait at most what is left of the request's
`timeout`, so the request as a whole (connect + headers + body) ends by then, with the
library's own ConnectTimeout, ReadTimeout or WriteTimeout (a `timeout` error like any other);
and it refuses a body over `max_bytes` as it arrives (ReplyTooLarge, a `bad_response`).

The deadline is still enforced by the client's socket timeouts: a request event hook starts the
clock (per thread: a sync client sends in the calling thread), and a wrapper around the
connection pool's network backend (httpcore's public NetworkBackend interface) hands each
operation the time left instead of the full timeout. The pool is reached through attributes
that are private to httpx (`transport._pool`, `pool._network_backend`): should a release rename
them, the requests keep their per-operation timeouts only, and tests/test_provider_limits.py
(headers and bodies trickled through each SDK) fails.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any, TypeVar

MAX_REPLY_BYTES = 16 * 1024 * 1024
"""A reply body larger than this is refused (a `bad_response`), never read whole."""

C = TypeVar("C")


class ReplyTooLarge(Exception):
    """Mixed into the client library's DecodingError, so the SDKs pass it on as its cause."""


_classes: dict[str, tuple[type, type]] = {}
_lock = threading.Lock()


def _library(obj: Any) -> ModuleType:
    """The top-level module `obj`'s class comes from: httpx or httpx2, httpcore or httpcore2."""
    return sys.modules[type(obj).__module__.split(".")[0]]


def _classes_for(lib: ModuleType) -> tuple[type, type]:
    """(capped stream, too-large error) classes built on `lib`'s base classes, made once."""
    with _lock:
        if lib.__name__ not in _classes:
            too_large = type("ReplyTooLarge", (ReplyTooLarge, lib.DecodingError), {})
            stream = type("CappedStream", (_Capped, lib.SyncByteStream), {})
            _classes[lib.__name__] = (stream, too_large)
        return _classes[lib.__name__]


class _Capped:
    """Wraps a response's byte stream; raises once more than `max_bytes` have arrived."""

    def __init__(self, inner: Any, too_large: type[Exception], max_bytes: int) -> None:
        self._inner = inner
        self._too_large = too_large
        self._max = max_bytes

    def __iter__(self) -> Iterator[bytes]:
        size = 0
        for chunk in self._inner:
            size += len(chunk)
            if size > self._max:
                raise self._too_large(f"the reply is over {self._max:,} bytes")
            yield chunk

    def close(self) -> None:
        self._inner.close()


class _Deadline:
    """When the request the current thread is sending must be over."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._local = threading.local()

    def start(self, request: Any) -> None:
        self._local.at = time.monotonic() + self.timeout

    def left(self, timeout: float | None, error: type[Exception]) -> float | None:
        """The time an operation may take: `timeout`, or less when the deadline is nearer."""
        at = getattr(self._local, "at", None)
        if at is None:
            return timeout
        left = at - time.monotonic()
        if left <= 0:
            raise error(f"the request took longer than its timeout ({self.timeout:g} s)")
        return left if timeout is None else min(timeout, left)


class _Stream:
    """A connection whose every read and write waits at most until the request's deadline."""

    def __init__(self, inner: Any, deadline: _Deadline, core: ModuleType) -> None:
        self._inner = inner
        self._deadline = deadline
        self._core = core

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.left(timeout, self._core.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.left(timeout, self._core.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> _Stream:
        left = self._deadline.left(timeout, self._core.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, left),
                       self._deadline, self._core)  # fmt: skip

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend:
    """A connection pool's network backend whose connections keep the request's deadline."""

    def __init__(self, inner: Any, deadline: _Deadline) -> None:
        self._inner = inner
        self._deadline = deadline
        self._core = _library(inner)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> _Stream:
        left = self._deadline.left(timeout, self._core.ConnectTimeout)
        inner = self._inner.connect_tcp(host, port, left, local_address, socket_options)
        return _Stream(inner, self._deadline, self._core)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> _Stream:
        left = self._deadline.left(timeout, self._core.ConnectTimeout)
        inner = self._inner.connect_unix_socket(path, left, socket_options)
        return _Stream(inner, self._deadline, self._core)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def guard(client: C, timeout: float, max_bytes: int = MAX_REPLY_BYTES) -> C:
    """`client` (an httpx or httpx2 Client), with a total deadline of `timeout` seconds per
    request and a cap of `max_bytes` on each reply body."""
    deadline = _Deadline(timeout)
    http: Any = client

    def cap(response: Any) -> None:
        stream_class, too_large = _classes_for(_library(response))
        response.stream = stream_class(response.stream, too_large, max_bytes)

    hooks = http.event_hooks
    http.event_hooks = {
        **hooks,
        "request": [*hooks.get("request", []), deadline.start],
        "response": [*hooks.get("response", []), cap],
    }
    for transport in (http._transport, *http._mounts.values()):
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None:
            # httpx has no public hook for the connection pool's network backend: the one
            # place the total deadline reaches every socket read (issue 18 lists it).
            pool._network_backend = _Backend(backend, deadline)  # type: ignore[union-attr]
    return client
