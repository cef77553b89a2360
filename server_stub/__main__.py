"""``agent-desktop-server``: the shared sync server for several Agent Desktop clients.

    agent-desktop-server [--host 127.0.0.1] [--port 8765]
                         [--database PATH | sqlite:///PATH | postgresql+psycopg://...]
                         [--seed-demo-users] [--seed-from STORE] [--snapshot-dir DIR]
                         [--calls-per-hour N] [--simulated-agents N]
                         [--wrap-up-policy optional|required|time_boxed] ...
    agent-desktop-server --verify-audit [--database ...]

Options fall back to AGENT_DESKTOP_SERVER_HOST / _PORT / _DATABASE, then to the defaults.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import platformdirs
from sqlalchemy.orm import Session

from server_stub.store import Role, create_schema, database_url, open_engine, seed_users

if TYPE_CHECKING:
    from server_stub.acd import AcdConfig

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEMO_PASSWORD = "demo"
DEMO_USERS: list[tuple[str, str, Role, str]] = [
    ("agent", "Dana Reyes", "agent", DEMO_PASSWORD),
    ("supervisor", "Sam Okafor", "supervisor", DEMO_PASSWORD),
]


def default_database() -> str:
    return str(platformdirs.user_data_path("agent-desktop-server") / "server.sqlite3")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


def build_parser() -> argparse.ArgumentParser:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="agent-desktop-server",
        description="The Agent Desktop sync server: login, push/pull sync, event stream.",
    )
    parser.add_argument(
        "--host",
        default=env.get("AGENT_DESKTOP_SERVER_HOST", DEFAULT_HOST),
        help="address to listen on (default %(default)s; env AGENT_DESKTOP_SERVER_HOST)",
    )
    parser.add_argument(
        "--port",
        type=_port,
        # A string default goes through type=_port too, so a bad env value is reported.
        default=env.get("AGENT_DESKTOP_SERVER_PORT", str(DEFAULT_PORT)),
        help="port to listen on (default %(default)s; env AGENT_DESKTOP_SERVER_PORT)",
    )
    parser.add_argument(
        "--database",
        default=env.get("AGENT_DESKTOP_SERVER_DATABASE", default_database()),
        help="a SQLite file path or SQLAlchemy URL, e.g. sqlite:///server.sqlite3 or "
        "postgresql+psycopg://user@host/db (default %(default)s; "
        "env AGENT_DESKTOP_SERVER_DATABASE)",
    )
    parser.add_argument(
        "--seed-from",
        metavar="STORE",
        help="load every customer and their history from an Agent Desktop store (e.g. one "
        "made by `agent-desktop demo-data`) into an empty server, and offer that store as "
        "the snapshot new desks download for their first sync",
    )
    parser.add_argument(
        "--snapshot-dir",
        metavar="DIR",
        help="where the snapshot for new desks is kept (default: beside a SQLite database; "
        "none for PostgreSQL unless given)",
    )
    parser.add_argument(
        "--order-step-seconds",
        type=float,
        default=120.0,
        help="how long the simulated back office takes for each step of an order "
        "(captured, submitted, approved, provisioning/shipped, completed; default "
        "%(default)s)",
    )
    parser.add_argument(
        "--calls-per-hour",
        type=float,
        default=120.0,
        help="simulated contact center: inbound calls an hour, all queues together "
        "(0: no calls arrive; default %(default)s)",
    )
    parser.add_argument(
        "--simulated-agents",
        type=int,
        default=12,
        help="how many of the synced agents nobody logs in as take calls by themselves "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--wrap-up-policy",
        choices=("optional", "required", "time_boxed"),
        default="required",
        help="after-call work: optional (the codes may be skipped), required (a wrap-up "
        "code and a contact reason), time_boxed (wrapped with --default-wrap-up-code "
        "after --acw-limit-seconds); default %(default)s",
    )
    parser.add_argument("--acw-limit-seconds", type=int, default=120,
                        help="time-boxed after-call work: seconds (default %(default)s)")
    parser.add_argument("--default-wrap-up-code", default="INFO-PROVIDED",
                        help="time-boxed after-call work: the code it closes with "
                        "(default %(default)s)")
    parser.add_argument("--patience-seconds", type=float, default=150.0,
                        help="callers' mean patience in the queue before they hang up "
                        "(default %(default)s)")
    parser.add_argument("--ring-seconds", type=float, default=20.0,
                        help="how long a call rings at an agent before it goes back to "
                        "the queue (default %(default)s)")
    parser.add_argument("--acd-seed", type=int, default=7,
                        help="the simulation's random seed (default %(default)s)")
    parser.add_argument(
        "--verify-audit",
        action="store_true",
        help="check the hash chain of the server's audit log (payments, voids, refunds, "
        "adjustments, approvals), print the first broken link if any, and exit "
        "(status 0: intact, 3: broken)",
    )
    parser.add_argument(
        "--seed-demo-users",
        action="store_true",
        help=f"create the demo users agent and supervisor (password {DEMO_PASSWORD!r}) "
        "if they do not exist",
    )
    return parser


def _shown(url: str) -> str:
    # Never print a database password.
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def seed(database: str, store: str, snapshot_dir: str | None) -> int:
    """Load ``store`` into the (empty) server; returns the change_seq it ends at."""
    from pathlib import Path

    from server_stub.snapshot import default_snapshot_dir, seed_from_store

    url = database_url(database)
    folder = Path(snapshot_dir) if snapshot_dir else default_snapshot_dir(url)
    engine = open_engine(url)
    try:
        return seed_from_store(engine, Path(store).expanduser(), folder)
    finally:
        engine.dispose()


def prepare(database: str, *, seed_demo_users: bool = False) -> list[str]:
    """Create the schema (and the demo users if asked); returns the demo users added."""
    url = database_url(database)
    if url.startswith("sqlite:///"):
        # A fresh machine: the default data folder may not exist yet.
        os.makedirs(os.path.dirname(url.removeprefix("sqlite:///")) or ".", exist_ok=True)
    engine = open_engine(url)
    try:
        create_schema(engine)
        if not seed_demo_users:
            return []
        with Session(engine) as session, session.begin():
            return seed_users(session, DEMO_USERS)
    finally:
        engine.dispose()


def verify_audit(database: str) -> int:
    """Walk the audit chain; print what was checked and the first broken link."""
    from server_stub import audit

    engine = open_engine(database_url(database))
    try:
        create_schema(engine)
        with Session(engine) as session:
            checked, broken = audit.verify(session)
    finally:
        engine.dispose()
    if broken is None:
        print(f"agent-desktop-server: audit log intact ({checked:,} rows checked)")
        return 0
    print(f"agent-desktop-server: audit log BROKEN at row {broken.seq}: {broken.why} "
          f"({checked:,} rows before it are intact)", file=sys.stderr)
    return 3


def acd_config(args: argparse.Namespace) -> AcdConfig:
    """The simulated contact center the command line asks for (ValueError: bad values)."""
    from agent_desktop.domain.calls import WrapUpMode, WrapUpPolicy
    from server_stub.acd import AcdConfig

    policy = WrapUpPolicy(WrapUpMode(args.wrap_up_policy), args.acw_limit_seconds,
                          args.default_wrap_up_code)
    return AcdConfig(calls_per_hour=args.calls_per_hour,
                     simulated_agents=args.simulated_agents,
                     patience_mean_seconds=args.patience_seconds,
                     ring_seconds=args.ring_seconds, wrap_up=policy, seed=args.acd_seed)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    url = database_url(args.database)
    if args.verify_audit:
        try:
            return verify_audit(url)
        except Exception as exc:
            print(f"agent-desktop-server: cannot open {_shown(url)}: {exc}", file=sys.stderr)
            return 2
    try:
        added = prepare(url, seed_demo_users=args.seed_demo_users)
        if args.seed_demo_users:
            for username, display_name, role, password in DEMO_USERS:
                state = "created" if username in added else "already there"
                print(
                    f"demo user {username!r} / password {password!r}: {display_name} "
                    f"({role}), {state}"
                )
        if args.seed_from:
            from server_stub.snapshot import SeedError

            try:
                seq = seed(url, args.seed_from, args.snapshot_dir)
            except SeedError as exc:
                print(f"agent-desktop-server: cannot seed from {args.seed_from}: {exc}",
                      file=sys.stderr)
                return 2
            print(f"agent-desktop-server: seeded from {args.seed_from} ({seq:,} rows)")
    except ModuleNotFoundError as exc:
        print(
            f"agent-desktop-server: the database driver is not installed ({exc.name}); for "
            "PostgreSQL: pip install 'psycopg[binary]'",
            file=sys.stderr,
        )
        return 2
    except Exception as exc:  # shown plainly: a bad URL or an unreachable database
        print(f"agent-desktop-server: cannot open {_shown(url)}: {exc}", file=sys.stderr)
        return 2

    # Imported here so --help stays fast.
    from server_stub.app import create_app
    from server_stub.serve import make_server

    print(f"agent-desktop-server: database {_shown(url)}")
    print(f"agent-desktop-server: listening on http://{args.host}:{args.port} (Ctrl+C stops)")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            "agent-desktop-server: note: plain HTTP; put it behind a TLS proxy before agents "
            "log in over a network."
        )
    from pathlib import Path

    snapshots: Path | Literal["default"] = (
        Path(args.snapshot_dir) if args.snapshot_dir else "default")
    from datetime import timedelta

    try:
        acd = acd_config(args)
    except ValueError as exc:
        print(f"agent-desktop-server: {exc}", file=sys.stderr)
        return 2
    app = create_app(url, snapshot_dir=snapshots, order_tick_seconds=5.0,
                     order_step=timedelta(seconds=args.order_step_seconds), acd=acd)
    server = make_server(app, args.host, args.port)
    # uvicorn re-raises Ctrl+C once it has shut down gracefully; that is a normal stop.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
