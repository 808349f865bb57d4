"""docs/ci.md: the workflow's shell step, taken from the page as written, run with bash.

`igentai` is a stand-in on PATH that runs the real command (on sim: no key is set) and, when
FAKE_STATUS is set, then ends with that status instead of its own: so every exit status the
step handles is exercised, 0 and 2 for real.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "ci.md"


def workflow() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return text.split("```yaml\n", 1)[1].split("```", 1)[0].splitlines()


def run_step() -> tuple[dict[str, str], str]:
    """The "Run igentai" step: its plain (non-secret) env values, and its script."""
    lines = workflow()
    start = lines.index("      - name: Run igentai")
    at = next(i for i in range(start, len(lines)) if lines[i].strip() == "run: |")
    indent = len(lines[at]) - len(lines[at].lstrip())
    body = []
    for line in lines[at + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        body.append(line)
    env = {}
    for line in lines[start:at]:
        if m := re.match(r'^\s+([A-Z_]+): "([^"$]*)"', line):
            env[m.group(1)] = m.group(2)
    return env, textwrap.dedent("\n".join(body)) + "\n"


@pytest.fixture
def step(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The script in a file, and an environment: the doc's values, no keys, a stand-in igentai."""
    doc_env, script = run_step()
    assert {"TOPIC", "MAX_COST", "DURATION"} <= set(doc_env)
    (tmp_path / "step.sh").write_text(script, encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "igentai"
    stand_in.write_text(
        f'#!/bin/sh\n"{sys.executable}" -m igentai_tui "$@"\nstatus=$?\n'
        'exit "${FAKE_STATUS:-$status}"\n'
    )
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IXUSR)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_BASE_URL")) and not k.startswith("IGENTAI_")
    }
    env.update(doc_env)
    env.update({
        "PATH": f"{bin_dir}{os.pathsep}{os.path.dirname(sys.executable)}{os.pathsep}"
                f"{env.get('PATH', '')}",
        "IGENTAI_CONFIG_DIR": str(tmp_path / "config"),
        "DURATION": "1s",  # the doc's hour, shortened
    })  # fmt: skip
    return tmp_path, env


@pytest.mark.parametrize(
    ("case", "extra", "status", "annotation"),
    [
        ("stop condition", {}, 0, "::notice::"),
        ("bad input", {"MAX_COST": "0"}, 2, "::error::igentai: error: argument --max-cost"),
        ("run failed", {"FAKE_STATUS": "1"}, 1, "::error::the run failed: duration reached"),
        ("interrupted", {"FAKE_STATUS": "130"}, 0, "::warning::interrupted"),
        ("hung up", {"FAKE_STATUS": "129"}, 0, "::warning::interrupted"),
        ("crash", {"FAKE_STATUS": "3"}, 3, "::error::igentai ended with status 3"),
    ],
)
def test_the_ci_step_handles_each_exit_status(
    step: tuple[Path, dict[str, str]], case: str, extra: dict[str, str], status: int,
    annotation: str,
) -> None:  # fmt: skip
    tmp, env = step
    p = subprocess.run(["bash", "-e", "step.sh"], cwd=tmp, env={**env, **extra},
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert p.returncode == status, (case, p.stdout, p.stderr)
    assert annotation in p.stdout, (case, p.stdout)
    out = tmp / "out"
    assert (out / "progress.log").is_file() and (out / "summary.json").is_file()
    if case == "bad input":
        assert not (out / "igentai.db").exists()
        return
    assert "using sim" in (out / "progress.log").read_text(encoding="utf-8")
    assert (out / "igentai.db").stat().st_size and (out / "list.txt").read_text(encoding="utf-8")
    if case == "stop condition":
        assert re.search(r"::notice::\d+ entries; stopped: duration reached", p.stdout)
