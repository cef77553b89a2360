"""Hypothesis explores sequences of notes, syncs through a faulty network and server
restarts, with three real desks (each its own SQLite store) and a real server.

After every step: no note is doubled anywhere, each client's mutations are recorded on
the server once each and in order, every mutation a desk holds as acknowledged has its
note on the server, and no desk has lost a note it wrote. At the end, after clean syncs,
every desk holds exactly the server's notes, which are exactly the notes written.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from faults import (
    ANSWERED,
    PULL,
    PUSH,
    Desk,
    Fault,
    SyncServer,
    check_acknowledged_on_server,
    check_converged,
    check_no_doubles,
    customer_ids,
    make_server_template,
    observe,
    sync_cleanly,
)
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from agent_desktop.domain.errors import UserFacingError

# Two agents on two desks and a supervisor on a third; a few customers, so notes from
# different desks land on the same customer.
USERS = ("agent", "supervisor", "agent")
CUSTOMERS = 3
# What an agent types after the number: any text a note may hold.
TEXT = st.text(max_size=12)
# A restart costs a new app and a new listening socket: a few per example are enough.
MAX_RESTARTS = 2

SETTINGS = settings(
    max_examples=12,
    stateful_step_count=16,
    deadline=None,
    derandomize=True,  # the same sequences on every run: CI stays stable
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class SyncUnderFaults(RuleBasedStateMachine):
    # Set by the test: the demo store every desk starts from, the server's seeded
    # database, and where each example keeps its files.
    store_template: Path
    server_template: Path
    root: Path

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="example-", dir=self.root))
        self.server: SyncServer | None = None
        self.desks: list[Desk] = []
        self.customers = customer_ids(self.store_template, CUSTOMERS)
        self.written: dict[int, set[tuple[str, str]]] = {i: set() for i in range(len(USERS))}
        self.count = 0

    @initialize()
    def open_desks(self) -> None:
        self.server = SyncServer(self.folder / "server.sqlite3", self.server_template).start()
        for i, username in enumerate(USERS):
            self.desks.append(Desk(f"desk{i}", self.folder / f"desk{i}.sqlite3",
                                   self.store_template, self.server, username))

    @rule(desk=st.integers(0, len(USERS) - 1), customer=st.integers(0, CUSTOMERS - 1),
          text=TEXT)
    def add_note(self, desk: int, customer: int, text: str) -> None:
        self.count += 1
        event("add_note")
        queued = len(self.desks[desk].outbox())
        try:  # numbered, so every note's text is its own (a second copy is a double)
            note = self.desks[desk].add_note(self.customers[customer],
                                             f"note {self.count} from desk {desk}: {text}")
        except UserFacingError:  # text no store can keep: refused at once, nothing kept
            assert len(self.desks[desk].outbox()) == queued
            return
        self.written[desk].add((self.customers[customer], note.body))
        # Written in one transaction with its mutation: visible and queued at once.
        assert (note.id, self.customers[customer], note.body) in self.desks[desk].notes()

    @rule(desk=st.integers(0, len(USERS) - 1))
    def sync(self, desk: int) -> None:
        status = self.desks[desk].sync()
        event("clean sync")
        assert status.online and status.pending == 0 and status.rejected == 0, status

    @rule(desk=st.integers(0, len(USERS) - 1), fault=st.sampled_from(list(Fault)),
          path=st.sampled_from([PUSH, PULL]),
          notes=st.lists(st.tuples(st.integers(0, CUSTOMERS - 1), TEXT), max_size=2))
    def sync_through_fault(self, desk: int, fault: Fault, path: str,
                           notes: list[tuple[int, str]]) -> None:
        """Write a few notes (perhaps none), then sync with ``fault`` on the push or pull."""
        for customer, text in notes:
            self.add_note(desk, customer, text)
        d = self.desks[desk]
        if path == PUSH and not any(s in ("pending", "sent") for _, _, s, _ in d.outbox()):
            path = PULL  # nothing to push: no push request to hit
        d.transport.inject(fault, path)
        status = d.sync()
        assert d.transport.armed == 0, "the fault met no request"
        event(f"fault {fault} on {path}")
        if fault in ANSWERED:
            assert status.online and status.pending == 0 and status.rejected == 0, status
        else:  # the agent is told; the changes wait
            assert not status.online and "kept" in status.detail, status

    @precondition(lambda self: self.server is not None and self.server.restarts < MAX_RESTARTS)
    @rule()
    def restart_server(self) -> None:
        """Between requests (a restart mid-request is Fault.RESTART_SERVER)."""
        assert self.server is not None
        event("restart")
        self.server.restart()

    @invariant()
    def nothing_doubled_and_nothing_acknowledged_lost(self) -> None:
        if self.server is None or len(self.desks) < len(USERS):
            return
        seen = observe(self.server, self.desks)
        check_no_doubles(seen)
        check_acknowledged_on_server(seen)
        everything = set().union(*self.written.values())
        assert {(c, b) for _, c, b in seen.server_notes} <= everything
        for i, desk in enumerate(seen.desks):
            local = {(c, b) for _, c, b in desk.notes}
            assert self.written[i] <= local, f"{desk.name} lost its own note"
            assert local <= everything

    def teardown(self) -> None:
        # Called from hypothesis's ``finally``: when a step already failed (or hypothesis
        # stopped the example), report that, not whatever the final checks make of it.
        step_failed = sys.exc_info()[0] is not None
        event("example")
        try:
            if not step_failed and self.server is not None and len(self.desks) == len(USERS):
                for desk in self.desks:  # a request still held in the network arrives now
                    desk.transport.deliver_held()
                sync_cleanly(self.desks)
                check_converged(self.server, self.desks, set().union(*self.written.values()))
        finally:
            for desk in self.desks:
                desk.close()
            if self.server is not None:
                self.server.stop()
            shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def server_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_server_template(tmp_path_factory.mktemp("server-template"))


def test_no_acknowledged_note_is_lost_none_doubled_and_desks_converge(
        demo_store_template: Path, server_template: Path, tmp_path: Path) -> None:
    machine = type("Machine", (SyncUnderFaults,), {
        "store_template": demo_store_template, "server_template": server_template,
        "root": tmp_path})
    run_state_machine_as_test(machine, settings=SETTINGS)


def test_every_note_the_desk_saves_the_server_takes_as_it_is(
        demo_store_template: Path, server_template: Path, tmp_path: Path) -> None:
    """Whatever text an agent types or pastes: either the desk refuses it at once with
    the reason (and keeps nothing), or the server takes it and every desk gets the same
    text back. A note the desk saved must never come back refused."""
    with SyncServer(tmp_path / "server.sqlite3", server_template) as server:
        writer = Desk("writer", tmp_path / "writer.sqlite3", demo_store_template, server,
                      "agent")
        reader = Desk("reader", tmp_path / "reader.sqlite3", demo_store_template, server,
                      "supervisor")
        [customer] = customer_ids(demo_store_template, 1)
        count = 0
        try:
            @settings(max_examples=40, deadline=None, derandomize=True, database=None)
            @given(text=st.text(max_size=20))
            @example(text="pasted \x00 from a terminal")
            @example(text="half a surrogate pair \ud800")
            @example(text="  \t\n")
            def typed(text: str) -> None:
                nonlocal count
                count += 1
                queued = len(writer.outbox())
                try:
                    note = writer.add_note(customer, f"{count}: {text}")
                except UserFacingError as refused:
                    assert str(refused)
                    assert len(writer.outbox()) == queued  # nothing half-kept
                    return
                for desk in (writer, reader):
                    status = desk.sync()
                    assert status.online and status.pending == 0 and status.rejected == 0, \
                        status
                row = (note.id, customer, note.body)
                assert row in server.notes() and row in writer.notes() and row in reader.notes()

            typed()
        finally:
            writer.close()
            reader.close()
