"""A PostgreSQL cluster of a test's own (initdb in a temp dir, its own port), so that the
test can stop and start it without touching the shared service."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.live import free_port


def _binary(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise RuntimeError(f"{name} not found: install PostgreSQL (scripts/services does)")
    return found


class PostgresCluster:
    """initdb'd on creation; `start()` and `stop()` as often as a test likes."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        self._dir = Path(tempfile.mkdtemp(prefix="pgcluster-"))
        self._data = self._dir / "data"
        # PostgreSQL refuses to run as root: as root, the cluster belongs to `postgres`.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self._dir, "postgres")
        self._run(_binary("initdb"), "-D", str(self._data), "-U", "postgres", "--auth=trust", "-N")

    def _run(self, *argv: str) -> None:
        subprocess.run(
            [*self._as, *argv], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self._dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(_binary("pg_ctl"), "-D", str(self._data), "-o", options, "-w", "start")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("the private PostgreSQL cluster did not start")

    def stop(self) -> None:
        self._run(_binary("pg_ctl"), "-D", str(self._data), "-m", "fast", "-w", "stop")

    def cleanup(self) -> None:
        subprocess.run(
            [*self._as, _binary("pg_ctl"), "-D", str(self._data), "-m", "immediate", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(self._dir, ignore_errors=True)


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.cleanup()
