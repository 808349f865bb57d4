"""Settings and paths: where the database and the config file live (platformdirs)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "igentai"


def default_db_path() -> Path:
    """The database: $IGENTAI_DB, else igentai.db in the user data dir."""
    env = os.environ.get("IGENTAI_DB")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP, appauthor=False)) / "igentai.db"


def config_dir() -> Path:
    """The config folder: $IGENTAI_CONFIG_DIR, else the user config dir."""
    env = os.environ.get("IGENTAI_CONFIG_DIR")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP, appauthor=False))
