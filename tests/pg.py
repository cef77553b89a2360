"""A throwaway PostgreSQL cluster for the tests: initdb into a temp dir, loopback only.

    cluster = PostgresCluster.find_and_start()   # None when PostgreSQL is not installed
    name, url = cluster.take_database()          # postgresql+psycopg://postgres@127.0.0.1:P/..
    cluster.return_database(name)                # emptied (connections cut), for the next
    cluster.stop()

The server listens on 127.0.0.1 on a free port (TCP) and puts its unix sockets in the temp
dir, so it never collides with a system cluster. PostgreSQL refuses to run as root, so
when the tests run as root (CI) initdb and pg_ctl run as the ``postgres`` OS user (the
Debian package creates it) and the temp dir is handed to that user. Durability is
switched off (fsync, synchronous_commit): the data lives only as long as the test session.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import psycopg
from psycopg import sql

SUPERUSER = "postgres"
START_TIMEOUT_SECONDS = 60


def find_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin with initdb and pg_ctl (Debian's
    layout), else the folder of an initdb on PATH; None when PostgreSQL is not installed."""

    def version(path: str) -> tuple[int, ...]:
        name = Path(path).parent.name
        return tuple(int(p) for p in name.split(".") if p.isdigit())

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    for folder in candidates:
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresClusterError(RuntimeError):
    pass


def _temp_parent() -> str | None:
    """Where the cluster's temp dir goes: the usual temp dir, unless we are root and the
    postgres user could not get into it (a TMPDIR inside root's home): then /tmp."""
    parent = Path(tempfile.gettempdir()).resolve()
    if os.geteuid() != 0:
        return None
    for folder in (parent, *parent.parents):
        if not folder.stat().st_mode & 0o001:  # others may not traverse it
            return "/tmp"
    return None


class PostgresCluster:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="agent-desktop-pg-", dir=_temp_parent()))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self.port = 0
        self.running = False
        self._made: set[str] = set()
        self._free: list[str] = []
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresClusterError(
                    "running as root, and there is no 'postgres' OS user to run PostgreSQL as"
                ) from None
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]

    @classmethod
    def find_and_start(cls) -> PostgresCluster | None:
        bindir = find_bindir()
        if bindir is None:
            return None
        cluster = cls(bindir)
        try:
            cluster.start()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _run(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        # cwd: the postgres user may not be allowed into the caller's working directory.
        done = subprocess.run(
            [*self._as_user, *args], cwd=self.base, capture_output=True, text=True,
            timeout=START_TIMEOUT_SECONDS, check=False,
        )
        if done.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise PostgresClusterError(
                f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
                f"\n{log[-2000:]}"
            )
        return done

    def start(self) -> None:
        self._run([
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
            "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync",
        ])
        # A free port can be taken between finding it and binding it: try a few.
        for attempt in range(5):
            self.port = _free_port()
            options = " ".join([
                "-c listen_addresses=127.0.0.1", f"-p {self.port}",
                f"-c unix_socket_directories={self.base}",
                "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
                "-c max_connections=200",
            ])
            try:
                self._run([
                    str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                    "-o", options, "-w", "-t", str(START_TIMEOUT_SECONDS), "start",
                ])
            except PostgresClusterError:
                if attempt == 4:
                    raise
                continue
            self.running = True
            return

    def stop(self) -> None:
        """Stop the server (fast: open connections are cut) and remove the temp dir."""
        if self.running:
            self.running = False
            for mode in ("fast", "immediate"):  # immediate only if fast did not stop it
                with contextlib.suppress(PostgresClusterError, subprocess.TimeoutExpired):
                    self._run([
                        str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w",
                        "stop",
                    ])
                    break
        shutil.rmtree(self.base, ignore_errors=True)

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres",
            autocommit=True,
        )

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its SQLAlchemy URL."""
        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def disconnect(self, name: str) -> int:
        """Cut every connection to database ``name``; returns how many there were."""
        with self._admin() as conn:
            row = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()", (name,)
            ).fetchone()
        return int(row[0]) if row else 0

    def empty_database(self, name: str) -> None:
        """Make ``name`` as new: cut its connections, drop everything in it."""
        self.disconnect(name)
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=name, autocommit=True
        ) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
            conn.execute("GRANT ALL ON SCHEMA public TO public")

    def take_database(self) -> tuple[str, str]:
        """An empty database for one test, as (name, SQLAlchemy URL); give it back with
        ``return_database``. Emptied databases are reused: creating one per test leaves
        a shutdown checkpoint that writes every copy, and DROP DATABASE checkpoints too
        (about a second each)."""
        name = self._free.pop() if self._free else f"test_{len(self._made)}"
        if name not in self._made:
            self.create_database(name)
            self._made.add(name)
        return name, self.url(name)

    def return_database(self, name: str) -> None:
        self.empty_database(name)
        self._free.append(name)
