"""Several sync server processes in front of one PostgreSQL: throughput and pokes.

    python bench/sync_two_processes.py [--agents 32] [--procs 2] [--seconds 15]
                                       [--rounds 1] [--pokes 200]
                                       [--database postgresql+psycopg://...]

Starts a throwaway PostgreSQL cluster (or uses ``--database``, an empty database you
manage), then two real `agent-desktop-server` processes (uvicorn, different ports, the
same database) and measures:

- push throughput and latency with 1 server process, then with 2: ``--agents`` agents,
  each one keep-alive HTTP/1.1 connection (raw asyncio streams, spread over ``--procs``
  load processes: the load generator must not be what saturates), each pushing batches of
  1-3 ``add_note`` mutations as fast as the answers come back. With 2 servers half the
  agents talk to each. Reported: mutations/s, push p50/p99, and how busy the machine was.
- poke latency: an agent streams /v1/events from one server while another pushes one note
  at a time; the time from sending the push to the poke arriving, when both use the same
  server process (the local broker) and when they use different ones (PostgreSQL
  LISTEN/NOTIFY, server_stub.relay).

Every push answer is checked (HTTP 200, all "applied") and at the end the database must
hold exactly one note per applied mutation. Figures and their reading: docs/SCALING.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import percentile
from bench.sync_common import (
    HOST,
    PgCluster,
    ServerProcess,
    cpu_seconds,
    login,
    machine_busy_seconds,
    on_signal_exit,
)

PASSWORD = "bench-password-1"
WARMUP_SECONDS = 3.0
TIMEOUT = 30.0


# --- raw HTTP/1.1 over asyncio streams ------------------------------------------------------


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def _request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, token: str, path: str,
    body: dict[str, Any],
) -> tuple[int, Any]:
    payload = json.dumps(body).encode()
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
    status, headers = await _read_head(reader)
    data = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, json.loads(data) if data else None


def _note(mutation_id: int) -> dict[str, Any]:
    return {"mutation_id": mutation_id, "id": uuid.uuid4().hex, "name": "add_note", "args": {
        "id": uuid.uuid4().hex, "customer_id": uuid.uuid4().hex,
        "body": "Customer asked about the roaming charges on the last bill.",
        "created_at": "2026-11-15T09:00:00+00:00", "interaction_id": None}}


@dataclass
class Agent:
    port: int
    token: str
    client_id: str
    next_mutation: int = 1


async def _push(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, agent: Agent,
                count: int) -> None:
    mutations = [_note(agent.next_mutation + i) for i in range(count)]
    status, body = await _request(reader, writer, agent.token, "/v1/sync/push", {
        "protocol_version": 1, "client_id": agent.client_id, "mutations": mutations})
    if status != 200 or [r["status"] for r in body["results"]] != ["applied"] * count:
        raise RuntimeError(f"push refused: HTTP {status} {str(body)[:300]}")
    agent.next_mutation += count


def tree_cpu_seconds(pid: int | None) -> float:
    """CPU seconds of ``pid`` and its children (the postmaster and its backends)."""
    if pid is None:
        return 0.0
    total = cpu_seconds(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            total += cpu_seconds(int(stat.parent.name))
    return total


# --- the load processes ---------------------------------------------------------------------


async def _run_agents(agents: list[Agent], start_at: float, measure_from: float,
                      stop_at: float) -> tuple[list[float], int, int]:
    latencies: list[float] = []
    mutations = 0
    pushes = 0

    async def one(agent: Agent) -> None:
        nonlocal mutations, pushes
        reader, writer = await asyncio.open_connection(HOST, agent.port)
        rng = random.Random(agent.client_id)
        try:
            await asyncio.sleep(max(0.0, start_at - time.time()))
            while time.time() < stop_at:
                count = rng.randint(1, 3)
                t = time.perf_counter()
                started = time.time()
                await asyncio.wait_for(_push(reader, writer, agent, count), TIMEOUT)
                if started >= measure_from and time.time() <= stop_at:
                    latencies.append((time.perf_counter() - t) * 1000)
                    mutations += count
                    pushes += 1
        finally:
            writer.close()

    await asyncio.gather(*(one(a) for a in agents))
    return latencies, mutations, pushes


def _load_process(conn: Connection, agents: list[Agent], start_at: float,
                  measure_from: float, stop_at: float) -> None:
    try:
        latencies, mutations, pushes = asyncio.run(
            _run_agents(agents, start_at, measure_from, stop_at))
        applied = sum(a.next_mutation - 1 for a in agents)
        conn.send(("ok", latencies, mutations, pushes, applied))
    except BaseException as exc:  # reported by the parent
        conn.send(("error", repr(exc)))
    finally:
        conn.close()


def throughput(servers: list[ServerProcess], args: argparse.Namespace, pg_pid: int | None,
               label: str) -> dict[str, Any]:
    agents = []
    for i in range(args.agents):
        server = servers[i % len(servers)]
        client_id = f"bench-{uuid.uuid4().hex[:20]}"
        agents.append(Agent(server.port, login(server.port, f"agent{i}", PASSWORD, client_id),
                            client_id))
    ctx = mp.get_context("spawn")
    start_at = time.time() + 2.0  # the load processes need a moment to start
    measure_from = start_at + WARMUP_SECONDS
    stop_at = measure_from + args.seconds
    pipes, procs = [], []
    for p in range(args.procs):
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_load_process,
                           args=(child, agents[p::args.procs], start_at, measure_from, stop_at))
        proc.start()
        child.close()
        pipes.append(parent)
        procs.append(proc)
    # CPU counters over the measured window only.
    time.sleep(max(0.0, measure_from - time.time()))
    busy0, cpu0 = machine_busy_seconds(), [cpu_seconds(s.pid) for s in servers]
    pg0 = tree_cpu_seconds(pg_pid)
    time.sleep(max(0.0, stop_at - time.time()))
    busy1, cpu1 = machine_busy_seconds(), [cpu_seconds(s.pid) for s in servers]
    pg1 = tree_cpu_seconds(pg_pid)
    latencies: list[float] = []
    mutations = pushes = applied = 0
    for parent, proc in zip(pipes, procs, strict=True):
        result = parent.recv()
        proc.join()
        if result[0] != "ok":
            raise RuntimeError(f"a load process failed: {result[1]}")
        latencies += result[1]
        mutations += result[2]
        pushes += result[3]
        applied += result[4]
    cores = os.cpu_count() or 1
    out = {
        "label": label,
        "mutations_per_s": mutations / args.seconds,
        "pushes_per_s": pushes / args.seconds,
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "machine_busy": (busy1 - busy0) / (args.seconds * cores),
        "server_cpu": [(b - a) / args.seconds for a, b in zip(cpu0, cpu1, strict=True)],
        "pg_cpu": (pg1 - pg0) / args.seconds,
        "applied": applied,
    }
    print(f"{label:<22} {out['mutations_per_s']:7.0f} mutations/s "
          f"({out['pushes_per_s']:.0f} pushes/s)   push p50 {out['p50']:6.1f} ms  "
          f"p99 {out['p99']:6.1f} ms   machine {out['machine_busy']:.0%} busy, "
          "server process(es) " + " + ".join(f"{c:.0%}" for c in out["server_cpu"])
          + " of a core" + (f", PostgreSQL {out['pg_cpu']:.0%}" if pg_pid else ""),
          flush=True)
    return out


# --- pokes ----------------------------------------------------------------------------------


async def _poke_latencies(listen_port: int, push_port: int, n: int) -> tuple[list[float],
                                                                             list[float]]:
    listener_cid = f"bench-{uuid.uuid4().hex[:20]}"
    listener_token = login(listen_port, "agent0", PASSWORD, listener_cid)
    pusher = Agent(push_port, "", f"bench-{uuid.uuid4().hex[:20]}")
    pusher.token = login(push_port, "agent1", PASSWORD, pusher.client_id)
    s_reader, s_writer = await asyncio.open_connection(HOST, listen_port)
    s_writer.write(f"GET /v1/events HTTP/1.1\r\nHost: {HOST}\r\n"
                   f"Authorization: Bearer {listener_token}\r\n\r\n".encode())
    status, headers = await _read_head(s_reader)
    assert status == 200 and headers.get("transfer-encoding") == "chunked", (status, headers)
    pokes: asyncio.Queue[tuple[float, int]] = asyncio.Queue()
    connected = asyncio.Event()

    async def listen() -> None:
        buffer = b""
        while True:
            size = int((await s_reader.readline()).strip(), 16)
            chunk = await s_reader.readexactly(size + 2)
            buffer += chunk[:-2]
            while b"\n\n" in buffer:
                event, buffer = buffer.split(b"\n\n", 1)
                text = event.decode()
                if ": connected" in text:
                    connected.set()
                for line in text.split("\n"):
                    if line.startswith("data: "):
                        await pokes.put((time.perf_counter(),
                                         json.loads(line[6:])["cursor"]))

    task = asyncio.create_task(listen())
    await asyncio.wait_for(connected.wait(), TIMEOUT)
    reader, writer = await asyncio.open_connection(HOST, push_port)
    poke_ms, push_ms = [], []
    try:
        for _ in range(n):
            t = time.perf_counter()
            await asyncio.wait_for(_push(reader, writer, pusher, 1), TIMEOUT)
            push_ms.append((time.perf_counter() - t) * 1000)
            arrived, _cursor = await asyncio.wait_for(pokes.get(), TIMEOUT)
            poke_ms.append((arrived - t) * 1000)
    finally:
        task.cancel()
        writer.close()
        s_writer.close()
    return poke_ms, push_ms


def pokes(servers: list[ServerProcess], n: int) -> None:
    for label, listen, push in (("same process", servers[0], servers[0]),
                                ("other process", servers[1], servers[0])):
        poke_ms, push_ms = asyncio.run(_poke_latencies(listen.port, push.port, n))
        print(f"poke, {label:<14} push sent -> poke received: p50 {percentile(poke_ms, .5):5.1f}"
              f" ms  p95 {percentile(poke_ms, .95):5.1f} ms   (push round trip p50 "
              f"{percentile(push_ms, .5):.1f} ms; n={n})", flush=True)


# --- main -----------------------------------------------------------------------------------


def prepare(url: str, agents: int) -> None:
    from argon2 import PasswordHasher
    from sqlalchemy.orm import Session

    from server_stub.store import create_schema, open_engine, seed_users

    engine = open_engine(url)
    try:
        create_schema(engine)
        cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        with Session(engine) as s, s.begin():
            seed_users(s, [(f"agent{i}", f"Agent {i}", "agent", PASSWORD)
                           for i in range(max(agents, 2))], hasher=cheap)
    finally:
        engine.dispose()


def count_notes(url: str) -> int:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from server_stub.store import SyncedRow, open_engine

    engine = open_engine(url)
    try:
        with Session(engine) as s:
            return int(s.scalar(select(func.count()).select_from(SyncedRow)) or 0)
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=32)
    parser.add_argument("--procs", type=int, default=2, help="load generator processes")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--pokes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate 1 and 2 server processes this many times")
    parser.add_argument("--database", help="an empty PostgreSQL database URL to use instead "
                        "of a throwaway cluster")
    args = parser.parse_args()
    on_signal_exit()
    cluster = None if args.database else PgCluster().start()
    url = args.database or (cluster.url if cluster else "")
    logs = Path(tempfile.mkdtemp(prefix="bench-two-"))
    servers: list[ServerProcess] = []
    try:
        prepare(url, args.agents)
        print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the run; "
              f"{args.agents} agents over {args.procs} load processes, {args.seconds:.0f} s "
              f"per phase after {WARMUP_SECONDS:.0f} s warm-up", flush=True)
        if cluster is not None:
            shown = cluster.settings("server_version", "fsync", "synchronous_commit",
                                     "shared_buffers")
            print("PostgreSQL " + ", ".join(f"{k}={v}" for k, v in shown.items()), flush=True)
        servers = [ServerProcess(url, logs / f"server-{i}.log").start() for i in range(2)]
        pg_pid = cluster.proc.pid if cluster and cluster.proc else None
        results = []
        # Alternating rounds (1, 2, 1, 2, ...): on a shared machine the background load
        # drifts, and this spreads the drift over both configurations.
        for _ in range(args.rounds):
            results.append(throughput(servers[:1], args, pg_pid, "1 server process"))
            results.append(throughput(servers, args, pg_pid, "2 server processes"))
        if args.rounds > 1:
            for label in ("1 server process", "2 server processes"):
                mine = [r for r in results if r["label"] == label]
                print(f"median of {len(mine)}, {label:<18}: "
                      f"{percentile([r['mutations_per_s'] for r in mine], 0.5):5.0f} mutations/s"
                      f", push p50 {percentile([r['p50'] for r in mine], 0.5):5.1f} ms, p99 "
                      f"{percentile([r['p99'] for r in mine], 0.5):5.1f} ms", flush=True)
        pokes(servers, args.pokes)
        applied = sum(r["applied"] for r in results) + 2 * args.pokes
        stored = count_notes(url)
        if stored != applied:
            print(f"MISMATCH: {applied} mutations applied, {stored} notes stored")
            return 1
        print(f"check: {stored} notes stored, one per applied mutation")
        return 0
    finally:
        for server in servers:
            server.stop()
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
