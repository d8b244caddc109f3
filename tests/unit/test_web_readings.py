"""The tablet's loop tests (issue 20): a pressure test's card asks for its readings with their
limits; a failing reading is refused, blocks the step and keeps power-on waiting; passing
readings confirm it."""

from __future__ import annotations

from tests.fixtures_db import SAMPLE_FLOOR, loop_plan

FAIL = {"reading-start_kpa": "705", "reading-end_kpa": "680", "reading-hold_min": "30"}


def test_a_pressure_test_card_asks_for_readings_and_refuses_a_failing_one(app, store_of, as_user):
    store_of.load_plan(loop_plan(), design="nvl", revision="2", hall="TINY", floor=SAMPLE_FLOOR)
    c, csrf = as_user("ann")
    html = c.get("/tech/").get_data(as_text=True)
    assert 'name="reading-start_kpa"' in html and "at least 700" in html
    assert "pressure drop over the hold" in html

    resp = c.post("/tech/step/pressure:R01/confirm", data={**FAIL, "csrf_token": csrf})
    assert resp.status_code == 422
    assert "pressure drop over the hold 25 kPa is over 10 kPa" in resp.get_data(as_text=True)
    assert store_of.step("pressure:R01")["status"] == "blocked"
    assert store_of.step("burnin:ct-1")["blocking"] == ["leak:R01"]

    lead, _ = as_user("lee")  # the lead sees the failed test as a blocker, with the readings
    panel = lead.get("/lead/").get_data(as_text=True)
    assert "failed test" in panel and "25 kPa is over 10 kPa" in panel

    store_of.resolve_problem(store_of.problems()[0]["id"], actor="lee")
    ok = {**FAIL, "reading-end_kpa": "699", "csrf_token": csrf}
    assert c.post("/tech/step/pressure:R01/confirm", data=ok).status_code == 302
    conf = store_of.step("pressure:R01")["confirmations"][0]
    assert conf["evidence"]["readings"] == {"start_kpa": 705.0, "end_kpa": 699.0, "hold_min": 30.0}


def test_missing_readings_are_asked_for_not_recorded(app, store_of, as_user):
    store_of.load_plan(loop_plan(), design="nvl", revision="2", hall="TINY", floor=SAMPLE_FLOOR)
    c, csrf = as_user("ann")
    resp = c.post("/tech/step/pressure:R01/confirm", data={"csrf_token": csrf})
    assert resp.status_code == 400 and "needs its readings" in resp.get_data(as_text=True)
    assert store_of.step("pressure:R01")["status"] != "done"
