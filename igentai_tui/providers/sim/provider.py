"""`SimProvider`: the Provider protocol over the simulated model, with limits and latency."""

from __future__ import annotations

import random
import threading
import zlib
from collections import deque

from ...common.clock import Clock
from ..base import (
    Completion,
    CompletionRequest,
    ContextTooLong,
    Overloaded,
    RateLimited,
    estimate_tokens,
)
from .model import reply
from .params import PROFILES, SimParams, profile
from .reader import read_prompt
from .topics import universe_for

WINDOW_S = 60.0


class SimProvider:
    """An offline LLM that answers the engine's real prompts from a topic's universe.

    Thread-safe: producers may call `complete` at once on one instance. With the same seed
    and the same sequence of prompts, replies are identical (each call draws from its own
    `random.Random` seeded by the seed, the model and the instance's call counter).
    """

    name = "sim"

    def __init__(
        self,
        model: str = "default",
        *,
        seed: int = 0,
        clock: Clock | None = None,
        params: SimParams | None = None,
    ) -> None:
        chosen = params or profile(model)
        if chosen is None:
            names = ", ".join(PROFILES)
            raise ValueError(f"unknown sim model {model!r}: use one of {names}")
        self.model = model
        self.seed = seed
        self.clock = clock or Clock()
        self.params: SimParams = chosen
        self._lock = threading.Lock()
        self._calls = 0
        self._windows: dict[str, deque[float]] = {}

    def _params(self, model: str) -> SimParams:
        if not model or model == self.model:
            return self.params
        return profile(model) or self.params

    def context_window(self, model: str) -> int:
        """The model's context window in tokens (its profile's, or this instance's)."""
        return self._params(model).context_window

    def price(self, model: str) -> tuple[float, float]:
        """Simulated USD per million input and output tokens."""
        params = self._params(model)
        return params.price_in, params.price_out

    def complete(self, request: CompletionRequest) -> Completion:
        """Answer one request, or raise ContextTooLong, RateLimited or Overloaded."""
        params = self._params(request.model)
        input_tokens = estimate_tokens(request.system + request.prompt)
        window = params.context_window
        if input_tokens + request.max_tokens > window:
            raise ContextTooLong(
                f"This model's maximum context length is {window} tokens. However, you "
                f"requested {input_tokens + request.max_tokens} tokens ({input_tokens} in the "
                f"messages, {request.max_tokens} in the completion). Please reduce the length "
                "of the messages or completion."
            )
        model = request.model or self.model
        with self._lock:
            if params.rpm_limit is not None:
                now = self.clock.monotonic()
                times = self._windows.setdefault(model, deque())
                while times and times[0] <= now - WINDOW_S:
                    times.popleft()
                if len(times) >= params.rpm_limit:
                    wait = max(0.001, times[0] + WINDOW_S - now)
                    raise RateLimited(
                        f"Rate limit reached for sim:{model}: {params.rpm_limit} requests per "
                        f"minute. Please try again in {wait:.3f}s.",
                        retry_after=wait,
                    )
                times.append(now)
            n = self._calls
            self._calls += 1
        rng = random.Random((self.seed * 1_000_003 + zlib.crc32(model.encode())) * 2**32 + n)
        if params.overload_rate and rng.random() < params.overload_rate:
            self.clock.sleep(params.latency_base_s)
            raise Overloaded(f"sim:{model} is overloaded. Please retry later.", retry_after=1.0)
        info = read_prompt(request.prompt)
        mind = params.mind or model
        text = reply(universe_for(info.topic), info, params, rng, mind)
        limit = min(request.max_tokens, params.max_output_tokens)
        finish = "stop"
        if estimate_tokens(text) > limit:
            text, finish = _cut(text, limit), "length"
        output_tokens = estimate_tokens(text)
        if params.latency_base_s or params.latency_per_token_s:
            latency = params.latency_base_s + params.latency_per_token_s * output_tokens
            if params.latency_jitter:
                latency *= rng.lognormvariate(0.0, params.latency_jitter)
            self.clock.sleep(latency)
        return Completion(text, input_tokens, output_tokens, finish)


def _cut(text: str, max_tokens: int) -> str:
    """Cut `text` to `max_tokens` tokens, inside a word as a token limit does."""
    cut = min(len(text) - 1, max(1, max_tokens * 4))
    while cut > 1 and not (text[cut - 1].isalnum() and text[cut].isalnum()):
        cut -= 1
    return text[:cut]
