"""The `funnelgraph` command, run as a subprocess like a user would."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from models import User
from tests.factories import gid

FUNNELGRAPH = str(Path(sys.executable).with_name("funnelgraph"))
SETTINGS_VARIABLES = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "FUNNELGRAPH_ENV")
LOGIN = """
mutation { login(email: "lan@example.com", password: "s3cret-pass") { token user { id } } }
"""


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    return subprocess.run(
        [FUNNELGRAPH, *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_create_user_prints_the_id_of_a_user_who_can_log_in(api, database_url, tmp_path):
    # when
    done = run(
        "create-user",
        "--email",
        "lan@example.com",
        "--name",
        "Lan",
        "--password",
        "s3cret-pass",
        "--permission",
        "VIEW_ALL",
        "--permission",
        "CAMPAIGN_CREATE",
        cwd=tmp_path,
        DATABASE_URL=database_url,
    )
    # then
    assert done.returncode == 0, done.stderr
    user = await User.get(email="lan@example.com")
    assert done.stdout.strip() == gid("User", user)
    assert user.permission_names == ["CAMPAIGN_CREATE", "VIEW_ALL"]
    login = (await api.execute(LOGIN)).ok()
    assert login["login"]["user"]["id"] == gid("User", user)


async def test_create_user_refuses_a_duplicate_email_clearly(api, database_url, tmp_path):
    args = ("create-user", "--email", "lan@example.com", "--name", "Lan", "--password", "pw-123456")
    assert run(*args, cwd=tmp_path, DATABASE_URL=database_url).returncode == 0
    again = run(*args, cwd=tmp_path, DATABASE_URL=database_url)
    assert again.returncode == 2
    assert "already exists" in again.stderr and "lan@example.com" in again.stderr
    assert await User.filter(email="lan@example.com").count() == 1


def test_create_user_refuses_an_unknown_permission(tmp_path):
    done = run(
        "create-user",
        "--email",
        "x@example.com",
        "--name",
        "X",
        "--password",
        "pw-123456",
        "--permission",
        "GOD_MODE",
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "GOD_MODE" in done.stderr and "VIEW_ALL" in done.stderr


def test_export_schema_matches_the_committed_snapshot(repo_root, tmp_path):
    # A change to the served API must be deliberate: re-export the snapshot with
    # `funnelgraph export-schema > schema/schema.graphql` and review the diff.
    done = run("export-schema", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    snapshot = (repo_root / "schema" / "schema.graphql").read_text()
    assert done.stdout == snapshot, "schema changed: re-export schema/schema.graphql"


def test_production_without_secret_key_stops_with_a_message(tmp_path):
    done = run("migrate", cwd=tmp_path, FUNNELGRAPH_ENV="production")
    assert done.returncode == 2
    assert "SECRET_KEY must be set" in done.stderr


def test_migrate_creates_the_schema_on_a_fresh_sqlite_file(tmp_path):
    url = f"sqlite://{tmp_path / 'fresh.sqlite3'}"
    done = run("migrate", cwd=tmp_path, DATABASE_URL=url)
    assert done.returncode == 0, done.stderr
    again = run("migrate", cwd=tmp_path, DATABASE_URL=url)
    assert again.returncode == 0, again.stderr
    created = run(
        "create-user",
        "--email",
        "a@example.com",
        "--name",
        "A",
        "--password",
        "pw-123456",
        cwd=tmp_path,
        DATABASE_URL=url,
    )
    assert created.returncode == 0, created.stderr


@contextmanager
def serving(cwd: Path, **env: str) -> Iterator[str]:
    """A `funnelgraph serve` process; yields its base URL, stops it on exit."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    with subprocess.Popen(
        [FUNNELGRAPH, "serve", "--port", str(port)],
        cwd=cwd,
        env={**clean, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as server:
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_for(f"{base}/healthz", server)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=20)


def test_serve_with_nothing_configured_runs_on_sqlite(tmp_path):
    # given an empty directory and no settings at all
    with serving(tmp_path) as base:
        # when a user is created and signs in
        created = run(
            "create-user",
            "--email",
            "lan@example.com",
            "--name",
            "Lan",
            "--password",
            "s3cret-pass",
            cwd=tmp_path,
        )
        assert created.returncode == 0, created.stderr
        login = httpx.post(f"{base}/graphql", json={"query": LOGIN}).json()
        token = login["data"]["login"]["token"]
        me = httpx.post(
            f"{base}/graphql",
            json={"query": "{ me { name } }"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        ready = httpx.get(f"{base}/readyz")
        # then
        assert me == {"data": {"me": {"name": "Lan"}}}
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": True}
        assert (tmp_path / "funnelgraph.sqlite3").exists()
        assert httpx.get(f"{base}/graphql", headers={"Accept": "text/html"}).status_code == 200


def test_seed_demo_prints_logins_that_work_and_fills_boards(tmp_path):
    url = f"sqlite://{tmp_path / 'demo.sqlite3'}"
    done = run("seed-demo", cwd=tmp_path, DATABASE_URL=url)
    assert done.returncode == 0, done.stderr
    logins = [line for line in done.stdout.splitlines() if line.startswith("sign in as")]
    assert len(logins) >= 2
    email, password = logins[0].removeprefix("sign in as ").split(" / ")
    with serving(tmp_path, DATABASE_URL=url) as base:
        query = f'mutation {{ login(email: "{email}", password: "{password}") {{ token }} }}'
        token = httpx.post(f"{base}/graphql", json={"query": query}).json()["data"]["login"]
        board = httpx.post(
            f"{base}/graphql",
            json={
                "query": "{ campaigns { totalCount edges { node { "
                "stages { opportunityCount } } } } }"
            },
            headers={"Authorization": f"Bearer {token['token']}"},
        ).json()["data"]["campaigns"]
        assert board["totalCount"] == 2
        for edge in board["edges"]:
            filled = [s for s in edge["node"]["stages"] if s["opportunityCount"] > 0]
            assert len(filled) >= 2


def _wait_for(url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"server exited early: {server.stderr.read() if server.stderr else ''}")
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"{url} did not answer within 30 s")


def _low_soft_open_files_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))


def test_serve_raises_its_open_files_limit_to_the_hard_one(tmp_path):
    # given a shell that starts the server with a low soft limit on open files
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    with subprocess.Popen(
        [FUNNELGRAPH, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=clean,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_low_soft_open_files_limit,
    ) as server:
        try:
            _wait_for(f"http://127.0.0.1:{port}/healthz", server)
            # when it runs, then each websocket may have a descriptor, up to the hard limit
            soft, hard = resource.prlimit(server.pid, resource.RLIMIT_NOFILE)
        finally:
            server.terminate()
            server.wait(timeout=20)
    assert soft == min(hard, 1_048_576) > 256
