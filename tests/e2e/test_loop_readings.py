"""A technician enters a rack's pressure test readings on the tablet (issue 20), in Debian's
Chromium: a failing drop is refused on the spot and blocks the step (power-on waits); once the
lead has cleared it, passing readings confirm the test."""

from __future__ import annotations

import os

import pytest

from tests.e2e.test_floor_card import open_store, open_when_shown, tablet
from tests.fixtures_db import SAMPLE_FLOOR, loop_plan

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def enter(page, start: str, end: str, held: str) -> None:
    page.fill("#reading-start_kpa", start)
    page.fill("#reading-end_kpa", end)
    page.fill("#reading-hold_min", held)
    page.click("#confirm-btn")


def test_a_failing_pressure_reading_blocks_power_on_and_a_passing_one_confirms(
    chromium_browser, live_server
):
    st = open_store(live_server)
    st.load_plan(loop_plan(), design="nvl", revision="2", hall="TINY", floor=SAMPLE_FLOOR)
    ctx, page = tablet(chromium_browser, live_server, "ann", "landscape-1024x768")
    try:
        open_when_shown(page, live_server.url + "/tech/", "#readings")
        assert "at least 700" in page.inner_text("#readings")
        enter(page, "705", "680", "30")
        page.wait_for_selector("#error:not([hidden])")
        assert "pressure drop over the hold 25 kPa is over 10 kPa" in page.inner_text("#error")
        assert st.step("pressure:R01")["status"] == "blocked"
        assert st.step("burnin:ct-1")["blocking"] == ["leak:R01"]

        st.resolve_problem(st.problems()[0]["id"], actor="lee", resolution="re-seated s4")
        page.goto(live_server.url + "/tech/")
        enter(page, "705", "699", "30")
        page.wait_for_selector("#confirmed:not([hidden])")
        assert "pressure:R01" in page.inner_text("#confirmed-title")
        readings = st.step("pressure:R01")["confirmations"][0]["evidence"]["readings"]
        assert readings == {"start_kpa": 705.0, "end_kpa": 699.0, "hold_min": 30.0}
    finally:
        ctx.close()
        st.close()


def test_power_on_readings_are_entered_on_the_burn_in_card(chromium_browser, live_server):
    """After the loop tests pass, the liquid-cooled tray's burn-in asks for the CDU's flow and
    temperatures: a weak flow is refused on the spot, naming the rule."""
    from dataclasses import replace

    from fieldops.core.fluid import power_on_readings
    from tests.fixtures_db import LOOP_RULES

    plan = loop_plan()
    on = power_on_readings(replace(LOOP_RULES, min_flow_lpm=150))
    steps = tuple(
        replace(s, action={**s.action, **on}) if s.kind == "burnin_check" else s for s in plan.steps
    )
    st = open_store(live_server)
    st.load_plan(replace(plan, steps=steps), design="nvl", revision="3", hall="TINY",
                 floor=SAMPLE_FLOOR)  # fmt: skip
    ev = {"readings": {"start_kpa": 705, "end_kpa": 699, "hold_min": 30}}
    st.confirm("pressure:R01", client_id="p", actor="ann", crew="technician-1", evidence=ev)
    ev = {"readings": {"joints_checked": 4, "leaks_found": 0}}
    st.confirm("leak:R01", client_id="l", actor="ann", crew="technician-1", evidence=ev)
    ctx, page = tablet(chromium_browser, live_server, "ann", "portrait-800x1280")
    try:
        open_when_shown(page, live_server.url + "/tech/", "#reading-flow_lpm")
        text = page.inner_text("#readings")
        assert "Coolant flow at the CDU" in text and "at least 150" in text and "45" in text
        page.fill("#reading-flow_lpm", "90")
        page.fill("#reading-supply_c", "30")
        page.fill("#reading-return_c", "40")
        page.click("#confirm-btn")
        page.wait_for_selector("#error:not([hidden])")
        assert "Coolant flow at the CDU 90 L/min is under 150 L/min" in page.inner_text("#error")
        assert st.step("burnin:ct-1")["status"] == "blocked"
        if os.environ.get("FIELDOPS_PNG_DIR"):  # to look at it
            page.screenshot(path=f"{os.environ['FIELDOPS_PNG_DIR']}/power-on-refused.png")
    finally:
        ctx.close()
        st.close()
