"""Provider construction: the one place that knows every back end (specs: `specs.py`)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from igentai_tui.common.clock import Clock
from igentai_tui.providers.base import Provider
from igentai_tui.providers.specs import (
    DEFAULT_MODELS,
    IMPLEMENTED,
    KEY_ENV,
    SpecError,
    env_base_url,
    split_model,
)


def default_specs(env: Mapping[str, str] | None = None) -> tuple[list[tuple[str, str]], str]:
    """The providers to use when none are named: those with keys, else sim. Says which."""
    from igentai_tui.keys import key_source

    env = os.environ if env is None else env
    keyed = [n for n in IMPLEMENTED if n in KEY_ENV and key_source(n, env) is not None]
    if keyed:
        return [(n, DEFAULT_MODELS[n]) for n in keyed], "using " + ", ".join(keyed)
    return [("sim", DEFAULT_MODELS["sim"])], (
        "no API key found: using sim, the embedded offline provider (simulated answers)"
    )


def make_provider(name: str, model: str, *, seed: int, clock: Clock) -> Provider:
    """Build the provider object for one provider:model."""
    if name == "sim":
        from igentai_tui.providers.sim import PROFILES, SimProvider

        if model not in PROFILES:
            raise SpecError(f"unknown sim model {model!r} (known: {', '.join(PROFILES)})")
        return SimProvider(model, seed=seed, clock=clock)
    if name in ("openai", "anthropic", "gemini"):
        return _make_remote(name, model)
    raise SpecError(f"provider {name!r} is not available in this version yet")


def _make_remote(name: str, model: str) -> Provider:
    """Build a real provider from the key (env or config dir) and the config file's settings."""
    from igentai_tui import keys
    from igentai_tui.providers.base import ProviderError
    from igentai_tui.providers.errors import DEFAULT_TIMEOUT_S
    from igentai_tui.providers.prices import parse_price_overrides

    try:
        config = keys.load_config()  # validated: types are right
    except keys.ConfigError as exc:
        raise SpecError(str(exc)) from None
    settings = config.get(name, {})
    prices = parse_price_overrides(config.get("prices"))
    # The spec's URL, else the config file's (checked with the file), else the environment's.
    base_url = split_model(model)[1] or settings.get("base_url") or env_base_url(name)
    timeout = float(settings.get("timeout", DEFAULT_TIMEOUT_S))
    api_key = keys.get_key(name)
    try:
        if name == "openai":
            from igentai_tui.providers.openai import OpenAIProvider

            return OpenAIProvider(
                api_key=api_key, base_url=base_url, timeout=timeout, prices=prices
            )
        if name == "anthropic":
            from igentai_tui.providers.anthropic import AnthropicProvider

            return AnthropicProvider(
                api_key=api_key, base_url=base_url, timeout=timeout, prices=prices
            )
        from igentai_tui.providers.gemini import GeminiProvider

        return GeminiProvider(api_key=api_key, base_url=base_url, timeout=timeout, prices=prices)
    except ProviderError as exc:  # no key: say which variable or command fixes it
        raise SpecError(str(exc)) from None
