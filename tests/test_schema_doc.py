"""docs/schema.md and the real schema must agree, table by table and column by column."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from igentai_tui.store import MIGRATIONS, Store

DOC = Path(__file__).resolve().parent.parent / "docs" / "schema.md"


def documented() -> dict[str, dict[str, str]]:
    tables: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^## `(\w+)`", line):
            current = tables.setdefault(m.group(1), {})
        elif line.startswith("## "):
            current = None
        elif current is not None and line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if cells[0] != "column":
                current[cells[0]] = cells[1]
    return tables


def actual(path: Path) -> dict[str, dict[str, str]]:
    con = sqlite3.connect(path)
    names = [
        r[0]
        for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    out = {n: {r[1]: r[2] for r in con.execute(f"PRAGMA table_info({n})")} for n in names}
    con.close()
    return out


async def test_documented_schema_is_the_real_schema(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "db.sqlite")
    await store.close()
    assert documented() == actual(tmp_path / "db.sqlite")


def test_documented_migrations_are_the_real_ones() -> None:
    text = DOC.read_text(encoding="utf-8").split("## Migrations", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", text, re.MULTILINE)
    assert rows == [(str(n), m.name) for n, m in enumerate(MIGRATIONS, 1)]
