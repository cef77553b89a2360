"""Interactions read into columns: times as epoch seconds, missing ones marked, strings as
codes, offers and promises per interaction, catch-up reads only new rows, a full read
again on demand or when rows went away; the drill-down's rows with names."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from agent_desktop.storage.interactions import NO_TIME, ColumnCache, read_agents, read_rows
from agent_desktop.storage.models import Customer
from agent_desktop.storage.store import Store, open_store

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
CU1 = "c" * 32


def _ts(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S.250000")


def _add(con: sqlite3.Connection, n: int, offered: datetime, *, agent: str | None = "ag1",
         customer: str | None = None, ended: bool = True, abandoned: bool = False,
         csat: int | None = None, queue: str = "billing", reason: str = "BILL") -> str:
    iid = f"{n:032x}"
    answered = None if abandoned else offered + timedelta(seconds=12)
    end = offered + timedelta(seconds=300) if ended else None
    con.execute(
        "INSERT INTO interactions (id, customer_id, channel, direction, queue, agent_id,"
        " caller_id, offered_at, answered_at, ended_at, wait_seconds, dial_seconds,"
        " talk_seconds, hold_seconds, acw_seconds, transfers, abandoned, reason_code,"
        " wrap_up_code, resolved, csat, nps, summary, created_at, updated_at, version)"
        " VALUES (?,?,'chat','inbound',?,?,'',?,?,?,12,0,250,38,30,1,?,?,'',0,?,NULL,"
        "'s',?,?,1)",
        (iid, customer, queue, agent, _ts(offered), _ts(answered), _ts(end), int(abandoned),
         reason, csat, _ts(offered), _ts(offered)))
    return iid


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "cols.sqlite3")
    with s.transaction() as session:
        session.add(Customer(id=CU1, account_number="A-1", display_name="Cy Customer",
                             customer_since=date(2020, 1, 1)))
    con = sqlite3.connect(s.path)
    con.execute(
        "INSERT INTO agents (id, username, display_name, role, team, skills,"
        " adjustment_limit_cents, daily_adjustment_limit_cents, refund_limit_cents, active,"
        " created_at, updated_at, version) VALUES ('ag1','ag1','Ann Agent','agent','Red',"
        "'[]',1,1,1,1,'2026-01-01 00:00:00','2026-01-01 00:00:00',1)")
    _add(con, 1, T0, csat=4, customer=CU1)
    _add(con, 2, T0 + timedelta(minutes=5), agent=None, customer=None, abandoned=True,
         queue="sales", reason="")
    _add(con, 3, T0 - timedelta(hours=1), ended=False, customer=CU1)  # older, written later
    con.commit()
    con.close()
    yield s
    s.close()


def test_columns_hold_epoch_times_codes_and_missing_marks(store: Store) -> None:
    cache = ColumnCache(store)
    try:
        cols = cache.refresh()
        assert len(cols) == 3
        # Ordered by offered time, whatever order they were written in.
        assert list(cols.offered) == [int((T0 - timedelta(hours=1)).timestamp()),
                                      int(T0.timestamp()),
                                      int((T0 + timedelta(minutes=5)).timestamp())]
        assert cols.ended[0] == NO_TIME and cols.ended[1] == int(T0.timestamp()) + 300
        assert cols.answered[2] == NO_TIME and bool(cols.abandoned[2])
        assert cols.answered[1] == int(T0.timestamp()) + 12
        assert [cols.queues[q] for q in cols.queue] == ["billing", "billing", "sales"]
        assert [cols.reasons[r] for r in cols.reason] == ["BILL", "BILL", ""]
        assert cols.agent_ids[cols.agent[0]] == "ag1" and cols.agent[2] == -1
        assert cols.customer[0] == cols.customer[1] >= 0 and cols.customer[2] == -1
        assert list(cols.csat) == [-1, 4, -1] and list(cols.channel) == [1, 1, 1]
        assert list(cols.talk) == [250, 250, 250] and list(cols.transfers) == [1, 1, 1]
        assert cols.offers_shown.sum() == 0 and cols.collected_cents.sum() == 0
    finally:
        cache.close()


def test_catch_up_reads_new_rows_and_full_reads_again(store: Store) -> None:
    cache = ColumnCache(store)
    try:
        first = cache.refresh()
        assert cache.refresh() is first  # nothing changed: the same columns, no read
        con = sqlite3.connect(store.path)
        _add(con, 4, T0 + timedelta(hours=2), queue="tech", customer=CU1)
        con.execute(
            "INSERT INTO offers_shown (id, customer_id, interaction_id, agent_id, offer_code,"
            " kind, pitch, shown_at, response, created_at, updated_at, version) VALUES"
            " ('of1', ?, ?, 'ag1', 'X', 'upsell', '', '2026-11-10 09:01:00', 'accepted',"
            " '2026-11-10 09:01:00', '2026-11-10 09:01:00', 1)", (CU1, f"{1:032x}"))
        con.commit()
        seen: list[tuple[int, int]] = []
        cols = cache.refresh(progress=lambda done, total: seen.append((done, total)))
        assert len(cols) == 4 and seen == [(1, 1)]  # only the new row was read
        assert cols.queues[cols.queue[-1]] == "tech"
        # Offers are read again every time (they may name an older interaction).
        assert list(cols.offers_shown) == [0, 1, 0, 0]
        assert list(cols.offers_accepted) == [0, 1, 0, 0]
        con.execute("DELETE FROM interactions WHERE id = ?", (f"{4:032x}",))
        con.commit()
        con.close()
        # A deleted row is only seen by a full read (the page's Shift+F5).
        assert len(cache.refresh(full=True)) == 3
    finally:
        cache.close()


def test_rows_for_the_drill_down_and_the_agents(store: Store) -> None:
    cache = ColumnCache(store)
    try:
        cols = cache.refresh()
        rows = read_rows(store, [int(r) for r in cols.rowid])
    finally:
        cache.close()
    assert [r.id for r in rows] == [f"{3:032x}", f"{1:032x}", f"{2:032x}"]
    first = rows[0]
    assert first.customer_name == "Cy Customer" and first.agent_name == "Ann Agent"
    assert first.ended_at is None and first.handle_seconds == 250 + 38 + 30
    assert rows[2].customer_id is None and rows[2].abandoned
    assert rows[1].offered_at == datetime(2026, 11, 10, 9, 0, 0, 250000)
    assert read_rows(store, []) == []
    assert [(a.display_name, a.team, a.role) for a in read_agents(store)] == [
        ("Ann Agent", "Red", "agent")]
    assert np.all(np.diff(cols.offered) >= 0)
