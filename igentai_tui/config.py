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


DB_SIDE_FILES = ("-wal", "-shm", "-journal", ".locks")
"""Files SQLite (and igentai's run lock) keep beside a database: `igentai.db-wal`, ..."""


def same_file(a: Path, b: Path) -> bool:
    """Whether `a` and `b` name one file, by whatever route: a relative path, a symlink, a hard
    link (or, for files not made yet, the same absolute path)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return a.expanduser().resolve() == b.expanduser().resolve()


def database_file(path: Path, db: Path) -> Path | None:
    """The file of database `db` (it, or a file SQLite or igentai keeps beside it) that `path`
    names, else None."""
    sides = [db.with_name(db.name + side) for side in DB_SIDE_FILES] if db.name else []
    return next((own for own in (db, *sides) if same_file(path, own)), None)
