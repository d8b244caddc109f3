"""Loop test readings in the store (issue 20), on SQLite and PostgreSQL: a pressure test is
confirmed only with readings that pass; a failing reading opens a problem that blocks it, and
the burn-in (power-on) behind the rack's leak test stays blocked until the test passes.

    pressure:R01 ──> leak:R01 ──> burnin:ct-1        (technician-1, in this order)
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from fieldops.adapters.store import Conflict, Invalid, Refused, Store
from fieldops.core.fluid import power_on_readings
from tests.fixtures_db import LOOP_RULES, SAMPLE_FLOOR, loop_plan

GOOD = {"start_kpa": 705, "end_kpa": 699, "hold_min": 30}


@pytest.fixture
def loop_store(db_url, clock):
    s = Store(db_url, clock=clock)
    s.load_plan(loop_plan(), design="nvl", revision="1", hall="TINY", floor=SAMPLE_FLOOR)
    yield s
    s.close()


def confirm(store, sid, cid, readings=None):
    ev = {} if readings is None else {"readings": readings}
    return store.confirm(sid, client_id=cid, actor="ann", crew="technician-1", evidence=ev)


def test_a_test_step_needs_its_readings(loop_store):
    with pytest.raises(Invalid) as exc:
        confirm(loop_store, "pressure:R01", "t-1")
    assert "needs its readings" in exc.value.message and len(exc.value.details["missing"]) == 3
    assert loop_store.step("pressure:R01")["status"] != "done"


def test_passing_readings_are_kept_in_the_confirmation(loop_store):
    res = confirm(loop_store, "pressure:R01", "t-1", {**GOOD, "start_kpa": "705"})
    assert res.confirmation["evidence"] == {
        "readings": {"start_kpa": 705.0, "end_kpa": 699.0, "hold_min": 30.0},
        "result": "pass",
    }
    assert loop_store.step("pressure:R01")["status"] == "done"


def test_a_failing_reading_blocks_the_test_and_power_on_until_it_passes(loop_store):
    with pytest.raises(Refused) as exc:
        confirm(loop_store, "pressure:R01", "t-1", {**GOOD, "end_kpa": 680})
    assert exc.value.details["failed"] == ["pressure drop over the hold 25 kPa is over 10 kPa"]
    step = loop_store.step("pressure:R01")
    assert step["status"] == "blocked" and "drop over the hold 25 kPa" in step["status_detail"]
    [problem] = loop_store.problems()
    assert (problem["kind"], problem["step_id"]) == ("failed_test", "pressure:R01")
    with pytest.raises(Conflict):  # power-on waits
        confirm(loop_store, "burnin:ct-1", "t-2")
    with pytest.raises(Conflict):  # blocked until the lead clears the problem
        confirm(loop_store, "pressure:R01", "t-3", GOOD)

    loop_store.resolve_problem(problem["id"], actor="lead", resolution="re-seated QD at s4")
    confirm(loop_store, "pressure:R01", "t-4", GOOD)
    with pytest.raises(Refused):  # a wet joint fails the leak check too
        confirm(loop_store, "leak:R01", "t-5", {"joints_checked": 4, "leaks_found": 1})
    assert loop_store.step("burnin:ct-1")["status"] != "done"
    loop_store.resolve_problem(loop_store.problems()[0]["id"], actor="lead")
    confirm(loop_store, "leak:R01", "t-6", {"joints_checked": 4, "leaks_found": 0})
    assert confirm(loop_store, "burnin:ct-1", "t-7").step["status"] == "done"


def test_power_on_of_a_liquid_cooled_device_records_flow_and_temperatures(db_url, clock):
    """burnin:ct-1 carries the power-on readings (flow >= 150 L/min, supply <= 45 degC,
    return <= 65 degC, rise <= 20 K): a weak flow blocks it with a problem; good readings are
    kept in the confirmation."""
    rules = replace(LOOP_RULES, min_flow_lpm=150)
    plan = loop_plan()
    steps = tuple(
        replace(s, action={**s.action, **power_on_readings(rules)}) if s.kind == "burnin_check"
        else s
        for s in plan.steps
    )  # fmt: skip
    store = Store(db_url, clock=clock)
    try:
        store.load_plan(replace(plan, steps=steps), design="nvl", revision="1", hall="TINY",
                        floor=SAMPLE_FLOOR)  # fmt: skip
        confirm(store, "pressure:R01", "t-1", GOOD)
        confirm(store, "leak:R01", "t-2", {"joints_checked": 4, "leaks_found": 0})
        assert store.step("burnin:ct-1")["readings"]["readings"][0]["name"] == "flow_lpm"
        with pytest.raises(Invalid):
            confirm(store, "burnin:ct-1", "t-3")
        with pytest.raises(Refused) as exc:
            confirm(store, "burnin:ct-1", "t-4", {"flow_lpm": 90, "supply_c": 30, "return_c": 52})
        assert exc.value.details["failed"] == [
            "Coolant flow at the CDU 90 L/min is under 150 L/min",
            "temperature rise (return - supply) 22 K is over 20 K",
        ]
        assert "power the device off" in exc.value.message
        assert store.step("burnin:ct-1")["status"] == "blocked"
        store.resolve_problem(store.problems()[0]["id"], actor="lead", resolution="CDU pump 2")
        good = {"flow_lpm": 160, "supply_c": 30, "return_c": 44}
        res = confirm(store, "burnin:ct-1", "t-5", good)
        assert res.step["status"] == "done"
        assert res.confirmation["evidence"]["readings"] == {k: float(v) for k, v in good.items()}
    finally:
        store.close()
