"""The README's "Try it" block, pasted as it stands into a shell at the top of a checkout
that is set up: it starts the server, creates the admin, signs in and asks who it is."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from tests.live import SETTINGS_VARIABLES

PORT = 8000  # the block's own
DEMO_LOGIN = (
    'mutation { login(email: "manager@demo.funnelgraph.dev", password: "demo-password") '
    "{ user { name } } }"
)


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _wait_until_closed(port: int) -> None:
    """Until the server the block started has let go of its port (for the next run)."""
    deadline = time.monotonic() + 15
    while _port_taken(port) and time.monotonic() < deadline:
        time.sleep(0.1)


def try_it_block(readme: str) -> str:
    section = readme.split("\n## Try it\n", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert found, "the Try it section has a sh block"
    return found.group(1)


def checkout(tmp_path: Path, repo_root: Path) -> Path:
    """The checkout's files, linked into a directory of the test's own (the server's
    SQLite file and its secret go there), with the installed .venv."""
    root = tmp_path / "checkout"
    root.mkdir()
    for name in ("scripts", "pyproject.toml", "requirements", ".venv"):
        (root / name).symlink_to(repo_root / name)
    return root


def test_the_readme_try_it_block_works_pasted_as_it_stands(tmp_path, repo_root):
    assert not _port_taken(PORT), f"port {PORT}, which the README's block uses, is taken here"
    # The checkout itself up to date first (it is, after scripts/test): the block's own
    # set-up must find nothing to install, or it would install the linked copy instead.
    subprocess.run(["bash", "scripts/setup"], cwd=repo_root, check=True, capture_output=True)
    root = checkout(tmp_path, repo_root)
    block = try_it_block((repo_root / "README.md").read_text())
    environment = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    # Its output into files: the server it leaves running holds them open. And a session
    # of its own, so that the server goes when the test is done.
    out, err = tmp_path / "out", tmp_path / "err"
    with out.open("w") as stdout, err.open("w") as stderr:
        shell = subprocess.Popen(
            ["bash", "-c", block],
            cwd=root,
            env=environment,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        shell.wait(timeout=120)
        # and the browser client it points to is served, the demo manager signing in
        page = httpx.get(f"http://127.0.0.1:{PORT}/app/")
        signed_in = httpx.post(
            f"http://127.0.0.1:{PORT}/graphql",
            json={"query": DEMO_LOGIN},
        ).json()
    finally:
        os.killpg(shell.pid, signal.SIGTERM)
        _wait_until_closed(PORT)
    assert shell.returncode == 0, err.read_text()
    answer = json.loads(out.read_text().strip().splitlines()[-1])
    assert answer["data"]["me"]["name"] == "Admin", err.read_text()
    assert answer["data"]["me"]["email"] == "admin@example.com"
    assert "CAMPAIGN_CREATE" in answer["data"]["me"]["permissions"]
    assert answer["data"]["campaigns"] == {"totalCount": 0}
    assert (root / "funnelgraph.sqlite3").exists(), "the server's data stays in the checkout"
    assert page.status_code == 200 and '<script type="module" src="app.js">' in page.text
    assert signed_in["data"]["login"]["user"]["name"], signed_in
