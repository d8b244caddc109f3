"""End to end: Debian's Chromium (Playwright) against a real ``fieldops serve`` on a free port.

A technician logs in at tablet width, opens the next step, confirms a cable step by typing its
QR payload, a wrong cable is refused; a lead's dashboard updates live; two tablets confirming
one step record exactly one confirmation; a technician confirms a robot's finished work booked
for them; a server killed mid-confirmation and restarted ends
with the confirmation recorded exactly once (replayed from the tablet's outbox)."""

from __future__ import annotations

import time

import pytest

from tests.fixtures_db import CABLE_2, SAMPLE_FLOOR, robot_check_plan
from tests.fixtures_web import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TABLET = {"width": 768, "height": 1024}


def open_store(server):
    from fieldops.adapters.store import Store

    return Store(server.db_url)


def tablet(browser, server, user: str):
    ctx = browser.new_context(viewport=TABLET, has_touch=True)
    page = ctx.new_page()
    page.goto(server.url + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return ctx, page


def outbox_size(page) -> int:
    return page.evaluate(
        "() => JSON.parse(localStorage.getItem('fieldops.outbox.v1') || '[]').length"
    )


def wait_until(predicate, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout_s} s")
        time.sleep(0.2)


def confirmations_of(server, step_id: str) -> list[dict]:
    st = open_store(server)
    try:
        return st.step(step_id)["confirmations"]
    finally:
        st.close()


def test_a_technician_checks_a_robots_finished_work_from_the_tablet(chromium_browser, live_server):
    """The lift robot plugged R02's PDU cord and reported FINISHED; bob (technician-2), booked
    for the check, gets it as his next step on the tablet and confirms it there."""
    st = open_store(live_server)
    st.load_plan(robot_check_plan(), design="tiny", revision="2", hall="TINY", floor=SAMPLE_FLOOR)
    st.set_status("mount-sw1", "done", "FINISHED")
    st.set_status("check-pdu-R02", "awaiting_confirmation", {"robot": "lift-robot-1"})
    st.close()
    ctx, page = tablet(chromium_browser, live_server, "bob")
    try:

        def check_shown() -> bool:  # the server sees the new plan within a second (its cache)
            page.reload()
            return page.locator("#check-note").count() == 1

        wait_until(check_shown, 10)
        assert page.inner_text("#step-title") == "Check PDU cord R02"
        assert "lift-robot-1 has finished this step" in page.inner_text("#check-note")
        page.click("#confirm-btn")
        page.wait_for_selector("#confirmed:not([hidden])")
        assert page.inner_text("#confirmed-title") == "Confirmed: Check PDU cord R02"
        confs = confirmations_of(live_server, "check-pdu-R02")
        assert [(c["actor"], c["how"]) for c in confs] == [("bob", "manual")]
    finally:
        ctx.close()


def test_the_lead_dashboard_updates_live(chromium_browser, live_server):
    ctx, page = tablet(chromium_browser, live_server, "lee")
    try:
        assert page.url.endswith("/lead/")
        assert page.inner_text("#done-count") == "0"
        st = open_store(live_server)  # another worker (here: the test) records a confirmation
        st.confirm(
            f"cable-{CABLE_2}",
            client_id="live-1",
            actor="bob",
            crew="technician-2",
            codes=[f"{CABLE_2}/A", f"{CABLE_2}/B"],
        )
        st.report_problem(
            "rack-R01", kind="missing_part", note="no bonding kit", actor="ann", crew="technician-1"
        )
        st.close()
        page.wait_for_selector("#done-count:text-is('1')", timeout=15000)
        page.wait_for_selector("#blockers >> text=no bonding kit", timeout=15000)
        assert page.locator('g.rack.state-blocked[data-rack="R01"]').count() == 1
    finally:
        ctx.close()


def test_two_tablets_confirming_the_same_step_record_exactly_one(chromium_browser, live_server):
    ctx1, p1 = tablet(chromium_browser, live_server, "ann")
    ctx2, p2 = tablet(chromium_browser, live_server, "ann")
    try:
        for p in (p1, p2):
            p.goto(live_server.url + "/tech/step/rack-R01")
            assert p.locator("svg.floormap polyline.walk").count() == 1  # from the door
        # both press at (nearly) the same time
        p1.evaluate("document.getElementById('confirm-form').requestSubmit()")
        p2.evaluate("document.getElementById('confirm-form').requestSubmit()")
        texts = []
        for p in (p1, p2):
            p.wait_for_selector("#confirmed:not([hidden]), #ok:not([hidden]), #error:not([hidden])")
            shown = next(i for i in ("#confirmed-title", "#ok", "#error") if p.is_visible(i))
            texts.append(p.inner_text(shown))
        first, second = sorted(texts)
        assert first.startswith("Confirmed: Place rack R01"), texts
        # the other tablet hears it either from its own answer (409) or, when the live event
        # arrives first, from the event stream: both name who confirmed it
        assert second in (
            "step rack-R01 is already confirmed by ann",
            "This step was confirmed by ann.",
        ), texts
        assert len(confirmations_of(live_server, "rack-R01")) == 1
    finally:
        ctx1.close()
        ctx2.close()


def test_a_server_killed_mid_confirmation_loses_nothing_and_doubles_nothing(
    chromium_browser, live_server
):
    live_server.restart({"FIELDOPS_FAULT_CONFIRM_DELAY_S": "3"})  # confirm waits 3 s before commit
    ctx, page = tablet(chromium_browser, live_server, "ann")
    try:
        page.goto(live_server.url + "/tech/step/rack-R01")
        page.click("#confirm-btn")
        page.wait_for_timeout(1000)  # the request is inside the server's transaction now
        live_server.kill()
        page.wait_for_selector("#outbox:not([hidden])")
        assert "saved on this tablet" in page.inner_text("#outbox")
        assert outbox_size(page) == 1
        assert (
            confirmations_of(live_server, "rack-R01") == []
        )  # the killed transaction left nothing
        live_server.start()  # back, without the fault
        wait_until(lambda: outbox_size(page) == 0, 20)
        confs = confirmations_of(live_server, "rack-R01")
        assert len(confs) == 1 and confs[0]["actor"] == "ann"
        page.reload()
        assert outbox_size(page) == 0
        assert len(confirmations_of(live_server, "rack-R01")) == 1
    finally:
        ctx.close()
