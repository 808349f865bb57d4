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
`check_files()` validates both files before a run: a problem is one line naming the file and
the key (exit 2); a file holding keys that others can read gets a one-line warning.
"""

from __future__ import annotations

import getpass
import json
import math
import os
import stat
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from igentai_tui.common.redact import register_secret
from igentai_tui.config import config_dir
from igentai_tui.providers.specs import KEY_ENV, base_url_problem

KEYS_FILE = "keys.json"
CONFIG_FILE = "config.toml"


SETTINGS = ("base_url", "timeout")  # what a [provider] table of config.toml may hold
TABLES = ("keys", *KEY_ENV, "prices")


class ConfigError(Exception):
    """keys.json or config.toml cannot be used: one line naming the file, the key and why."""


def keys_path() -> Path:
    return config_dir() / KEYS_FILE


def config_path() -> Path:
    return config_dir() / CONFIG_FILE


_warned: set[Path] = set()


def _warn_if_open(path: Path) -> None:
    """One line on stderr (once per file) when a file holding keys is readable by others."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO) and path not in _warned:
        _warned.add(path)
        print(
            f"igentai: warning: {path} holds API keys and can be read by other users; "
            f"fix it with: chmod 600 {path}",
            file=sys.stderr,
        )


def _read(path: Path) -> bytes | None:
    """The file's bytes, None when it does not exist; ConfigError when it cannot be read."""
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None


def _known(
    path: Path, where: str, name: str, known: Sequence[str], *, secret: bool = False
) -> None:
    if name not in known:
        # In a table of keys, a long unknown name may be a key typed in the wrong place.
        shown = f"of {len(name)} characters" if secret and len(name) > 16 else repr(name)
        raise ConfigError(f"{path}: {where}unknown key {shown} (known: {', '.join(known)})")


def _check_key(path: Path, where: str, provider: str, value: object) -> None:
    _known(path, where, provider, tuple(KEY_ENV), secret=True)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}: {where}{provider} must be the key as a non-empty string")


def _read_keys_file() -> dict[str, str]:
    """keys.json as provider -> key ({} when absent); ConfigError when it is malformed."""
    path = keys_path()
    raw = _read(path)
    if raw is None:
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ConfigError(f'{path}: expected a JSON object like {{"openai": "sk-..."}}')
    for provider, value in data.items():
        _check_key(path, "", provider, value)
    _warn_if_open(path)
    return data


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_config(path: Path, data: Mapping[str, Any]) -> None:
    """ConfigError naming the first unknown table or key, or value of the wrong type."""
    for name, table in data.items():
        _known(path, "", name, TABLES)
        if not isinstance(table, Mapping):
            raise ConfigError(f"{path}: {name} must be a table: [{name}]")
        where = f"[{name}] "
        for key, value in table.items():
            if name == "keys":
                _check_key(path, where, key, value)
            elif name == "prices":
                pair = value
                if isinstance(value, Mapping):
                    pair = [value.get("input"), value.get("output")]
                if (
                    not isinstance(pair, list)
                    or len(pair) != 2
                    or not all(_number(v) and v >= 0 for v in pair)
                ):
                    raise ConfigError(
                        f"{path}: {where}{key!r} must be [input, output] in USD per million "
                        "tokens, e.g. [0.15, 0.60]"
                    )
            else:
                _known(path, where, key, SETTINGS)
                if key == "timeout" and not (_number(value) and value > 0):
                    raise ConfigError(f"{path}: {where}timeout must be a number of seconds above 0")
                if key == "base_url" and not isinstance(value, str):
                    raise ConfigError(
                        f"{path}: {where}base_url must be an http(s) URL in quotes, "
                        'e.g. "http://localhost:11434/v1"'
                    )
                if key == "base_url" and (problem := base_url_problem(value)):
                    raise ConfigError(f"{path}: {where}base_url {problem}")


def load_config() -> dict[str, Any]:
    """config.toml as a dict ({} when absent); ConfigError when it is malformed."""
    path = config_path()
    raw = _read(path)
    if raw is None:
        return {}
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    _check_config(path, data)
    if data.get("keys"):
        _warn_if_open(path)
    return data


def check_files() -> None:
    """Validate keys.json and config.toml up front: ConfigError on the first problem."""
    if config_dir().exists() and not config_dir().is_dir():
        raise ConfigError(f"the config directory {config_dir()} is a file")
    _read_keys_file()
    load_config()


def _quiet_config() -> dict[str, Any]:
    """config.toml for key lookups, which never fail (check_files reports problems)."""
    try:
        return load_config()
    except ConfigError:
        return {}


def key_source(provider: str, env: Mapping[str, str] | None = None) -> str | None:
    """Where the key for `provider` comes from ("env OPENAI_API_KEY", a file), or None."""
    env = os.environ if env is None else env
    var = KEY_ENV.get(provider)
    if var and env.get(var):
        return f"env {var}"
    try:
        if _read_keys_file().get(provider):
            return str(keys_path())
    except ConfigError:
        pass
    table = _quiet_config().get("keys")
    if isinstance(table, Mapping) and isinstance(table.get(provider), str) and table[provider]:
        return str(config_path())
    return None


def get_key(provider: str, env: Mapping[str, str] | None = None) -> str | None:
    """The API key for `provider`: its env var, else keys.json, else config.toml [keys]."""
    env = os.environ if env is None else env
    var = KEY_ENV.get(provider)
    found = env.get(var) if var else None
    if not found:
        try:
            found = _read_keys_file().get(provider)
        except ConfigError:
            found = None
    if not found:
        table = _quiet_config().get("keys")
        found = table.get(provider) if isinstance(table, Mapping) else None
    if not isinstance(found, str) or not found.strip():
        return None
    register_secret(found.strip())  # scrubbed from every message from now on
    return found.strip()


def set_key(provider: str, value: str) -> Path:
    """Store `value` as the key for `provider` in keys.json (mode 0600); returns the path."""
    if provider not in KEY_ENV:
        raise ConfigError(f"unknown provider {provider!r} (known: {', '.join(KEY_ENV)})")
    value = value.strip()
    if not value:
        raise ConfigError("the key is empty")
    path = keys_path()
    data = _read_keys_file()
    data[provider] = value
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {path.parent}: {exc.strerror or exc}") from None
    tmp = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
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
    if args[:1] in (["-h"], ["--help"]):
        print(KEYS_USAGE, file=out)
        return 0
    cmd, rest = (args[0], args[1:]) if args else ("", [])
    try:
        if cmd == "list" and not rest:
            check_files()
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
                raise ConfigError(f"unknown provider {provider!r} (known: {', '.join(KEY_ENV)})")
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
    except ConfigError as exc:
        print(f"igentai: error: {exc}", file=err)
        return 2
    except (EOFError, KeyboardInterrupt):
        print("igentai: cancelled", file=err)
        return 2
    # The arguments are not echoed: a key typed after `set openai` must not reach a log.
    print(
        "igentai: error: usage: igentai keys list | set PROVIDER | unset PROVIDER | path "
        "(the key is read from stdin, never from the command line)",
        file=err,
    )
    return 2
