"""A throwaway PostgreSQL server for the test session: initdb into a temporary folder, start it on a free
port (TCP on 127.0.0.1 and a socket in that folder), one fresh database per test, stop and delete it at the end.

root may not run initdb or postgres: as root the server runs as the `postgres` OS user (runuser).
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SKIP_REASON = "PostgreSQL not installed: the PostgreSQL store tests were skipped"
REQUIRED_ENV = "HAILUO_TEST_POSTGRES"
PASSWORD_USER, PASSWORD = "hailuo_pw", "right-secret-pw"


def find_bin() -> Path | None:
    """The folder holding initdb, pg_ctl and psql: $PATH first, then the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent  # /usr/local/bin/initdb may be a link into the real bin folder
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    return Path(versions[-1]).parent if versions else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One server; `new_database()` hands out an empty database's URL."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="hailuo-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._names = itertools.count(1)
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        program = self.bindir / args[0]
        cmd = [str(program if program.exists() else shutil.which(args[0]) or program), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if result.returncode != 0:
            log = (self.root / "server.log").read_text() if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr}{result.stdout}\n{log}")
        return result

    def start(self) -> PostgresServer:
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale",
                  "--no-sync")
        # The superuser comes in without a password; every other user over TCP must give one.
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "host all postgres 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w",
                  "-t", "60", "start")
        self.sql(f"CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD '{PASSWORD}'")
        return self

    def sql(self, statement: str) -> None:
        """Run one statement as the superuser (over the socket)."""
        self._run("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.root), "-p", str(self.port),
                  "-U", "postgres", "-d", "postgres", "-c", statement)

    def url(self, database: str, user: str = "postgres", password: str | None = None) -> str:
        auth = f"{user}:{password}" if password is not None else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def new_database(self, owner: str = "postgres") -> str:
        """A new, empty database; its URL."""
        name = f"test_{next(self._names)}"
        self.sql(f"CREATE DATABASE {name} OWNER {owner}")
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
