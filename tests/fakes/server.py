"""A scriptable local HTTP server: a queue of replies, a record of every request.

Runs `http.server.ThreadingHTTPServer` on 127.0.0.1, port 0, in a daemon thread. Each protocol
(openai_server, anthropic_server, gemini_server) subclasses it with its paths, auth headers,
success body and error body shapes.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_DELAY_S = 10.0
DRIP_BYTES = 16
HEADER_PAD = 100  # bytes of padding in a trickled head: ~200 bytes in all


class _Quiet(ThreadingHTTPServer):
    """Clients that hang up (timeouts, refused oversize replies) are not errors here."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@dataclass
class Reply:
    """One scripted HTTP response."""

    status: int = 200
    body: Any = None  # dict/list -> JSON, str/bytes -> sent as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (bounded by MAX_DELAY_S)
    content_type: str = "application/json"
    drip: float = 0.0  # seconds between DRIP_BYTES pieces of the body (a slow trickle)
    header_drip: float = 0.0  # seconds between single bytes of the status line and headers
    cut: int | None = None  # send only this many bytes of the body, then hang up
    reset: bool = False  # hang up with a TCP reset (before any reply when `cut` is None)

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # decoded JSON, or the raw text when not JSON


class FakeServer:
    """Answers from `queue` (FIFO), else from `default()`; records every request."""

    def __init__(self) -> None:
        self.queue: deque[Reply] = deque()
        self.requests: list[Seen] = []
        self.heads: list[list[int]] = []  # trickled heads: [bytes sent so far, bytes in all]
        self._lock = threading.Lock()
        self._closing = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                outer._handle(self)

            def do_GET(self) -> None:
                outer._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = _Quiet(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- life cycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- scripting --------------------------------------------------------------------------

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self.queue.extend(replies)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def default(self, seen: Seen) -> Reply:
        """The reply when the queue is empty (subclasses answer a success)."""
        return Reply(404, {"error": "no reply scripted"})

    def check(self, seen: Seen) -> Reply | None:
        """A protocol error (bad path, missing auth) to answer instead of the script, or None."""
        return None

    # -- serving ----------------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("content-length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        seen = Seen(h.command, h.path, {k.lower(): v for k, v in h.headers.items()}, body)
        with self._lock:
            self.requests.append(seen)
            scripted = self.queue.popleft() if self.queue else None
        reply = self.check(seen) or scripted or self.default(seen)
        if reply.delay:
            self._closing.wait(min(reply.delay, MAX_DELAY_S))
        payload = reply.payload()
        try:
            if reply.reset and reply.cut is None:
                return self._hang_up(h, reset=True)
            h.send_response(reply.status)
            h.send_header("content-type", reply.content_type)
            h.send_header("content-length", str(len(payload)))
            for name, value in reply.headers.items():
                h.send_header(name, value)
            if reply.header_drip:  # the head, one byte at a time, then the body as scripted
                h.send_header("x-trickle", "." * HEADER_PAD)
                head = b"".join(h._headers_buffer) + b"\r\n"  # type: ignore[attr-defined]
                h._headers_buffer = []  # type: ignore[attr-defined]
                progress = [0, len(head)]  # bytes sent so far, of the whole head
                with self._lock:
                    self.heads.append(progress)
                while progress[0] < len(head):
                    if self._closing.wait(reply.header_drip):
                        return
                    h.wfile.write(head[progress[0] : progress[0] + 1])
                    progress[0] += 1
            else:
                h.end_headers()
            body = payload if reply.cut is None else payload[: reply.cut]
            if reply.drip:
                for i in range(0, len(body), DRIP_BYTES):
                    h.wfile.write(body[i : i + DRIP_BYTES])
                    h.wfile.flush()
                    if self._closing.wait(reply.drip):
                        break
            else:
                h.wfile.write(body)
            if reply.cut is not None:
                self._hang_up(h, reset=reply.reset)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    @staticmethod
    def _hang_up(h: BaseHTTPRequestHandler, *, reset: bool) -> None:
        """Close the connection mid-reply: a TCP reset (RST) or a plain close (FIN)."""
        h.wfile.flush()
        h.close_connection = True
        if reset:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
