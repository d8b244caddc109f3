"""End to end on the real lab hall: `fieldops plan` + `fieldops load --design`, then a
technician confirms a planned cable step by typing its QR payload (fieldops.core.labels)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from fieldops.core.labels import qr_payload
from tests.fixtures_web import PASSWORD, REPO, LiveServer, seed_users

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def lab_server(tmp_path):
    plan_dir = tmp_path / "plan"
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    for cmd in (
        ["plan", "floorplans/lab-hall", "-o", str(plan_dir), "-q"],
        ["load", str(plan_dir), "--db", url, "--design", "floorplans/lab-hall"],
    ):
        r = subprocess.run(
            [sys.executable, "-m", "fieldops", *cmd],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
    from fieldops.adapters.store import Store

    st = Store(url)
    seed_users(st)
    cable = next(
        s
        for s in st.steps(phase="cable", limit=5000)
        if s["confirm"] == "scan_label" and s["assignee"] == "technician-1"
    )
    _finish_dependencies(st, cable["id"])
    st.close()
    server = LiveServer(url, tmp_path).start()
    yield server, cable
    server.stop()


def _finish_dependencies(st, step_id: str) -> None:
    """Mark every transitive dependency of a step done (as a robot report would)."""
    seen: set[str] = set()
    todo = list(st.step(step_id)["depends_on"])
    while todo:
        sid = todo.pop()
        if sid in seen:
            continue
        seen.add(sid)
        todo.extend(st.step(sid)["depends_on"])
    for s in sorted((st.step(sid) for sid in seen), key=lambda s: s["seq"]):
        st.set_status(s["id"], "done", {"robot": "setup"})


def test_a_planned_lab_hall_cable_is_confirmed_by_its_qr_payload(chromium_browser, lab_server):
    server, cable = lab_server
    ctx = chromium_browser.new_context(viewport={"width": 768, "height": 1024})
    page = ctx.new_page()
    try:
        page.goto(server.url + "/login")
        page.fill("input[name=username]", "ann")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(server.url + f"/tech/step/{cable['id']}")
        assert page.locator("svg.floormap g.rack").count() == 12  # 2 rows x 6 racks
        assert page.locator("svg.floormap .obstacle").count() == 3
        assert page.locator(f'svg.floormap g.rack.target[data-rack="{cable["rack"]}"]').count() == 1
        assert page.locator("svg.elevation rect.device").count() >= 1
        assert page.locator("svg.floormap polyline.tray.route").count() >= 1
        if os.environ.get("FIELDOPS_SHOTS"):
            page.screenshot(
                path=f"{os.environ['FIELDOPS_SHOTS']}/lab-hall-cable.png", full_page=True
            )
        code = cable["expect_codes"][0]
        page.fill("#codes", qr_payload(code, "A"))  # the near end: the step waits for the far one
        page.click("#confirm-btn")
        page.wait_for_selector("#scan-A:text-is('✓ scanned')")
        assert page.inner_text("#scan-B") == "not scanned"
        page.fill("#codes", qr_payload(code, "B"))
        page.click("#confirm-btn")
        page.wait_for_selector("#confirmed:not([hidden])")
        assert "Confirmed" in page.inner_text("#confirmed-title")
    finally:
        ctx.close()
    from fieldops.adapters.store import Store

    st = Store(server.db_url)
    confs = st.step(cable["id"])["confirmations"]
    st.close()
    assert [(c["actor"], c["codes"]) for c in confs] == [("ann", [f"{code}/A", f"{code}/B"])]
