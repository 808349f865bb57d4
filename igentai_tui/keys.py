"""API keys and provider settings: the environment first, then files in the user config dir.

- `keys.json` (written by `igentai keys set PROVIDER`, mode 0600): {"openai": "sk-..."}.
- `config.toml` (written by hand), all tables optional:

      [keys]                       # same as keys.json, if you prefer one file
      openai = "sk-..."
      [openai]                     # per-provider settings
      base_url = "http://localhost:11434/v1"
      timeout = 120
      [prices]                     # USD per million tokens, input and output
      "gpt-4o-mini" = [0.15, 0.60]

A key is only ever returned to the provider that uses it: never printed, logged or stored.
"""

from __future__ import annotations

import getpass
import json
import os
import stat
import sys
import tomllib
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from igentai_tui.config import config_dir
from igentai_tui.providers import KEY_ENV

KEYS_FILE = "keys.json"
CONFIG_FILE = "config.toml"


class KeyFileError(Exception):
    """The keys file cannot be read or written; the message says which file and why."""


def keys_path() -> Path:
    return config_dir() / KEYS_FILE


def config_path() -> Path:
    return config_dir() / CONFIG_FILE


def _warn_if_open(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        warnings.warn(
            f"{path} can be read by other users; fix it with: chmod 600 {path}",
            stacklevel=3,
        )


def _read_keys_file() -> dict[str, str]:
    path = keys_path()
    if not path.exists():
        return {}
    _warn_if_open(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"cannot read {path}: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise KeyFileError(f"{path} is not a JSON object of provider -> key")
    return {str(k): v for k, v in data.items() if isinstance(v, str) and v}


def load_config() -> dict[str, Any]:
    """config.toml as a dict ({} when absent or unreadable)."""
    path = config_path()
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        warnings.warn(f"ignoring {path}: {exc}", stacklevel=2)
        return {}


def provider_settings(provider: str) -> dict[str, Any]:
    """The `[provider]` table of config.toml (e.g. base_url, timeout); {} when absent."""
    table = load_config().get(provider)
    return dict(table) if isinstance(table, Mapping) else {}


def key_source(provider: str, env: Mapping[str, str] | None = None) -> str | None:
    """Where the key for `provider` comes from ("env OPENAI_API_KEY", a file), or None."""
    env = os.environ if env is None else env
    var = KEY_ENV.get(provider)
    if var and env.get(var):
        return f"env {var}"
    try:
        if _read_keys_file().get(provider):
            return str(keys_path())
    except KeyFileError:
        pass
    table = load_config().get("keys")
    if isinstance(table, Mapping) and isinstance(table.get(provider), str) and table[provider]:
        return str(config_path())
    return None


def get_key(provider: str, env: Mapping[str, str] | None = None) -> str | None:
    """The API key for `provider`: its env var, else keys.json, else config.toml [keys]."""
    env = os.environ if env is None else env
    var = KEY_ENV.get(provider)
    if var and env.get(var):
        return env[var].strip()
    try:
        found = _read_keys_file().get(provider)
    except KeyFileError:
        found = None
    if found:
        return found.strip()
    table = load_config().get("keys")
    if isinstance(table, Mapping):
        value = table.get(provider)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def set_key(provider: str, value: str) -> Path:
    """Store `value` as the key for `provider` in keys.json (mode 0600); returns the path."""
    if provider not in KEY_ENV:
        raise KeyFileError(f"unknown provider {provider!r} (known: {', '.join(KEY_ENV)})")
    value = value.strip()
    if not value:
        raise KeyFileError("the key is empty")
    path = keys_path()
    data = _read_keys_file()
    data[provider] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        raise KeyFileError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def delete_key(provider: str) -> bool:
    """Remove the stored key for `provider` from keys.json; True if there was one."""
    data = _read_keys_file()
    if provider not in data:
        return False
    del data[provider]
    path = keys_path()
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
    return True


def list_keys(env: Mapping[str, str] | None = None) -> list[str]:
    """Names of the providers that have a key (never the keys themselves)."""
    return [p for p in KEY_ENV if key_source(p, env) is not None]


KEYS_USAGE = """usage: igentai keys list
       igentai keys set PROVIDER     (prompts for the key; or pipe it on stdin)
       igentai keys unset PROVIDER
       igentai keys path"""


def keys_command(
    argv: Sequence[str],
    *,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """`igentai keys ...`: returns the exit status (0 ok, 2 usage or file error)."""
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    err = err or sys.stderr
    args = list(argv)
    if not args or args[0] in ("-h", "--help"):
        print(KEYS_USAGE, file=out if args else err)
        return 0 if args else 2
    cmd, rest = args[0], args[1:]
    try:
        if cmd == "list" and not rest:
            for provider in KEY_ENV:
                source = key_source(provider)
                where = f"set ({source})" if source else f"not set (set {KEY_ENV[provider]})"
                print(f"{provider:<10} {where}", file=out)
            return 0
        if cmd == "path" and not rest:
            print(keys_path(), file=out)
            return 0
        if cmd in ("set", "unset") and len(rest) == 1:
            provider = rest[0].strip().lower()
            if provider not in KEY_ENV:
                print(
                    f"igentai: error: unknown provider {provider!r} (known: {', '.join(KEY_ENV)})",
                    file=err,
                )
                return 2
            if cmd == "unset":
                removed = delete_key(provider)
                print(f"{provider}: {'removed' if removed else 'no stored key'}", file=out)
                return 0
            if stdin.isatty():
                value = getpass.getpass(f"{provider} API key (input hidden): ")
            else:
                value = stdin.readline()
            path = set_key(provider, value)
            print(f"{provider}: key stored in {path} (mode 0600)", file=out)
            if os.environ.get(KEY_ENV[provider]):
                print(
                    f"note: {KEY_ENV[provider]} is set in the environment and takes precedence",
                    file=out,
                )
            return 0
    except KeyFileError as exc:
        print(f"igentai: error: {exc}", file=err)
        return 2
    except (EOFError, KeyboardInterrupt):
        print("igentai: cancelled", file=err)
        return 2
    print(KEYS_USAGE, file=err)
    return 2
