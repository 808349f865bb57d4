"""Prices per model, in USD per million tokens (input, output), and model context windows.

The table is dated: prices change, so check the providers' price pages and override any entry
in the config file (see docs/providers.md):

    [prices]
    "gpt-4o-mini" = [0.15, 0.60]

A model that is not in the table (nor in the config file) has no price: its cost is shown as
unknown, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")

PRICES_AS_OF = "2025-10-01"
"""When the table below was compiled (standard, non-batch, non-cached, short-prompt tiers)."""

PRICES: dict[str, tuple[float, float]] = {
    # OpenAI
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    # Anthropic
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-sonnet-4-5": (3.00, 15.00),
    "claude-sonnet-4-0": (3.00, 15.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-opus-4-1": (15.00, 75.00),
    # Google Gemini (prompts up to 200k tokens for the pro tier)
    "gemini-2.5-flash": (0.30, 2.50),
    "gemini-2.5-flash-lite": (0.10, 0.40),
    "gemini-2.5-pro": (1.25, 10.00),
    "gemini-2.0-flash": (0.10, 0.40),
}

CONTEXT_WINDOWS: dict[str, int] = {
    "gpt-4o-mini": 128_000,
    "gpt-4o": 128_000,
    "gpt-4.1": 1_047_576,
    "gpt-4.1-mini": 1_047_576,
    "gpt-4.1-nano": 1_047_576,
    "gpt-5": 400_000,
    "gpt-5-mini": 400_000,
    "gpt-5-nano": 400_000,
    "claude-haiku-4-5": 200_000,
    "claude-sonnet-4-5": 200_000,
    "claude-sonnet-4-0": 200_000,
    "claude-3-5-haiku": 200_000,
    "claude-opus-4-1": 200_000,
    "gemini-2.5-flash": 1_048_576,
    "gemini-2.5-flash-lite": 1_048_576,
    "gemini-2.5-pro": 1_048_576,
    "gemini-2.0-flash": 1_048_576,
}

# Dated snapshots and aliases of a listed model share its entry:
# gpt-4o-mini-2024-07-18, claude-haiku-4-5-20251001, gemini-2.5-flash-latest.
_SUFFIX = re.compile(r"^(?:-\d{4}-\d{2}-\d{2}|-\d{8}|-latest|-preview(?:-[\w.-]+)?)?$")


def _lookup(table: Mapping[str, T], model: str) -> T | None:
    model = model.strip().lower().removeprefix("models/")
    if model in table:
        return table[model]
    best: str | None = None
    for name in table:
        fits = model.startswith(name) and _SUFFIX.match(model[len(name) :])
        if fits and (best is None or len(name) > len(best)):
            best = name
    return table[best] if best is not None else None


def parse_price_overrides(raw: object) -> dict[str, tuple[float, float]]:
    """The `[prices]` table of the config file: model -> [input, output] or
    {input = .., output = ..}. Invalid rows are ignored."""
    out: dict[str, tuple[float, float]] = {}
    if not isinstance(raw, Mapping):
        return out
    for model, value in raw.items():
        pair: tuple[object, object] | None = None
        if isinstance(value, list | tuple) and len(value) == 2:
            pair = (value[0], value[1])
        elif isinstance(value, Mapping) and "input" in value and "output" in value:
            pair = (value["input"], value["output"])
        if pair is None:
            continue
        try:
            pin, pout = float(pair[0]), float(pair[1])  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if pin >= 0 and pout >= 0:
            out[str(model).strip().lower()] = (pin, pout)
    return out


def price_of(
    model: str, overrides: Mapping[str, tuple[float, float]] | None = None
) -> tuple[float, float] | None:
    """(USD per million input tokens, per million output tokens), or None when unknown."""
    if overrides:
        found = _lookup(overrides, model)
        if found is not None:
            return found
    return _lookup(PRICES, model)


def context_window_of(model: str, default: int) -> int:
    """The model's context window in tokens, or `default` when the model is not listed."""
    found = _lookup(CONTEXT_WINDOWS, model)
    return found if found is not None else default
