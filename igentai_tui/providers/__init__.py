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
# Providers this build can talk to; the others are known names, not yet implemented.
IMPLEMENTED = ("sim",)


class SpecError(ValueError):
    """A --providers value that cannot be used; the message says why and what is valid."""


def parse_specs(text: str) -> list[tuple[str, str]]:
    """Parse "sim,openai:gpt-4o-mini" into (provider, model) pairs, defaulting the model."""
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
        arm = (name, model or DEFAULT_MODELS[name])
        if arm not in arms:
            arms.append(arm)
    return arms


def default_specs(env: Mapping[str, str] | None = None) -> tuple[list[tuple[str, str]], str]:
    """The providers to use when none are named: those with keys, else sim. Says which."""
    env = os.environ if env is None else env
    keyed = [n for n in IMPLEMENTED if n in KEY_ENV and env.get(KEY_ENV[n])]
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
    raise SpecError(f"provider {name!r} is not available in this version yet")
