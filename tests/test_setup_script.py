"""scripts/setup installs only when pyproject.toml or constraints.txt changed since the
last install: `scripts/serve` starts at once on a machine already set up."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

# Stands in for .venv/bin/python: notes each pip run it is asked for (pip itself is not
# what these tests are about) and answers the version check.
_PYTHON = """#!/usr/bin/env bash
echo "$*" >> "$(dirname "$0")/../../pip-runs"
"""


def project(tmp_path: Path, repo_root: Path) -> Path:
    """A copy of the project's set-up files, with a .venv whose python is the stub."""
    root = tmp_path / "project"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(repo_root / "scripts" / "setup", root / "scripts" / "setup")
    for name in ("pyproject.toml", "constraints.txt"):
        shutil.copy(repo_root / name, root / name)
    python = root / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(_PYTHON)
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    return root


def setup(root: Path, *extras: str) -> list[str]:
    """Runs scripts/setup; the pip runs it made."""
    runs = root / "pip-runs"
    runs.unlink(missing_ok=True)
    subprocess.run(
        ["bash", str(root / "scripts" / "setup"), *extras],
        check=True,
        capture_output=True,
    )
    return runs.read_text().splitlines() if runs.exists() else []


def test_setup_installs_once_and_again_only_when_the_dependencies_change(tmp_path, repo_root):
    root = project(tmp_path, repo_root)
    # a first set-up installs (pip, then the project with its extras)
    first = setup(root, "test")
    assert len(first) == 2 and first[1].endswith("-e .[test]"), first
    # a second one, and a plain one (the extras include the project), install nothing
    assert setup(root, "test") == []
    assert setup(root) == []
    # a changed constraint installs again
    with (root / "constraints.txt").open("a") as constraints:
        constraints.write("# a new pin\n")
    again = setup(root, "test")
    assert len(again) == 2 and again[1].endswith("-e .[test]"), again
    assert setup(root, "test") == []


def test_a_failed_install_is_tried_again_next_time(tmp_path, repo_root):
    root = project(tmp_path, repo_root)
    python = root / ".venv" / "bin" / "python"
    python.write_text(_PYTHON + "exit 1\n")
    runs = root / "pip-runs"
    failed = subprocess.run(
        ["bash", str(root / "scripts" / "setup")], capture_output=True, check=False
    )
    assert failed.returncode != 0
    assert runs.read_text().splitlines(), "pip was asked for"
    python.write_text(_PYTHON)
    assert len(setup(root)) == 2
