"""Push throughput and latency: many agents pushing notes to one real sync server.

    python bench/sync_push.py [--db sqlite,postgresql] [--agents 200] [--rate 1000,2000]
                              [--seconds 20] [--quick] [--direct-sessions]

For each database (a fresh SQLite file; a throwaway PostgreSQL cluster started here when
PostgreSQL is installed; or a URL you pass) it starts a real `agent-desktop-server` process
on 127.0.0.1, creates ``--agents`` users, logs each in with its own client id, and runs the
agents from ``--procs`` load processes. Each agent is one keep-alive HTTP/1.1 connection
(raw asyncio streams: the load generator must not be the bottleneck) that pushes batches
of 1-5 ``add_note`` mutations with consecutive mutation ids, one push in flight at a time.

Phases, after a short warm-up:
- paced, once per ``--rate``: together the agents offer that many mutations per second
  (each agent sends its next batch on a schedule). Latency is taken from the moment a
  push was due, so a slow answer that delays the next push is counted too (no
  coordinated omission).
- as fast as they can: each agent sends its next push as soon as the answer arrives; the
  server's ceiling. Latency there is mostly queueing (200 pushes always waiting).

The server is the console script as shipped (access log on); the database holds only what
the run writes. Every answer is checked (HTTP 200, every mutation "applied", last_mutation_id as
expected); at the end the server's store must hold exactly one note per applied mutation.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import random
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import percentile
from bench.sync_common import (
    HOST,
    Databases,
    ServerProcess,
    cpu_seconds,
    login,
    machine_busy_seconds,
    on_signal_exit,
)

PASSWORD = "bench-password-1"
MIN_BATCH, MAX_BATCH = 1, 5
WARMUP_SECONDS = 3.0
GAP_SECONDS = 1.5
RESPONSE_TIMEOUT = 30.0

SENTENCES = [
    "Customer called about the last bill; explained the prorated charge.",
    "Asked for paper bills from next month on.",
    "Promised to pay the overdue balance on Friday.",
    "Reported slow internet in the evenings; ran a line test, no fault found.",
    "Wants to move the fibre plan to the new address on the 1st.",
    "Late fee waived once, as a courtesy; told them it will not be repeated.",
    "Card on file expired; customer will update it in the app.",
    "Interested in the family mobile bundle; sent the offer by e-mail.",
    "Complained about the wait time in the queue.",
    "Verified identity with the account PIN.",
    "Technician visit booked for Tuesday morning.",
    "Disputes the roaming charges from the trip to Spain; case opened.",
]


def note_body(rng: random.Random) -> str:
    return " ".join(rng.sample(SENTENCES, rng.randint(1, 3)))


def hex_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


# --- the load processes ---------------------------------------------------------------------


@dataclass
class PhaseStats:
    due_ms: list[float] = field(default_factory=list)  # from when the push was due
    service_ms: list[float] = field(default_factory=list)  # from when it was sent
    pushes: int = 0  # answered within the phase
    mutations: int = 0  # applied, answered within the phase
    errors: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Phase:
    name: str
    start: float  # time.monotonic(), shared by every process on the machine
    end: float
    rate: float | None  # mutations/s offered by all agents together; None = closed loop
    record: bool = True


class Agent:
    def __init__(self, token: str, client_id: str, agent_id: str, port: int,
                 rng: random.Random, customers: list[str]) -> None:
        self.client_id = client_id
        self.agent_id = agent_id
        self.port = port
        self.rng = rng
        self.customers = customers
        self.last_id = 0  # the last mutation id the server acknowledged
        self.head = (
            f"POST /v1/sync/push HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            "Content-Length: "
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    def batch(self, n: int) -> bytes:
        now = datetime.now(UTC).isoformat()
        rng = self.rng
        mutations = [{
            "mutation_id": self.last_id + k + 1, "id": hex_id(rng), "name": "add_note",
            "args": {"id": hex_id(rng), "customer_id": rng.choice(self.customers),
                     "body": note_body(rng), "author_id": self.agent_id,
                     "interaction_id": None, "created_at": now},
        } for k in range(n)]
        return json.dumps({"protocol_version": 1, "client_id": self.client_id,
                           "mutations": mutations, "sent_at": now}).encode()

    async def push(self, body: bytes, n: int) -> str | None:
        """Send one push; None when all ``n`` mutations were applied, else what went wrong."""
        if self.writer is None:
            await self.connect()
        assert self.reader is not None and self.writer is not None
        self.writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        payload = await self.reader.readexactly(length)
        if b"connection: close" in head.lower():
            self.close()
        if status != 200:
            return f"HTTP {status}"
        answer = json.loads(payload)
        expected = self.last_id + n
        results = answer["results"]
        if answer["last_mutation_id"] != expected or len(results) != n or any(
                r["status"] != "applied" for r in results):
            self.last_id = int(answer["last_mutation_id"])
            return "unexpected answer"
        self.last_id = expected
        return None

    async def run(self, phases: list[Phase], n_agents: int,
                  stats: dict[str, PhaseStats]) -> None:
        loop = asyncio.get_running_loop()
        rng = self.rng
        for phase in phases:
            st = stats[phase.name]
            per_mutation = n_agents / phase.rate if phase.rate else 0.0
            # Spread the agents' first pushes over one average interval.
            due = phase.start + rng.uniform(0, per_mutation * (MIN_BATCH + MAX_BATCH) / 2)
            await asyncio.sleep(max(0.0, due - loop.time()))
            while True:
                now = loop.time()
                if now >= phase.end:
                    break
                n = rng.randint(MIN_BATCH, MAX_BATCH)
                if phase.rate:
                    if due >= phase.end:
                        break
                    if due > now:
                        await asyncio.sleep(due - now)
                    scheduled = due
                    due += n * per_mutation
                else:
                    scheduled = now
                body = self.batch(n)
                while True:  # the same batch again until the server takes it
                    sent = loop.time()
                    try:
                        problem = await asyncio.wait_for(self.push(body, n), RESPONSE_TIMEOUT)
                    except (OSError, asyncio.IncompleteReadError, TimeoutError,
                            asyncio.LimitOverrunError) as exc:
                        problem = type(exc).__name__
                        self.close()
                    done = loop.time()
                    if problem is None:
                        break
                    st.errors[problem] += 1
                    if problem == "unexpected answer" or done >= phase.end + RESPONSE_TIMEOUT:
                        break
                    await asyncio.sleep(0.05)
                if problem is None:
                    if phase.start <= done <= phase.end:
                        st.pushes += 1
                        st.mutations += n
                    st.due_ms.append((done - scheduled) * 1000)
                    st.service_ms.append((done - sent) * 1000)
        self.close()


def load_process(agents: list[tuple[str, str, str]], port: int, n_agents: int, seed: int,
                 pipe: Connection, customers: list[str] | None = None) -> None:
    """One load process: connects its agents, reports ready, runs the phases it is sent,
    and sends back its statistics and the acknowledged mutation count. Notes go to
    ``customers`` (the server does not check them; random ids by default)."""
    rng = random.Random(seed)
    customers = customers or [hex_id(rng) for _ in range(5000)]

    async def main() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        mine = [Agent(t, c, a, port, random.Random(rng.getrandbits(64)), customers)
                for t, c, a in agents]
        await asyncio.gather(*(a.connect() for a in mine))
        pipe.send("ready")
        phases: list[Phase] = await loop.run_in_executor(None, pipe.recv)
        stats = {p.name: PhaseStats() for p in phases}
        await asyncio.gather(*(a.run(phases, n_agents, stats) for a in mine))
        # Plain data back to the parent (classes of a spawned __main__ do not unpickle there).
        return {"stats": {name: {"due_ms": st.due_ms, "service_ms": st.service_ms,
                                 "pushes": st.pushes, "mutations": st.mutations,
                                 "errors": dict(st.errors)} for name, st in stats.items()},
                "acknowledged": sum(a.last_id for a in mine)}

    pipe.send(asyncio.run(main()))


# --- the benchmark ----------------------------------------------------------------------------


def seed_agents(url: str, n: int) -> list[str]:
    """Create the schema and ``n`` agent users (one argon2 hash computed, shared by all)."""
    from argon2 import PasswordHasher
    from sqlalchemy.orm import Session

    from server_stub.__main__ import prepare
    from server_stub.store import open_engine, seed_users

    class OneHash(PasswordHasher):
        """The server's default parameters, hashed once: seeding 200 users stays quick,
        and logging in costs what it costs in production (no rehash on login)."""

        def __init__(self) -> None:
            super().__init__()
            self._once = super().hash(PASSWORD)

        def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
            return self._once

    prepare(url)
    users = [(f"bench-agent-{i:03d}", f"Bench Agent {i}", "agent", PASSWORD) for i in range(n)]
    engine = open_engine(url)
    try:
        with Session(engine) as session, session.begin():
            seed_users(session, users, hasher=OneHash())  # type: ignore[arg-type]
    finally:
        engine.dispose()
    return [u[0] for u in users]


def direct_sessions(url: str, usernames: list[str], clients: list[str]) -> list[str]:
    """Sessions written straight into the store (the rows a login writes), for quick runs:
    200 argon2 verifications take 10-60 s on this machine and are not what is measured."""
    import secrets
    from datetime import timedelta

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from server_stub.service import hash_token
    from server_stub.store import Client, Token, User, open_engine

    engine = open_engine(url)
    tokens = [secrets.token_urlsafe(32) for _ in usernames]
    now = datetime.now(UTC)
    try:
        with Session(engine) as session, session.begin():
            ids = dict(session.execute(select(User.username, User.id)).tuples().all())
            for username, client_id, token in zip(usernames, clients, tokens, strict=True):
                session.add(Token(token_hash=hash_token(token), user_id=ids[username],
                                  client_id=client_id, created_at=now,
                                  expires_at=now + timedelta(hours=12)))
                session.add(Client(client_id=client_id, user_id=ids[username],
                                   last_mutation_id=0))
    finally:
        engine.dispose()
    return tokens


def server_counts(url: str) -> tuple[int, int]:
    """(notes in the server's store, mutations in its log)."""
    from sqlalchemy import func, select

    from server_stub.store import MutationLog, SyncedRow, open_engine

    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            notes = conn.scalar(select(func.count()).select_from(SyncedRow)
                                .where(SyncedRow.table_name == "notes"))
            logged = conn.scalar(select(func.count()).select_from(MutationLog))
        return int(notes or 0), int(logged or 0)
    finally:
        engine.dispose()


def fmt_ms(v: float) -> str:
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


def print_phase(title: str, phase: Phase, st: PhaseStats, cpu: dict[str, float]) -> dict[str, Any]:
    seconds = phase.end - phase.start
    due, svc = st.due_ms, st.service_ms
    figures = {
        "mutations_per_s": st.mutations / seconds, "pushes_per_s": st.pushes / seconds,
        "p50": percentile(due, 0.5), "p95": percentile(due, 0.95), "p99": percentile(due, 0.99),
        "errors": sum(st.errors.values()),
    }
    print(f"  {title}, {seconds:.0f} s:")
    print(f"    mutations applied/s {figures['mutations_per_s']:>8,.0f}   "
          f"pushes/s {figures['pushes_per_s']:,.0f}   "
          f"({st.mutations / max(st.pushes, 1):.1f} mutations per push)")
    print(f"    push latency         p50 {fmt_ms(figures['p50'])} ms   "
          f"p95 {fmt_ms(figures['p95'])} ms   p99 {fmt_ms(figures['p99'])} ms   "
          f"max {fmt_ms(max(due, default=float('nan')))} ms   (n={len(due)}, from when due)")
    if phase.rate:
        print(f"    service time         p50 {fmt_ms(percentile(svc, 0.5))} ms   "
              f"p99 {fmt_ms(percentile(svc, 0.99))} ms   (from when sent)")
    errors = ", ".join(f"{k}: {v}" for k, v in st.errors.most_common()) or "0"
    print(f"    errors: {errors}")
    per_push = cpu["server"] / max(figures["pushes_per_s"], 1e-9) * 1000
    print(f"    CPU: server {cpu['server']:.0%} of a core ({per_push:.2f} ms a push), load "
          f"processes {cpu['load']:.0%}, whole machine {cpu['machine']:.0%} of "
          f"{cpu['cores']:.0f} cores")
    return figures


def server_stack() -> str:
    """What uvicorn runs on in this environment (it picks uvloop and httptools when they
    are installed: `pip install uvicorn[standard]`)."""
    import importlib.metadata
    import importlib.util

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"uvicorn {importlib.metadata.version('uvicorn')} on {loop} + {http}"


def run_one(label: str, url: str, a: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    t = time.perf_counter()
    usernames = seed_agents(url, a.agents)
    log_path = tmp / f"server-{label.split()[0].lower()}.log"
    results: dict[str, Any] = {}
    with ServerProcess(url, log_path) as server:
        clients = [f"bench-{i:03d}-{random.getrandbits(48):012x}" for i in range(a.agents)]
        if a.direct_sessions:
            tokens = direct_sessions(url, usernames, clients)
        else:
            with ThreadPoolExecutor(8) as pool:
                tokens = list(pool.map(lambda uc: login(server.port, uc[0], PASSWORD, uc[1]),
                                       zip(usernames, clients, strict=True)))
        agent_ids = ["0" * 32] * a.agents  # the server takes the author from the session
        print(f"\nsync push, {label}: {a.agents} agents in {a.procs} load processes, "
              f"{MIN_BATCH}-{MAX_BATCH} add_note mutations per push "
              f"(set-up and {a.agents} {'sessions' if a.direct_sessions else 'logins'} "
              f"{time.perf_counter() - t:.1f} s); server: {server_stack()}", flush=True)
        ctx = mp.get_context("spawn")
        procs, pipes = [], []
        everyone = list(zip(tokens, clients, agent_ids, strict=True))
        try:
            for i in range(a.procs):
                parent, child = ctx.Pipe()
                p = ctx.Process(target=load_process, daemon=True, args=(
                    everyone[i::a.procs], server.port, a.agents, a.seed + i, child))
                p.start()
                procs.append(p)
                pipes.append(parent)
            for pipe in pipes:
                if not pipe.poll(60) or pipe.recv() != "ready":
                    raise RuntimeError("a load process did not connect")
            start = time.monotonic() + 0.3
            phases = [Phase("warm-up", start, start + a.warmup, a.rate[0], record=False)]
            for rate in a.rate:
                begin = phases[-1].end + (GAP_SECONDS if phases[-1].record else 0.0)
                phases.append(Phase(f"paced {rate:g}", begin, begin + a.seconds, rate))
            if not a.no_saturation:
                begin = phases[-1].end + GAP_SECONDS
                phases.append(Phase("closed loop", begin, begin + a.seconds, None))
            for pipe in pipes:
                pipe.send(phases)
            cpu: dict[str, dict[str, float]] = {}
            load_pids = [p.pid for p in procs if p.pid is not None]
            cores = float(os.cpu_count() or 1)
            for phase in phases:
                time.sleep(max(0.0, phase.start - time.monotonic()))
                s0 = cpu_seconds(server.pid)
                l0 = sum(cpu_seconds(pid) for pid in load_pids)
                m0 = machine_busy_seconds()
                time.sleep(max(0.0, phase.end - time.monotonic()))
                span = phase.end - phase.start
                cpu[phase.name] = {
                    "server": (cpu_seconds(server.pid) - s0) / span,
                    "load": (sum(cpu_seconds(pid) for pid in load_pids) - l0) / span,
                    "machine": (machine_busy_seconds() - m0) / span / cores,
                    "cores": cores,
                }
            outcomes = []
            for pipe in pipes:
                if not pipe.poll(RESPONSE_TIMEOUT + 30):
                    raise RuntimeError("a load process did not finish")
                outcomes.append(pipe.recv())
        finally:
            for p in procs:
                p.join(10)
                if p.is_alive():
                    p.terminate()
                    p.join(5)
    merged = {ph.name: PhaseStats() for ph in phases}
    for outcome in outcomes:
        for name, st in outcome["stats"].items():
            m = merged[name]
            m.due_ms += st["due_ms"]
            m.service_ms += st["service_ms"]
            m.pushes += st["pushes"]
            m.mutations += st["mutations"]
            m.errors.update(st["errors"])
    for phase in phases:
        if not phase.record:
            continue
        title = (f"paced: {phase.rate:,.0f} mutations/s offered" if phase.rate
                 else "as fast as they can (next push as soon as the answer arrives)")
        results[phase.name] = print_phase(title, phase, merged[phase.name], cpu[phase.name])
    acknowledged = sum(o["acknowledged"] for o in outcomes)
    notes, logged = server_counts(url)
    verdict = "exactly once" if notes == logged == acknowledged else "MISMATCH"
    print(f"  server store: {notes:,} notes, {logged:,} mutations logged; the agents were told "
          f"{acknowledged:,} applied: {verdict}")
    results["exactly_once"] = verdict == "exactly once"
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default=Databases.default(),
                    help="comma-separated: sqlite, postgresql (a throwaway cluster), or "
                    "SQLAlchemy URLs of empty databases (default %(default)s)")
    ap.add_argument("--agents", type=int, default=200)
    ap.add_argument("--procs", type=int, default=2, help="load processes (default 2)")
    ap.add_argument("--rate", type=lambda s: [float(x) for x in s.split(",")],
                    default=[1000.0, 2000.0], help="mutations/s offered in the paced "
                    "phases, comma-separated (default 1000,2000)")
    ap.add_argument("--seconds", type=float, default=20.0, help="per phase (default 20)")
    ap.add_argument("--warmup", type=float, default=WARMUP_SECONDS)
    ap.add_argument("--no-saturation", action="store_true",
                    help="skip the closed-loop (as fast as they can) phase")
    ap.add_argument("--quick", action="store_true", help="5 s phases: a smoke run")
    ap.add_argument("--direct-sessions", action="store_true",
                    help="write the sessions into the store instead of logging in 200 times "
                    "(argon2: 10-60 s here); the push path is the same")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.quick:
        a.seconds, a.warmup = 5.0, 1.0
    on_signal_exit()
    with Databases(a.db) as dbs:
        for name in dbs.names:
            with dbs.open(name) as (label, url):
                run_one(label, url, a, dbs.tmp)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
