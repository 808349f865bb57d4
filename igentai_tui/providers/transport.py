"""One deadline and one size cap for every HTTP reply, whatever client library carries it.

httpx (and the SDKs built on it, or on its fork httpx2) time out each network operation, not
the whole request: a server that trickles its reply a few bytes at a time never trips the
timeout, and a huge body is read whole into memory. `guard_hooks()` returns event hooks for
such a client that end the reply when the request as a whole has taken longer than `timeout`
(the library's own ReadTimeout, so it maps to a `timeout` error like any other) or when the body
passes `max_bytes` (ReplyTooLarge, a `bad_response`).

The deadline runs from the start of the request, and is checked as the body arrives: headers
that trickle in are still bounded per read only.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

MAX_REPLY_BYTES = 16 * 1024 * 1024
"""A reply body larger than this is refused (a `bad_response`), never read whole."""


class ReplyTooLarge(Exception):
    """Mixed into the client library's DecodingError, so the SDKs pass it on as its cause."""


_classes: dict[str, tuple[type, type]] = {}
_lock = threading.Lock()


def _library(response: Any) -> ModuleType:
    """httpx or httpx2: the module the response's class comes from."""
    return sys.modules[type(response).__module__.split(".")[0]]


def _classes_for(lib: ModuleType) -> tuple[type, type]:
    """(guarded stream, too-large error) classes built on `lib`'s base classes, made once."""
    with _lock:
        if lib.__name__ not in _classes:
            too_large = type("ReplyTooLarge", (ReplyTooLarge, lib.DecodingError), {})
            stream = type("GuardedStream", (_Guarded, lib.SyncByteStream), {})
            _classes[lib.__name__] = (stream, too_large)
        return _classes[lib.__name__]


class _Guarded:
    """Wraps a response's byte stream; raises when the deadline or the size cap is passed."""

    def __init__(self, inner: Any, response: Any, deadline: float, max_bytes: int) -> None:
        self._inner = inner
        self._response = response
        self._deadline = deadline
        self._max = max_bytes

    def __iter__(self) -> Iterator[bytes]:
        lib = _library(self._response)
        too_large = _classes_for(lib)[1]
        size = 0
        for chunk in self._inner:
            size += len(chunk)
            if size > self._max:
                raise too_large(f"the reply is over {self._max:,} bytes")
            if time.monotonic() > self._deadline:
                raise lib.ReadTimeout(
                    "the reply took longer than the timeout", request=self._response.request
                )
            yield chunk

    def close(self) -> None:
        self._inner.close()


def guard_hooks(
    timeout: float, max_bytes: int = MAX_REPLY_BYTES
) -> dict[str, list[Callable[[Any], None]]]:
    """Event hooks (`event_hooks=` of an httpx or httpx2 Client) enforcing both limits."""
    started = threading.local()  # a sync client sends in the calling thread

    def on_request(request: Any) -> None:
        started.at = time.monotonic()

    def on_response(response: Any) -> None:
        stream_class = _classes_for(_library(response))[0]
        deadline = getattr(started, "at", time.monotonic()) + timeout
        response.stream = stream_class(response.stream, response, deadline, max_bytes)

    return {"request": [on_request], "response": [on_response]}
