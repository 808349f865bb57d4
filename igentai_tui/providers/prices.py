"""Prices per model, in USD per million tokens (input, output), and model context windows.

Prices come from `genai-prices` (pydantic/genai-prices): an offline, dated table of the major
providers' list prices, kept up to date by its maintainers and shipped with the package (no
network access). What it does not know (a local model, a new name) can be priced by the user:
`--price PROVIDER:MODEL=IN/OUT` for a run, or the config file for every run (docs/providers.md):

    [prices]
    "llama3.1" = [0, 0]

A model priced by neither has no price: its cost is shown as unknown, never guessed, and a cost
limit (`--max-cost`) with such a model is refused before the run starts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")

CATALOGUE_PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "gemini": "google"}
"""igentai's provider names -> genai-prices' provider ids."""

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
        pair: tuple[Any, Any] | None = None
        if isinstance(value, list | tuple) and len(value) == 2:
            pair = (value[0], value[1])
        elif isinstance(value, Mapping) and "input" in value and "output" in value:
            pair = (value["input"], value["output"])
        if pair is None:
            continue
        try:
            pin, pout = float(pair[0]), float(pair[1])
        except (TypeError, ValueError):
            continue
        if pin >= 0 and pout >= 0:
            out[str(model).strip().lower()] = (pin, pout)
    return out


def catalogue_price(provider: str, model: str) -> tuple[float, float] | None:
    """The list price genai-prices knows for `provider`'s `model` today (standard tier, short
    prompts), or None."""
    vendor = CATALOGUE_PROVIDERS.get(provider)
    if vendor is None:
        return None
    from genai_prices import Usage, calc_price

    try:  # the price of 1,000 tokens each way: below every long-prompt tier
        found = calc_price(Usage(input_tokens=1000, output_tokens=1000), model, provider_id=vendor)
    except LookupError:
        return None
    return float(found.input_price * 1000), float(found.output_price * 1000)


def price_of(
    provider: str, model: str, overrides: Mapping[str, tuple[float, float]] | None = None
) -> tuple[float, float] | None:
    """(USD per million input tokens, per million output tokens) of `provider`'s `model`: the
    config file's `[prices]` first, then genai-prices; None when neither knows it."""
    name = model.strip().lower().removeprefix("models/")
    if overrides:
        found = _lookup(overrides, name)
        if found is not None:
            return found
    return catalogue_price(provider, name)


def context_window_of(model: str, default: int) -> int:
    """The model's context window in tokens, or `default` when the model is not listed."""
    found = _lookup(CONTEXT_WINDOWS, model)
    return found if found is not None else default
