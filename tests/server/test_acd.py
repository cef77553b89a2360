"""The simulated contact center's engine (server_stub.acd), driven with an injected clock:
no server, no sleeps, no real time. Every figure expected is worked out by hand here."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent_desktop.domain.calls import AgentState, CallState, WrapUpMode, WrapUpPolicy
from server_stub.acd import (
    DEFAULT_MIX,
    RING_NO_ANSWER,
    AcdConfig,
    AgentProfile,
    Codes,
    ContactCenter,
    Directory,
)
from server_stub.errors import ApiError
from server_stub.resources import read_json

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CODES = Codes.from_dict(read_json("codes.json"))
CUSTOMER = "c" * 32
PHONE = "+14155550132"
SHARED = "+14155550199"  # two customers share it


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def profile(n: int, *skills: str, team: str = "") -> AgentProfile:
    return AgentProfile(f"{n:032x}", f"user{n}", f"Agent {n}", team, frozenset(skills))


def center(config: AcdConfig | None = None, *, agents: list[AgentProfile] | None = None,
           arrivals: bool = False) -> ContactCenter:
    directory = Directory.from_phone_rows(
        agents or [],
        [(PHONE, CUSTOMER), (SHARED, "d" * 32), (SHARED, "e" * 32)])
    cfg = config or AcdConfig(calls_per_hour=0, simulated_agents=0)
    return ContactCenter(cfg, CODES, directory, T0, arrivals=arrivals)


def human(cc: ContactCenter, n: int, *skills: str, available_at: float | None = 0) -> str:
    p = profile(n, *skills)
    cc.register_human(p, at(0))
    if available_at is not None:
        cc.set_state(p.agent_id, "available", "", at(available_at))
    return p.agent_id


def refused(status: int, fn: Any, *args: Any) -> str:
    with pytest.raises(ApiError) as caught:
        fn(*args)
    assert caught.value.status == status, caught.value.detail
    return caught.value.detail


def kinds(cc: ContactCenter) -> list[tuple[str, str, str]]:
    return [(agent, e.kind, e.message) for agent, e in cc.take_events()]


# --- routing ---------------------------------------------------------------------------


def test_a_billing_call_never_reaches_a_tech_only_agent() -> None:
    cc = center()
    tech = human(cc, 1, "tech_internet")
    call = cc.place_call("billing", PHONE, at(1), patience_seconds=600)
    assert cc.agents[tech].call is None and cc.calls[call].state == CallState.QUEUED
    assert cc.floor(at(1)).queues[0].waiting == 1
    billing = human(cc, 2, "billing", available_at=5)
    assert cc.calls[call].agent_id == billing and cc.calls[call].state == CallState.OFFERED
    assert cc.agents[billing].state == AgentState.OFFERED
    tech_call = cc.place_call("tech_support", PHONE, at(6))
    assert cc.calls[tech_call].agent_id == tech


def test_the_longest_idle_agent_gets_the_call() -> None:
    cc = center()
    first, second, third = (human(cc, n, "billing", available_at=None) for n in (1, 2, 3))
    for agent, when in ((third, 5), (first, 10), (second, 20)):
        cc.set_state(agent, "available", "", at(when))
    calls = [cc.place_call("general", PHONE, at(30 + i), patience_seconds=600)
             for i in range(3)]
    assert [cc.calls[c].agent_id for c in calls] == [third, first, second]


def test_the_oldest_waiting_call_goes_first_across_queues() -> None:
    cc = center()
    older = cc.place_call("sales", PHONE, at(1), patience_seconds=600)
    newer = cc.place_call("billing", PHONE, at(2), patience_seconds=600)
    agent = human(cc, 1, "billing", "sales", available_at=3)
    assert cc.agents[agent].call is not None and cc.agents[agent].call.id == older
    assert cc.calls[newer].state == CallState.QUEUED


# --- arrivals and abandons ----------------------------------------------------------------


def test_arrivals_are_poisson_at_the_configured_rate_and_mix() -> None:
    cfg = AcdConfig(calls_per_hour=600, simulated_agents=0, patience_mean_seconds=30)
    cc = center(cfg, arrivals=True)
    hours = 20
    for second in range(1, hours * 3600 + 1, 10):
        cc.tick(at(second))
    rows = cc.take_records()
    assert all(r["abandoned"] for r in rows)  # nobody to answer: every caller gives up
    # 12,000 expected; the standard deviation of a Poisson count is sqrt(12,000) ~ 110.
    assert 12000 * 0.95 < len(rows) < 12000 * 1.05
    by_queue = Counter(r["queue"] for r in rows)
    for queue, share in DEFAULT_MIX.items():
        assert abs(by_queue[queue] / len(rows) - share) < 0.02, queue
    gaps = sorted(
        (datetime.fromisoformat(b["offered_at"]) - datetime.fromisoformat(a["offered_at"]))
        .total_seconds()
        for a, b in zip(
            sorted(rows, key=lambda r: r["offered_at"]),
            sorted(rows, key=lambda r: r["offered_at"])[1:], strict=False))
    # Exponential gaps with mean 6 s: the median is 6 ln 2 ~ 4.16 s.
    assert 3.8 < gaps[len(gaps) // 2] < 4.5
    callers = Counter("withheld" if r["caller_id"] == "withheld"
                      else "known" if r["caller_id"] in (PHONE, SHARED) else "unknown"
                      for r in rows)
    assert callers["known"] > callers["unknown"] > callers["withheld"] > 0


def test_a_caller_who_runs_out_of_patience_abandons_and_is_recorded() -> None:
    cc = center()
    short = cc.place_call("billing", PHONE, at(10), patience_seconds=3)
    longer = cc.place_call("sales", SHARED, at(10), patience_seconds=40)
    cc.tick(at(12))
    assert cc.take_records() == []
    cc.tick(at(13))
    [row] = cc.take_records()
    assert row["id"] == short and row["abandoned"] is True and row["wait_seconds"] == 3
    assert row["customer_id"] == CUSTOMER  # exactly one customer has the number
    assert row["agent_id"] is None and row["answered_at"] is None
    cc.tick(at(60))
    [row] = cc.take_records()
    assert row["id"] == longer and row["wait_seconds"] == 40
    assert row["customer_id"] is None  # two customers share the number: nobody is guessed
    billing, sales = cc.floor(at(60)).queues[0], cc.floor(at(60)).queues[2]
    assert (billing.abandoned_today, billing.short_abandons_today) == (1, 1)
    assert (sales.abandoned_today, sales.short_abandons_today) == (1, 0)
    assert billing.service_level is None  # a short abandon does not count
    assert sales.service_level == 0.0
    assert cc.calls[short].state == CallState.ABANDONED


def test_a_caller_hanging_up_while_it_rings_withdraws_the_call() -> None:
    cc = center()
    agent = human(cc, 1, "billing")
    kinds(cc)
    call = cc.place_call("billing", PHONE, at(5), patience_seconds=8)
    cc.tick(at(13))
    assert kinds(cc) == [(agent, "offered", ""), (agent, "withdrawn", "The caller hung up.")]
    assert cc.agents[agent].state == AgentState.AVAILABLE
    detail = refused(409, cc.answer, agent, call, at(14))
    assert detail == "The caller hung up before you answered."


# --- ringing ---------------------------------------------------------------------------


def test_ring_no_answer_sends_the_call_back_and_the_agent_not_ready() -> None:
    cc = center()
    slow = human(cc, 1, "billing", available_at=0)
    other = human(cc, 2, "billing", available_at=None)
    call = cc.place_call("billing", PHONE, at(10), patience_seconds=600)
    assert cc.calls[call].agent_id == slow
    cc.take_events()
    cc.tick(at(29.9))
    assert cc.agents[slow].state == AgentState.OFFERED
    cc.tick(at(30))
    [(who, kind, words)] = kinds(cc)
    assert (who, kind) == (slow, "withdrawn")
    assert "20 seconds without an answer" in words and "Not ready" in words
    assert (cc.agents[slow].state, cc.agents[slow].reason) == (AgentState.NOT_READY,
                                                               RING_NO_ANSWER)
    assert cc.calls[call].state == CallState.QUEUED
    # Back at the front of its queue: ahead of a caller who came later.
    later = cc.place_call("billing", PHONE, at(31), patience_seconds=600)
    cc.set_state(other, "available", "", at(32))
    assert cc.calls[call].agent_id == other and cc.calls[later].state == CallState.QUEUED
    cc.answer(other, call, at(33))
    detail = refused(409, cc.answer, slow, call, at(34))
    assert detail == "Another agent answered this call."


def test_answering_twice_is_refused_and_a_strangers_call_is_unknown() -> None:
    cc = center()
    agent = human(cc, 1, "billing")
    stranger = human(cc, 2, "sales")
    call = cc.place_call("billing", PHONE, at(1))
    cc.answer(agent, call, at(2))
    assert "in progress" in refused(409, cc.answer, agent, call, at(3))
    assert refused(404, cc.answer, stranger, call, at(3)) == \
        "There is no such call on your phone."
    assert refused(404, cc.hold, agent, "f" * 32, at(3)) == \
        "There is no such call on your phone."


# --- a call all the way through -------------------------------------------------------


def test_a_fully_driven_call_is_recorded_with_exact_seconds() -> None:
    cc = center(AcdConfig(calls_per_hour=0, simulated_agents=0,
                          wrap_up=WrapUpPolicy(WrapUpMode.REQUIRED)))
    agent = human(cc, 1, "billing", available_at=None)
    call = cc.place_call("billing", PHONE, at(100), patience_seconds=600)  # waits 12 s
    cc.set_state(agent, "available", "", at(112))                          # rings
    cc.answer(agent, call, at(115))                                        # wait 15
    cc.hold(agent, call, at(175))
    held = cc.resume(agent, call, at(205))                                 # hold 30
    assert held.hold_seconds == 30 and held.state == CallState.TALKING
    cc.hold(agent, call, at(250))
    ended = cc.end(agent, call, at(262))                                   # hold 30 + 12
    assert ended.state == CallState.WRAP_UP and ended.hold_seconds == 42
    assert cc.agents[agent].state == AgentState.AFTER_CALL_WORK
    assert "Pick a wrap-up code" in refused(422, cc.wrap, agent, call, "", "BILL-HIGH",
                                            True, "", None, at(280))
    assert "Unknown wrap-up code" in refused(422, cc.wrap, agent, call, "NOPE", "BILL-HIGH",
                                             True, "", None, at(280))
    view = cc.wrap(agent, call, "RESOLVED-FIRST-CALL", "BILL-HIGH", True,
                   "  Explained the proration.  ", None, at(307))           # ACW 45
    assert view.state == AgentState.AVAILABLE and view.call is None
    [row] = cc.take_records()
    assert row == {
        "id": call, "customer_id": CUSTOMER, "channel": "call", "direction": "inbound",
        "queue": "billing", "agent_id": agent, "caller_id": PHONE,
        "offered_at": at(100).isoformat(), "answered_at": at(115).isoformat(),
        "ended_at": at(262).isoformat(),
        "wait_seconds": 15, "dial_seconds": 0,
        "talk_seconds": 262 - 115 - 42, "hold_seconds": 42, "acw_seconds": 307 - 262,
        "transfers": 0, "abandoned": False, "reason_code": "BILL-HIGH",
        "wrap_up_code": "RESOLVED-FIRST-CALL", "resolved": True,
        "csat": None, "nps": None, "summary": "Explained the proration.",
        "created_at": at(100).isoformat(), "updated_at": at(307).isoformat(), "version": 1,
    }
    floor = cc.floor(at(310)).queues[0]
    assert (floor.offered_today, floor.answered_today, floor.answered_in_target_today) == \
        (1, 1, 1)
    assert floor.service_level == 1.0
    assert "already wrapped up" in refused(409, cc.wrap, agent, call, "INFO-PROVIDED",
                                           "BILL-HIGH", False, "", None, at(311))


def test_hold_and_resume_only_in_order() -> None:
    cc = center()
    agent = human(cc, 1, "billing")
    call = cc.place_call("billing", PHONE, at(1))
    assert "answer it first" in refused(409, cc.hold, agent, call, at(2))
    cc.answer(agent, call, at(2))
    assert refused(409, cc.resume, agent, call, at(3)) == \
        "Cannot resume now: the call is in progress."
    cc.hold(agent, call, at(3))
    assert "on hold" in refused(409, cc.hold, agent, call, at(4))
    cc.resume(agent, call, at(13))
    cc.hold(agent, call, at(20))
    assert cc.resume(agent, call, at(25)).hold_seconds == 15


def test_a_transfer_sends_the_caller_on_with_the_note() -> None:
    cc = center()
    first = human(cc, 1, "billing")
    tech = human(cc, 2, "tech_internet", available_at=None)
    call = cc.place_call("billing", PHONE, at(10), patience_seconds=600)
    cc.answer(first, call, at(12))
    assert "Unknown queue" in refused(422, cc.transfer, first, call, "nowhere", "", at(50))
    leg = cc.transfer(first, call, "tech_support", "  Modem keeps dropping.  ", at(70))
    assert leg.state == CallState.WRAP_UP and leg.transfers == 1
    assert cc.agents[first].state == AgentState.AFTER_CALL_WORK
    [onward] = cc.queues["tech_support"]
    assert onward.id != call and onward.state == CallState.QUEUED
    assert (onward.caller_id, onward.customer_id) == (PHONE, CUSTOMER)
    assert (onward.transferred_from, onward.transfer_note) == ("billing",
                                                               "Modem keeps dropping.")
    view = cc.set_state(tech, "available", "", at(80))
    assert view.call is not None and view.call.transferred_from == "billing"
    assert view.call.transfer_note == "Modem keeps dropping."
    cc.answer(tech, onward.id, at(81))
    cc.wrap(first, call, "TRANSFERRED", "TECH-NO-INTERNET", False, "", None, at(90))
    [row] = cc.take_records()
    assert (row["id"], row["transfers"], row["talk_seconds"], row["acw_seconds"]) == \
        (call, 1, 58, 20)
    cc.end(tech, onward.id, at(181))
    cc.wrap(tech, onward.id, "TROUBLESHOOT-FIXED", "TECH-NO-INTERNET", True, "", None,
            at(191))
    [row] = cc.take_records()
    assert (row["queue"], row["wait_seconds"], row["talk_seconds"], row["transfers"],
            row["customer_id"]) == ("tech_support", 11, 100, 0, CUSTOMER)


# --- wrap-up policies ------------------------------------------------------------------


def _in_acw(policy: WrapUpPolicy) -> tuple[ContactCenter, str, str]:
    cc = center(AcdConfig(calls_per_hour=0, simulated_agents=0, wrap_up=policy))
    agent = human(cc, 1, "billing")
    call = cc.place_call("billing", PHONE, at(1))
    cc.answer(agent, call, at(3))
    cc.end(agent, call, at(63))
    return cc, agent, call


def test_optional_wrap_up_may_skip_the_codes() -> None:
    cc, agent, call = _in_acw(WrapUpPolicy(WrapUpMode.OPTIONAL))
    assert cc.agent_view(agent).wrap_up_mode == "optional"
    assert "Unknown contact reason" in refused(422, cc.wrap, agent, call, "", "NOPE", False,
                                               "", None, at(70))
    cc.wrap(agent, call, "", "", False, "", None, at(70))
    [row] = cc.take_records()
    assert (row["wrap_up_code"], row["reason_code"], row["acw_seconds"]) == ("", "", 7)


def test_required_wrap_up_needs_both_codes_and_never_closes_by_itself() -> None:
    cc, agent, call = _in_acw(WrapUpPolicy(WrapUpMode.REQUIRED))
    assert refused(422, cc.wrap, agent, call, "", "", False, "", None, at(70)) == \
        "Pick a wrap-up code and a contact reason to finish the call."
    cc.tick(at(10_000))
    assert cc.agents[agent].state == AgentState.AFTER_CALL_WORK
    assert cc.agent_view(agent).acw_deadline is None
    assert "wrap-up" in refused(409, cc.set_state, agent, "available", "", at(10_001))


def test_time_boxed_wrap_up_closes_with_the_default_code() -> None:
    policy = WrapUpPolicy(WrapUpMode.TIME_BOXED, acw_limit_seconds=30,
                          default_code="INFO-PROVIDED")
    cc, agent, call = _in_acw(policy)
    assert cc.agent_view(agent).acw_deadline == at(93).isoformat()
    cc.take_events()
    cc.tick(at(92))
    assert cc.agents[agent].state == AgentState.AFTER_CALL_WORK
    cc.tick(at(95))
    [(who, kind, words)] = kinds(cc)
    assert (who, kind) == (agent, "wrapped") and "Information provided" in words
    assert cc.agents[agent].state == AgentState.AVAILABLE
    [row] = cc.take_records()
    assert (row["wrap_up_code"], row["acw_seconds"], row["resolved"]) == ("INFO-PROVIDED",
                                                                          30, True)
    assert "already wrapped up" in refused(409, cc.wrap, agent, call, "INFO-PROVIDED",
                                           "GENERAL-INFO", False, "", None, at(96))


# --- states and dialing ---------------------------------------------------------------


def test_state_changes_check_the_reason_and_the_call() -> None:
    cc = center()
    agent = human(cc, 1, "billing", available_at=None)
    assert cc.agent_view(agent).state == AgentState.LOGGED_OUT
    assert refused(422, cc.set_state, agent, "not_ready", "", at(1)) == \
        "Pick why you are not ready."
    assert "Unknown not-ready reason" in refused(422, cc.set_state, agent, "not_ready",
                                                 "NAP", at(1))
    view = cc.set_state(agent, "not_ready", "LUNCH", at(2))
    assert (view.state, view.reason, view.since) == (AgentState.NOT_READY, "LUNCH",
                                                     at(2).isoformat())
    cc.set_state(agent, "available", "", at(3))
    cc.place_call("billing", PHONE, at(4))
    assert "ringing" in refused(409, cc.set_state, agent, "logged_out", "", at(5))


def test_a_break_chosen_during_a_call_starts_when_it_is_wrapped() -> None:
    cc = center()
    agent = human(cc, 1, "billing")
    call = cc.place_call("billing", PHONE, at(1), patience_seconds=600)
    cc.answer(agent, call, at(3))
    view = cc.set_state(agent, "not_ready", "BREAK", at(30))  # on the call: pending
    assert (view.state, view.next_state, view.next_reason) == (
        AgentState.ON_CALL, "not_ready", "BREAK")
    assert cc.set_state(agent, "available", "", at(31)).next_state == ""  # changed mind
    cc.set_state(agent, "not_ready", "LUNCH", at(32))
    cc.end(agent, call, at(60))
    cc.place_call("billing", PHONE, at(61), patience_seconds=600)  # waiting for someone
    view = cc.wrap(agent, call, "INFO-PROVIDED", "BILL-QUESTION", True, "", None, at(70))
    assert (view.state, view.reason, view.next_state, view.call) == (
        AgentState.NOT_READY, "LUNCH", "", None)  # not offered the waiting call


def test_an_outbound_call_dials_then_connects_and_records_dial_seconds() -> None:
    cc = center()
    agent = human(cc, 1, "collections", available_at=None)
    assert "log in" in refused(409, cc.dial, agent, PHONE, None, None, at(1))
    cc.set_state(agent, "not_ready", "MEETING", at(1))
    assert refused(422, cc.dial, agent, "call me", None, None, at(2)) == \
        "'call me' is not a number one can dial."
    call = cc.dial(agent, "(415) 555-0132", CUSTOMER, "a" * 32, at(10))
    assert (call.state, call.caller_id, call.queue) == (CallState.DIALING, PHONE,
                                                        "collections")
    assert cc.agents[agent].state == AgentState.ON_CALL
    cc.take_events()
    cc.tick(at(30))  # connects 4-12 s after dialing
    [(_, kind, _)] = kinds(cc)
    connected = cc.agent_view(agent).call
    assert kind == "connected" and connected is not None and connected.answered_at
    dial = (datetime.fromisoformat(connected.answered_at) - at(10)).total_seconds()
    assert 4 <= dial <= 12
    cc.end(agent, call.id, at(100))
    cc.wrap(agent, call.id, "CALLBACK-SCHEDULED", "COLL-PAST-DUE", False, "", None, at(110))
    [row] = cc.take_records()
    assert row["direction"] == "outbound" and row["customer_id"] == CUSTOMER
    assert (row["dial_seconds"], row["wait_seconds"]) == (round(dial), 0)
    assert row["talk_seconds"] == round(100 - 10 - dial)


# --- the simulated floor --------------------------------------------------------------


def test_simulated_agents_work_the_floor_by_themselves() -> None:
    teams = [("Billing", ("billing", "payments")), ("Tech", ("tech_internet",)),
             ("Sales", ("sales", "billing")), ("Retention", ("retention", "billing")),
             ("Tech", ("tech_internet",)), ("Collections", ("collections", "billing"))]
    agents = [profile(i, *teams[i % 6][1], team=teams[i % 6][0]) for i in range(30)]
    cfg = AcdConfig(calls_per_hour=100, simulated_agents=20, seed=3)
    cc = center(cfg, agents=agents, arrivals=True)
    assert sum(a.simulated for a in cc.agents.values()) == 20
    for second in range(1, 4 * 3600):
        cc.tick(at(second))
    rows = cc.take_records()
    handled = [r for r in rows if not r["abandoned"]]
    assert len(rows) > 300 and len(handled) > 0.8 * len(rows)
    assert cc.take_events() == []  # nobody listens to simulated agents
    assert all(r["agent_id"] in cc.agents and r["wrap_up_code"] in CODES.wrap_up
               and r["reason_code"] in CODES.reasons for r in handled)
    assert any(r["transfers"] for r in handled) and any(r["hold_seconds"] for r in handled)
    assert any(r["csat"] for r in handled) and any(r["nps"] is not None for r in handled)
    assert all(1 <= r["csat"] <= 5 for r in handled if r["csat"] is not None)
    talk = sorted(r["talk_seconds"] for r in handled)
    assert 150 < talk[len(talk) // 2] < 600  # lognormal around the queues' medians
    for r in handled:  # each skill's calls went to an agent with the skill
        skill = {"tech_support": "tech_internet", "general": "billing"}.get(r["queue"],
                                                                            r["queue"])
        assert skill in cc.agents[r["agent_id"]].profile.skills
    floor = cc.floor(at(4 * 3600))
    assert floor.service_level is not None and floor.service_level > 0.5
    assert sum(q.offered_today for q in floor.queues) >= len(rows)
    states = Counter(a.state for a in floor.agents)
    assert set(states) <= set(AgentState) and len(floor.agents) == 20


def test_people_first_gives_the_person_the_call_before_idle_simulated_colleagues() -> None:
    agents = [profile(i, "billing", team="Billing") for i in range(1, 4)]
    for people_first, person_gets_it in ((False, False), (True, True)):
        cfg = AcdConfig(calls_per_hour=0, simulated_agents=3, people_first=people_first)
        cc = center(cfg, agents=agents)
        person = human(cc, 9, "billing", available_at=600)  # idle for less time
        call = cc.place_call("billing", PHONE, at(601), patience_seconds=600)
        offered_to = cc.call_view(cc.calls[call]).agent_id
        assert (offered_to == person) is person_gets_it


def test_the_same_seed_gives_the_same_day() -> None:
    agents = [profile(i, "billing", "tech_internet", "sales") for i in range(8)]

    def run() -> list[dict[str, Any]]:
        cc = center(AcdConfig(calls_per_hour=120, simulated_agents=8, seed=11),
                    agents=agents, arrivals=True)
        for second in range(0, 3600, 7):
            cc.tick(at(second))
        return cc.take_records()

    assert run() == run()
