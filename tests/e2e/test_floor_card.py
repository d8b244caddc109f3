"""The technician's floor in Debian's Chromium at the two tablet sizes people hold: a cable is
confirmed only with the label at each end; a wrong label is refused naming its own place; a
confirmation is unmistakable; the cable's card shows both ends; "nothing ready" says what it
waits for; the lead's progress bar shows the true share.

Screenshots of each page go to ``$FIELDOPS_SHOTS`` when set (to look at them), else a temp dir.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fixtures_db import ASSET_1, CABLE_1, CABLE_2, SAMPLE_FLOOR, sample_plan
from tests.fixtures_web import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SIZES = {"landscape-1024x768": (1024, 768), "portrait-800x1280": (800, 1280)}
# navigator.vibrate recorded, so a test can see the tablet buzzed
RECORD_VIBRATE = (
    "window.__buzz = []; navigator.vibrate = (p) => { window.__buzz.push(p); return true; };"
)


@pytest.fixture(params=list(SIZES), ids=list(SIZES))
def size(request):
    return request.param


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("FIELDOPS_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_store(server):
    from fieldops.adapters.store import Store

    return Store(server.db_url)


def open_when_shown(page, url: str, selector: str, tries: int = 50) -> None:
    """Open ``url`` until it shows ``selector``: the server sees a newly loaded plan within a
    second (it caches the active revision)."""
    for _ in range(tries):
        page.goto(url)
        if page.locator(selector).count():
            return
        page.wait_for_timeout(200)


def tablet(browser, server, user: str, size: str):
    w, h = SIZES[size]
    ctx = browser.new_context(viewport={"width": w, "height": h}, has_touch=True)
    ctx.add_init_script(RECORD_VIBRATE)
    page = ctx.new_page()
    page.goto(server.url + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return ctx, page


def scan(page, text: str) -> None:
    """What a scanner wedge (or a typing thumb) does: the text, then Enter."""
    page.fill("#codes", text)
    page.press("#codes", "Enter")


def _ready_for_the_cable(server) -> None:
    st = open_store(server)
    st.confirm("rack-R01", client_id="seed-1", actor="ann", crew="technician-1")
    st.confirm("mount-srv1", client_id="seed-2", actor="ann", crew="technician-1", codes=[ASSET_1])
    st.close()


def test_a_cable_is_confirmed_only_with_both_ends_and_says_so(
    chromium_browser, live_server, size, shots
):
    _ready_for_the_cable(live_server)
    ctx, page = tablet(chromium_browser, live_server, "ann", size)
    try:
        assert page.url.endswith("/tech/")
        # the card: both ends, a row each, with where they go and what the label says
        assert page.inner_text("#end-A .port") == "srv1:eth0"
        assert page.inner_text("#end-B .port") == "sw1:swp1"
        assert "R02" in page.inner_text("#end-B") and "U40" in page.inner_text("#end-B")
        assert "rear" in page.inner_text("#end-B")
        assert page.inner_text("#end-B .label-text") == "R02 U40 SW1:SWP1"
        assert page.inner_text("#tray-path") == "Along trays T1"
        assert "From R01 U10 front" in page.inner_text("#where")
        assert "to R02 U40 rear" in page.inner_text("#where")
        # the map shows both racks and the tray; both racks' elevations with their U marked
        assert page.locator('svg.floormap g.rack.target[data-rack="R01"]').count() == 1
        assert page.locator('svg.floormap g.rack.target.far[data-rack="R02"]').count() == 1
        assert page.locator("svg.floormap polyline.tray.route").count() == 1
        assert page.locator("svg.elevation rect.target-u").count() == 2
        page.screenshot(path=str(shots / f"cable-card-{size}.png"), full_page=True)

        # one end (lower case, as typed): ticked, the far end named, nothing recorded yet
        scan(page, f"{CABLE_1.lower()}/a")
        page.wait_for_selector("#scan-A:text-is('✓ scanned')")
        assert page.inner_text("#scan-B") == "not scanned"
        assert "Now scan end B at rack R02" in page.inner_text("#ok")
        st = open_store(live_server)
        assert st.step(f"cable-{CABLE_1}")["status"] != "done"
        st.close()
        # the tablet keeps the scanned end across a reload
        page.reload()
        page.wait_for_selector("#scan-A:text-is('✓ scanned')")
        page.screenshot(path=str(shots / f"cable-one-end-{size}.png"), full_page=True)

        # another cable's label: refused with that label's own place, not this step's
        scan(page, f"{CABLE_2}/A")
        page.wait_for_selector("#error:not([hidden])")
        assert page.inner_text("#error") == (
            f"Wrong label: {CABLE_2}/A is end A of cable {CABLE_2}: it belongs at rack R03 "
            f"(1A-F06), U10, front, srv2:eth0 (step cable-{CABLE_2}, technician-2). You are at "
            f"this step's end A (rack R01, U10, front, srv1:eth0). This step needs {CABLE_1}/A "
            f"and {CABLE_1}/B."
        )
        page.screenshot(path=str(shots / f"cable-wrong-label-{size}.png"), full_page=True)
        assert page.inner_text("#scan-B") == "not scanned"

        # the far end: confirmed, unmistakably, then the next step
        scan(page, f"{CABLE_1}/B")
        page.wait_for_selector("#confirmed:not([hidden])")
        assert (
            page.inner_text("#confirmed-title") == f"Confirmed: Run {CABLE_1} srv1:eth0 to sw1:swp1"
        )
        assert f"scanned {CABLE_1}/A + {CABLE_1}/B" in page.inner_text("#confirmed-detail")
        overlay = page.locator("#confirmed").bounding_box()
        assert overlay["width"] >= SIZES[size][0] - 1 and overlay["height"] >= SIZES[size][1] - 1
        assert page.evaluate("window.__buzz.length") == 1  # a short vibration
        page.screenshot(path=str(shots / f"cable-confirmed-{size}.png"))
        page.wait_for_url(live_server.url + "/tech/")
        st = open_store(live_server)
        confs = st.step(f"cable-{CABLE_1}")["confirmations"]
        st.close()
        assert [(c["actor"], c["codes"]) for c in confs] == [
            ("ann", [f"{CABLE_1}/A", f"{CABLE_1}/B"])
        ]
    finally:
        ctx.close()


def test_nothing_ready_names_the_step_it_waits_for_and_who_has_it(
    chromium_browser, live_server, size, shots
):
    st = open_store(live_server)
    st.reassign("rack-R01", "technician-2", actor="lee")  # ann's mount now waits for bob
    st.close()
    ctx, page = tablet(chromium_browser, live_server, "ann", size)
    try:
        page.wait_for_selector("#blocker")
        assert page.inner_text("h1") == "Nothing ready for technician-1 right now"
        assert page.inner_text("#blocker") == (
            "Your next step, Mount srv1 in R01 U10 (mount-srv1, rack R01), waits for Place rack "
            "R01 (rack-R01), assigned to technician-2, ready."
        )
        page.screenshot(path=str(shots / f"nothing-ready-{size}.png"), full_page=True)
    finally:
        ctx.close()


def test_the_leads_progress_bar_shows_the_true_share(chromium_browser, live_server, size, shots):
    _ready_for_the_cable(live_server)  # 2 of 7 steps done: 28.6 %
    ctx, page = tablet(chromium_browser, live_server, "lee", size)
    try:
        bar = page.locator("#progress-bar").bounding_box()
        fill = page.locator("#progress-bar rect.fill").bounding_box()
        assert fill["width"] == pytest.approx(bar["width"] * 2 / 7, abs=2)
        page.screenshot(path=str(shots / f"dashboard-{size}.png"), full_page=True)
    finally:
        ctx.close()


def test_a_step_whose_id_holds_a_slash_is_opened_and_confirmed(chromium_browser, live_server, size):
    """Device names may hold '/' (NetBox allows it): their steps' IDs do too."""
    from dataclasses import replace

    plan = sample_plan()
    renamed = {"rack-R01": "rack:R01/A"}
    steps = tuple(
        replace(
            s,
            id=renamed.get(s.id, s.id),
            depends_on=tuple(renamed.get(d, d) for d in s.depends_on),
        )
        for s in plan.steps
    )
    wos = tuple(
        replace(w, steps=tuple(renamed.get(x, x) for x in w.steps)) for w in plan.workorders
    )
    st = open_store(live_server)
    st.load_plan(
        replace(plan, steps=steps, workorders=wos),
        design="tiny",
        revision="slash",
        hall="TINY",
        floor=SAMPLE_FLOOR,
    )
    st.close()
    ctx, page = tablet(chromium_browser, live_server, "ann", size)
    try:
        open_when_shown(page, live_server.url + "/tech/step/rack:R01/A", "#step-title")
        assert page.inner_text("#step-title") == "Place rack R01"
        page.click("#confirm-btn")
        page.wait_for_selector("#confirmed:not([hidden])")
        st = open_store(live_server)
        assert st.step("rack:R01/A")["status"] == "done"
        st.close()
    finally:
        ctx.close()
