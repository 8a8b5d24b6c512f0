"""scripts/setup installs from the hashed lock, and only when pyproject.toml or the lock
changed since the last install: `scripts/serve` starts at once on a machine already set
up. scripts/lock --check fails CI when the locks were made from other dependencies."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

# Stands in for .venv/bin/python: notes each pip run it is asked for (pip itself is not
# what these tests are about).
_PYTHON = """#!/usr/bin/env bash
echo "$*" >> "$(dirname "$0")/../../pip-runs"
"""


def project(tmp_path: Path, repo_root: Path, *, venv: bool = True) -> Path:
    """A copy of the project's set-up files; with a .venv whose python is the stub."""
    root = tmp_path / "project"
    shutil.copytree(repo_root / "scripts", root / "scripts")
    shutil.copytree(repo_root / "requirements", root / "requirements")
    shutil.copy(repo_root / "pyproject.toml", root / "pyproject.toml")
    if venv:
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
        ["bash", str(root / "scripts" / "setup"), *extras], check=True, capture_output=True
    )
    return runs.read_text().splitlines() if runs.exists() else []


def test_setup_installs_the_lock_once_and_again_only_when_it_changes(tmp_path, repo_root):
    root = project(tmp_path, repo_root)
    # a first set-up installs the test lock, every file checked, then the project
    first = setup(root, "test")
    assert len(first) == 3, first
    assert first[1].endswith("--require-hashes -r requirements/test.lock"), first
    assert first[2].endswith("--no-deps -e ."), first
    # a second one, and a plain one (the test extras include the project), install nothing
    assert setup(root, "test") == []
    assert setup(root) == []
    # a changed lock installs again
    with (root / "requirements" / "test.lock").open("a") as lock:
        lock.write("# made again\n")
    assert len(setup(root, "test")) == 3
    assert setup(root, "test") == []


def test_a_failed_install_is_tried_again_next_time(tmp_path, repo_root):
    root = project(tmp_path, repo_root)
    python = root / ".venv" / "bin" / "python"
    python.write_text(_PYTHON + "exit 1\n")
    failed = subprocess.run(
        ["bash", str(root / "scripts" / "setup")], capture_output=True, check=False
    )
    assert failed.returncode != 0
    assert (root / "pip-runs").read_text().splitlines(), "pip was asked for"
    python.write_text(_PYTHON)
    assert len(setup(root)) == 3


def test_the_lock_check_fails_once_pyproject_dependencies_change(tmp_path, repo_root):
    root = project(tmp_path, repo_root, venv=False)
    check = ["bash", str(root / "scripts" / "lock"), "--check"]
    assert subprocess.run(check, capture_output=True, check=False).returncode == 0
    # a comment or a reformatted line is no change of dependencies
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace('"redis>=5",', '"redis>=5",  # pub/sub'))
    assert subprocess.run(check, capture_output=True, check=False).returncode == 0
    # a new bound is
    pyproject.write_text(text.replace('"redis>=5",', '"redis>=5,<9",'))
    refused = subprocess.run(check, capture_output=True, text=True, check=False)
    assert refused.returncode == 1
    assert "run scripts/lock" in refused.stderr
