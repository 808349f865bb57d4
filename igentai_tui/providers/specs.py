"""Provider specs: names, default models, base URLs, and the parsing of --providers.

Knows every back end by name and imports none of them: construction is in `providers/__init__.py`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

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


BASE_URL_ENV = {"openai": "OPENAI_BASE_URL", "anthropic": "ANTHROPIC_BASE_URL",
                "gemini": "GEMINI_BASE_URL"}  # fmt: skip
BASE_URL_FORMS = "http://HOST[:PORT][/PATH] or https://..., e.g. http://localhost:11434/v1"

# What follows a model's "@" when it is meant as a base URL: a scheme, or a host that is
# localhost, an IPv4 address, a dotted name or has a port. "org/model@v2" stays a model name.
_URL_LIKE = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*:/"
    r"|(?:localhost|\d{1,3}(?:\.\d{1,3}){3}|[\w-]+(?:\.[\w-]+)*\.[a-z]{2,})(?::\d+)?(?:/|$)"
    r"|[\w.-]+:\d+(?:/|$))",
    re.IGNORECASE,
)


class SpecError(ValueError):
    """A --providers value that cannot be used; the message says why and what is valid."""


def split_model(model: str) -> tuple[str, str | None]:
    """Split a base URL off a model: "llama3.1@http://host/v1" -> ("llama3.1", "http://host/v1").

    Whatever looks like a URL after an "@" is one (valid or not: `base_url_problem` says);
    a plain model name, or one with a version after "@" ("org/model@v2"), gives (name, None)."""
    at = model.find("@")
    while at >= 0:
        if _URL_LIKE.match(model[at + 1 :]):
            return model[:at], model[at + 1 :]
        at = model.find("@", at + 1)
    return model, None


def base_url_problem(url: str) -> str | None:
    """Why `url` cannot be a base URL (not http or https, no host, spaces), or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return f"{url!r} is not a URL (use {BASE_URL_FORMS})"
    if parts.scheme not in ("http", "https"):
        return f"{url!r} is not an http or https URL (use {BASE_URL_FORMS})"
    if not parts.hostname or any(c.isspace() for c in url):
        return f"{url!r} has no host (use {BASE_URL_FORMS})"
    return None


def env_base_url(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The provider's *_BASE_URL variable, when set; SpecError naming it when it is invalid."""
    var = BASE_URL_ENV.get(name)
    value = (os.environ if env is None else env).get(var or "") or None
    if value is not None and (problem := base_url_problem(value)):
        raise SpecError(f"{var}: {problem}")
    return value


def _check_base_url(name: str, model: str, spec: str) -> None:
    """Validate the "@URL" part of a model, if any (openai only)."""
    bare, url = split_model(model)
    if url is None:
        return
    if name not in BASE_URL_PROVIDERS:
        hint = f" (set {BASE_URL_ENV[name]} instead)" if name in BASE_URL_ENV else ""
        raise SpecError(f"a base URL in the spec is only for openai, not {name!r}{hint}")
    parts = urlsplit(url)
    if parts.username or parts.password:  # the spec is stored with the run: no secrets in it
        raise SpecError("put the key in OPENAI_API_KEY or `igentai keys set openai`, not the URL")
    if problem := base_url_problem(url):
        raise SpecError(f"invalid base URL in {spec!r}: {problem}")
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
