"""A private PostgreSQL cluster for one test (``initdb`` and ``pg_ctl`` from /usr/lib/postgresql/*/bin, run as
the ``postgres`` user), so a test may restart it without touching the machine's server."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.support.net import free_port


def _bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    assert found, f"PostgreSQL's {name} is not installed under /usr/lib/postgresql/*/bin"
    return str(found[-1])


def _as_postgres(*args: str, timeout: float = 120) -> None:
    result = subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True,
                            timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:2])} failed: {(result.stdout + result.stderr)[-1500:]}")


@dataclass(frozen=True)
class Cluster:
    data: Path
    port: int

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        _as_postgres(_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.data / "server.log"),
                     "-o", f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1", "-w", *args)

    def restart(self) -> None:
        """Down at once (``-m immediate``: no checkpoint, as a crash), then up again."""
        self.pg_ctl("restart", "-m", "immediate")


@contextmanager
def private_cluster() -> Iterator[Cluster]:
    data = Path(tempfile.mkdtemp(prefix="portal-pg-"))
    shutil.chown(data, "postgres", "postgres")
    cluster = Cluster(data / "data", free_port())
    try:
        _as_postgres(_bin("initdb"), "-D", str(cluster.data), "-A", "trust", "-U", "postgres", "--no-sync")
        cluster.pg_ctl("start")
        yield cluster
    finally:
        with suppress(RuntimeError):  # it never started
            cluster.pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(data, ignore_errors=True)
