"""Provider specs, defaults and construction: the one place that knows every back end."""

from __future__ import annotations

import os
from collections.abc import Mapping

from igentai_tui.engine.clock import Clock
from igentai_tui.providers.base import Provider

KEY_ENV = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
}
DEFAULT_MODELS = {
    "sim": "default",
    "openai": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
    "gemini": "gemini-2.5-flash",
}
# Providers this build can talk to, in the order defaults are picked.
IMPLEMENTED = ("sim", "openai", "anthropic", "gemini")
# Providers whose spec may carry a base URL: openai:MODEL@http://host:port/v1
BASE_URL_PROVIDERS = ("openai",)


class SpecError(ValueError):
    """A --providers value that cannot be used; the message says why and what is valid."""


def _check_base_url(name: str, model: str, spec: str) -> None:
    """Validate the "@http://..." part of a model, if any (openai only)."""
    from urllib.parse import urlsplit

    from igentai_tui.providers.openai import split_model

    bare, url = split_model(model)
    if url is None:
        if "@http" in model:
            raise SpecError(f"missing model before the base URL in {spec!r}")
        return
    if name not in BASE_URL_PROVIDERS:
        env = {"anthropic": "ANTHROPIC_BASE_URL", "gemini": "GEMINI_BASE_URL"}.get(name)
        hint = f" (set {env} instead)" if env else ""
        raise SpecError(f"a base URL in the spec is only for openai, not {name!r}{hint}")
    parts = urlsplit(url)
    if parts.username or parts.password:  # the spec is stored with the run: no secrets in it
        raise SpecError("put the key in OPENAI_API_KEY or `igentai keys set openai`, not the URL")
    if not parts.hostname or any(c.isspace() for c in url):
        raise SpecError(f"invalid base URL {url!r} in {spec!r} (e.g. http://localhost:11434/v1)")
    if not bare:
        raise SpecError(f"missing model before the base URL in {spec!r}")


def parse_specs(text: str) -> list[tuple[str, str]]:
    """Parse "sim,openai:gpt-4o-mini" into (provider, model) pairs, defaulting the model.

    An OpenAI-compatible server is named with a base URL after the model:
    "openai:llama3.1@http://localhost:11434/v1" -> ("openai", "llama3.1@http://localhost:11434/v1");
    make_provider splits the URL off again."""
    arms: list[tuple[str, str]] = []
    for raw in text.split(","):
        spec = raw.strip()
        if not spec:
            raise SpecError(f"empty provider spec in {text!r} (expected e.g. sim,openai:MODEL)")
        name, _, model = spec.partition(":")
        name = name.strip().lower()
        model = model.strip()
        if name not in DEFAULT_MODELS:
            known = ", ".join(DEFAULT_MODELS)
            raise SpecError(f"unknown provider {name!r} in {spec!r} (known: {known})")
        if name not in IMPLEMENTED:
            raise SpecError(f"provider {name!r} is not available in this version yet (use sim)")
        if _ and not model:
            raise SpecError(f"missing model after {name}: in {spec!r}")
        if "@" in model:
            _check_base_url(name, model, spec)
        arm = (name, model or DEFAULT_MODELS[name])
        if arm not in arms:
            arms.append(arm)
    return arms


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
    base_url = settings.get("base_url")
    timeout = float(settings.get("timeout", DEFAULT_TIMEOUT_S))
    api_key = keys.get_key(name)
    try:
        if name == "openai":
            from igentai_tui.providers.openai import OpenAIProvider, split_model

            url = split_model(model)[1] or base_url
            return OpenAIProvider(api_key=api_key, base_url=url, timeout=timeout, prices=prices)
        if name == "anthropic":
            from igentai_tui.providers.anthropic import AnthropicProvider

            return AnthropicProvider(
                api_key=api_key, base_url=base_url, timeout=timeout, prices=prices
            )
        from igentai_tui.providers.gemini import GeminiProvider

        return GeminiProvider(api_key=api_key, base_url=base_url, timeout=timeout, prices=prices)
    except ProviderError as exc:  # no key: say which variable or command fixes it
        raise SpecError(str(exc)) from None
