"""A seeded storm of provider faults, served by the local OpenAI, Anthropic and Gemini servers.

`Storm(server, seed)` replaces the server's default reply: each request draws the next item of a
shuffled deck that holds every fault in FAULTS once and `ok` replies (a 429 burst answers
several requests in a row). Every request is recorded with the fault it got and the time on the
run's clock, so a test can compare the calls table with what the server did, request by request.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from . import anthropic_server as an
from . import gemini_server as gm
from . import openai_server as oa
from .server import FakeServer, Reply, Seen

TIMEOUT_S = 2.0  # what the test gives each provider; the faults below outlast it
BIG_BYTES = 5 * 1024 * 1024

# fault -> the error kind the calls table must show (None: a success)
FAULTS: dict[str, str | None] = {
    "429 burst with retry-after": "rate_limited",
    "429 burst without retry-after": "rate_limited",
    "429 with retry-after 0": "rate_limited",
    "500": "server_error",
    "503": "overloaded",
    "529": "overloaded",
    "timeout": "timeout",
    "slow drip": "timeout",
    "connection reset": "connection_error",
    "cut mid-body": "connection_error",
    "truncated JSON": "bad_response",
    "empty choices": "bad_response",
    "5 MB body": None,
    "HTML 502 page": "server_error",
    "HTML 200 page": "bad_response",
    "wrong content-type": None,
}
HTML = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


@dataclass(frozen=True)
class Wire:
    """How one protocol says success, rate limit, a status error and an empty reply."""

    body: Callable[[str], dict]
    rate_limited: Callable[[str | None], Reply]
    status: Callable[[int], Reply]
    empty: Callable[[], Reply]


def _openai_rate(after: str | None) -> Reply:
    headers = {} if after is None else {"retry-after": after}
    return oa.error(429, "Rate limit reached for requests", "requests", "rate_limit_exceeded",
                    headers=headers)  # fmt: skip


def _anthropic_rate(after: str | None) -> Reply:
    headers = {} if after is None else {"retry-after": after}
    return an.error(429, "rate_limit_error", "Number of requests has exceeded your rate limit",
                    headers=headers)  # fmt: skip


def _gemini_rate(after: str | None) -> Reply:
    details: list[dict] = [{
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        "violations": [{"quotaId": "GenerateRequestsPerMinutePerProjectPerModel"}],
    }]  # fmt: skip
    if after is not None:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo",
                        "retryDelay": f"{after}s"})  # fmt: skip
    return gm.error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted", details=details)


WIRES: dict[type[FakeServer], Wire] = {
    oa.OpenAIServer: Wire(
        body=oa.completion,
        rate_limited=_openai_rate,
        status=lambda code: oa.error(code, "The server had an error", "server_error"),
        empty=lambda: Reply(200, {**oa.completion("x"), "choices": []}),
    ),
    an.AnthropicServer: Wire(
        body=an.message,
        rate_limited=_anthropic_rate,
        status=lambda code: an.overloaded() if code == 529 else an.error(
            code, "api_error", "Internal server error"),
        empty=lambda: Reply(200, an.message(None)),
    ),
    gm.GeminiServer: Wire(
        body=gm.response,
        rate_limited=_gemini_rate,
        status=lambda code: gm.error(code, "INTERNAL" if code == 500 else "UNAVAILABLE",
                                     "The service is currently unavailable."),
        empty=lambda: Reply(200, {"candidates": [], "usageMetadata": {"promptTokenCount": 9}}),
    ),
}  # fmt: skip


class Storm:
    """Serves `server`'s requests from a seeded deck of faults and `ok_per_deck` successes."""

    def __init__(self, server: FakeServer, seed: int, *, ok_per_deck: int = 8,
                 now: Callable[[], float] = lambda: 0.0) -> None:  # fmt: skip
        self.server = server
        self.wire = WIRES[type(server)]
        self.rng = random.Random(seed)
        self.ok_per_deck = ok_per_deck
        self.now = now
        self.served: list[tuple[float, str]] = []  # (time on the run's clock, fault or "ok")
        self.decks = 0  # decks dealt, the one being served included
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self._healthy = type(server).default.__get__(server)
        self._tag = itertools.count()
        server.default = self.reply  # type: ignore[method-assign]

    def _next(self) -> str:
        if not self._pending:
            self.decks += 1
            deck = [*FAULTS, *["ok"] * self.ok_per_deck]
            self.rng.shuffle(deck)
            for item in deck:
                burst = self.rng.randint(3, 6) if item.startswith("429 burst") else 1
                self._pending.extend([item] * burst)
        return self._pending.pop(0)

    @property
    def whole_decks(self) -> int:
        """Decks of which every item has been served: each holds every fault."""
        with self._lock:
            return self.decks - (1 if self._pending else 0)

    def entries(self, n: int = 30) -> str:
        tag = next(self._tag)
        return "\n".join(f"Storm star {tag}-{i}" for i in range(n))

    def reply(self, seen: Seen) -> Reply:
        with self._lock:
            fault = self._next()
            self.served.append((self.now(), fault))
        w = self.wire
        if fault == "ok":
            return self._healthy(seen)
        if fault.startswith("429"):
            after = {"429 with retry-after 0": "0", "429 burst with retry-after": "2"}.get(fault)
            return w.rate_limited(after)
        if fault.isdigit():
            return w.status(int(fault))
        if fault == "timeout":
            return Reply(200, w.body(self.entries()), delay=TIMEOUT_S * 2.5)
        if fault == "slow drip":  # bytes keep coming, each well within the read timeout
            return Reply(200, w.body(self.entries(300)), drip=0.05)
        if fault == "connection reset":
            return Reply(reset=True)
        if fault == "empty choices":
            return w.empty()
        if fault == "5 MB body":
            return Reply(200, w.body("Storm giant\n" * (BIG_BYTES // 12)))
        if fault.startswith("HTML"):
            status = 502 if "502" in fault else 200
            return Reply(status, HTML, content_type="text/html; charset=utf-8")
        payload = json.dumps(w.body(self.entries())).encode()
        if fault == "cut mid-body":
            return Reply(200, payload, cut=len(payload) // 2)
        if fault == "truncated JSON":
            return Reply(200, payload[: len(payload) // 2])
        assert fault == "wrong content-type", fault
        return Reply(200, payload, content_type="text/plain")

    def expected_kinds(self) -> list[str | None]:
        return [None if f == "ok" else FAULTS[f] for _, f in self.served]
