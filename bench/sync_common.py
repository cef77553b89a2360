"""What the sync benchmarks share: a real `agent-desktop-server` process on 127.0.0.1, a
throwaway PostgreSQL cluster, and plain HTTP helpers.

Every process started here is stopped by ``close()`` (and the context managers); the
server and the PostgreSQL postmaster also get a parent-death signal, so a benchmark that
is killed outright does not leave them running.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _die_with_parent(sig: int) -> None:
    """In a child before exec: get ``sig`` when the benchmark process dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)


def _stop(proc: subprocess.Popen[bytes], sig: int, timeout: float) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine spent busy so far (from /proc/stat)."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return (sum(parts[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# --- PostgreSQL ---------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin with initdb, or None when not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).resolve().parent if on_path else None


class PgCluster:
    """A throwaway PostgreSQL cluster in a temp dir on a free port (default settings).

    As root the cluster runs as the ``postgres`` OS user (initdb refuses root); otherwise
    as the current user. stop() shuts it down fast and deletes the directory.
    """

    def __init__(self) -> None:
        bindir = postgres_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed (no initdb found)")
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            self._user = pwd.getpwnam("postgres")
            os.chown(self.dir, self._user.pw_uid, self._user.pw_gid)

    def _preexec(self, death_signal: int | None) -> Callable[[], None]:
        user = self._user

        def demote() -> None:
            if user is not None:
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)
            if death_signal is not None:  # after setuid, which clears it
                _die_with_parent(death_signal)

        return demote

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/agent_desktop"

    def start(self) -> PgCluster:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> PgCluster:
        data = self.dir / "data"
        log = self.dir / "postgres.log"
        subprocess.run(
            [str(self.bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
             "-E", "UTF8", "--locale=C", "--no-sync"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=self._preexec(None), cwd=self.dir,
        )
        self.port = free_port()
        with open(log, "ab") as out:
            # SIGINT is PostgreSQL's fast shutdown.
            self.proc = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", str(data), "-p", str(self.port),
                 "-c", f"listen_addresses={HOST}", "-c", f"unix_socket_directories={self.dir}"],
                stdout=out, stderr=subprocess.STDOUT, preexec_fn=self._preexec(signal.SIGINT),
                cwd=self.dir,
            )
        import psycopg

        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {log.read_text()[-2000:]}")
            try:
                with psycopg.connect(host=HOST, port=self.port, user="postgres",
                                     dbname="postgres", autocommit=True) as conn:
                    conn.execute("CREATE DATABASE agent_desktop")
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        return self

    def settings(self, *names: str) -> dict[str, str]:
        import psycopg

        with psycopg.connect(host=HOST, port=self.port, user="postgres",
                             dbname="postgres") as conn:
            return {n: str(conn.execute(f"SHOW {n}").fetchone()[0])  # type: ignore[index]
                    for n in names}

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc, signal.SIGINT, 30)
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PgCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- the sync server ----------------------------------------------------------------------


def server_command() -> list[str]:
    script = Path(sys.executable).parent / "agent-desktop-server"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "server_stub"]


class ServerProcess:
    """`agent-desktop-server --host 127.0.0.1 --port N --database URL` in its own process;
    its output goes to ``log_path``."""

    def __init__(self, database_url: str, log_path: Path, extra: Sequence[str] = ()) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.extra = list(extra)
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60) -> ServerProcess:
        self.port = free_port()
        cmd = [*server_command(), "--host", HOST, "--port", str(self.port),
               "--database", self.database_url, *self.extra]
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                preexec_fn=lambda: _die_with_parent(signal.SIGTERM),
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log_tail()}")
            with contextlib.suppress(OSError):
                status, _ = request(self.port, "GET", "/v1/health")
                if status == 200:
                    return self
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {self.log_tail()}")
            time.sleep(0.1)

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc, signal.SIGINT, 20)  # uvicorn's graceful stop
            self.proc = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def request(port: int, method: str, path: str, body: Any = None,
            token: str | None = None, timeout: float = 30) -> tuple[int, Any]:
    """One plain HTTP request to the server; returns (status, decoded JSON or None)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, (json.loads(data) if data else None)
    finally:
        conn.close()


def login(port: int, username: str, password: str, client_id: str) -> str:
    status, body = request(port, "POST", "/v1/auth/login",
                           {"username": username, "password": password, "client_id": client_id})
    if status != 200:
        raise RuntimeError(f"login {username} failed: HTTP {status} {body}")
    return str(body["token"])


# --- choosing databases ---------------------------------------------------------------------


class Databases:
    """The server databases a benchmark runs against: ``sqlite`` (a fresh file in a temp
    dir), ``postgresql`` (a throwaway cluster, stopped after use), or a SQLAlchemy URL you
    manage (it should be empty)."""

    def __init__(self, spec: str) -> None:
        self.names = [s.strip() for s in spec.split(",") if s.strip()]
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
        self._count = 0

    @staticmethod
    def default() -> str:
        return "sqlite,postgresql" if postgres_bin() is not None else "sqlite"

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[tuple[str, str]]:
        """(label, SQLAlchemy URL) of a fresh database of kind ``name``."""
        self._count += 1
        if name == "sqlite":
            yield "SQLite", f"sqlite:///{self.tmp / f'server-{self._count}.sqlite3'}"
        elif name in ("postgresql", "postgres", "pg"):
            with PgCluster() as cluster:
                version = cluster.settings("server_version")["server_version"].split()[0]
                yield f"PostgreSQL {version}", cluster.url
        else:
            yield name.split(":", 1)[0], name

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> Databases:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def on_signal_exit() -> None:
    """Turn SIGTERM/SIGHUP into SystemExit so ``finally`` blocks stop what was started."""
    def bail(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, bail)
