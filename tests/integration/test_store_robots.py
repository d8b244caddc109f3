"""``fieldops serve --plan --design --broker --robots`` with simulated robots on a real
Mosquitto: the web app dispatches the planned lab hall's robot steps over VDA 5050, the robots
(fieldops.adapters.mqtt.simulator, serials from acl.fleet_serials) do them, their results land
in the store, and the lead's dashboard API shows them.

The lab hall's lift robot works in its scheduled order: B06's PDUs, B05's PDUs, then servers
in B05 (robot + technician, each also waiting for a technician's rails). Once the technicians
place racks B06 and B05, the four PDU mounts (robot only, every dependency met) are done by the
robot; the first server mount waits for its rails. Once they are fitted the robot mounts it
and the mount waits for the technician the schedule booked to check it: their next step. The
next mount, handed to a technician by the lead, is withdrawn from the robot's orders.
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from fieldops.adapters.mqtt.acl import fleet_serials
from fieldops.adapters.mqtt.simulator import SimulatedRobot
from tests.fixtures_mqtt import Sniffer, sample_profiles
from tests.fixtures_web import REPO, LiveServer, seed_users

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

LAB = REPO / "floorplans" / "lab-hall"


@pytest.fixture(scope="module")
def lab_plan(tmp_path_factory):
    from fieldops import services

    out = tmp_path_factory.mktemp("lab") / "plan"
    services.plan_design(LAB, out)
    return out


def api(server, path: str, token: str, body: dict | None = None):
    req = urllib.request.Request(
        server.url + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def wait_until(predicate, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while True:
        got = predicate()
        if got:
            return got
        assert time.monotonic() < deadline, f"still not true after {timeout_s} s"
        time.sleep(0.2)


def start_robots(plan_dir, broker_url: str) -> list[SimulatedRobot]:
    """One simulated robot per robot of the plan's team, with the serials the bridge uses, on
    the plan's hall (the VDA 5050 mapId)."""
    profiles = sample_profiles()
    doc = json.loads((plan_dir / "workorders.json").read_text())
    team, hall = doc["team"], doc["design"]["hall"]
    by_profile: dict[str, list[str]] = {}
    for member in sorted(team, key=lambda t: t["name"]):
        if member["kind"] == "robot":
            by_profile.setdefault(member["profile"], []).append(member["name"])
    robots = []
    for name, members in sorted(by_profile.items()):
        profile = profiles[name]
        for serial in fleet_serials(profile.serial_number, len(members)):
            robots.append(
                SimulatedRobot(
                    profile, broker_url, serial_number=serial, time_scale=2000.0, map_id=hall
                ).start()
            )
    return robots


def test_serve_with_robots_dispatches_robot_steps_and_records_their_results(
    tmp_path, lab_plan, mosquitto
):
    from fieldops.adapters.store import Store

    url = f"sqlite:///{tmp_path / 'robots.db'}"
    st = Store(url)
    seed_users(st)
    tokens = {name: st.create_token(name, "test") for name in ("lee", "ann")}
    st.close()
    server = LiveServer(
        url,
        tmp_path,
        broker=mosquitto.url(),
        extra_args=["--plan", str(lab_plan), "--design", str(LAB), "--robots"],
    ).start()
    robots = start_robots(lab_plan, mosquitto.url())
    try:
        assert {r.serial for r in robots} == {"LIFT-001", "CABLE-001"}
        for r in robots:
            assert r.connected.wait(10)
        lead = tokens["lee"]

        def status(step_id: str) -> str:
            return api(server, f"/api/steps/{step_id}", lead)["step"]["status"]

        pdus = ["mount:pdu-b06-a", "mount:pdu-b06-b", "mount:pdu-b05-a", "mount:pdu-b05-b"]
        assert status(pdus[0]) != "done"  # its rack is not placed yet
        # the technicians place racks B06 and B05 (the lead confirms for them here)
        for rack in ("rack:B06", "rack:B05"):
            res = api(server, f"/api/steps/{rack}/confirm", lead, {"client_id": f"c-{rack}"})
            assert res["step"]["status"] == "done"
        wait_until(lambda: status(pdus[-1]) == "done")

        for step_id in pdus:
            step = api(server, f"/api/steps/{step_id}", lead)["step"]
            assert [(c["how"], c["actor"]) for c in step["confirmations"]] == [
                ("robot", "lift-robot-1")
            ]
        # robot + technician, and its technician part (the rails) is not done: held back
        assert status("mount:srv-28") in ("pending", "ready")

        # the lead's dashboard data
        progress = api(server, "/api/progress", lead)
        lift = next(a for a in progress["assignees"] if a["name"] == "lift-robot-1")
        assert (lift["kind"], lift["done"]) == ("robot", 4)
        assert progress["done"] == 6  # two racks, four PDUs
        racks = {r["rack"]: r for r in progress["racks"]}
        assert racks["B06"]["counts"]["done"] == 3 and racks["B05"]["counts"]["done"] == 3
        done_by_robot = api(server, "/api/steps?assignee=lift-robot-1&status=done", lead)
        assert sorted(s["id"] for s in done_by_robot["steps"]) == sorted(pdus)
        events = api(server, "/api/events?limit=1000", lead)["events"]
        assert {
            e["step_id"]
            for e in events
            if e["kind"] == "step_status" and e["data"]["status"] == "done"
        } == set(pdus)

        # the rails go in: the robot mounts srv-28 and its work waits for technician-1's check
        # (booked by the schedule), which is technician-1's next step; ann confirms it
        api(server, "/api/steps/rails:srv-28/confirm", lead, {"client_id": "c-rails-28"})
        wait_until(lambda: status("mount:srv-28") == "awaiting_confirmation")
        ann = tokens["ann"]  # technician-1
        nxt = api(server, "/api/next", ann)["step"]
        assert (nxt["id"], nxt["assignee"], nxt["checker"]) == (
            "mount:srv-28",
            "lift-robot-1",
            "technician-1",
        )
        res = api(server, "/api/steps/mount:srv-28/confirm", ann, {"client_id": "ann-chk-28"})
        assert res["step"]["status"] == "done" and res["confirmation"]["actor"] == "ann"

        # the lead hands the next mount (srv-29) to technician-1 before the robot got it: the
        # robot's orders leave it out, ann mounts it scanning its asset tag, and the robot goes
        # on with srv-30 once ann's mount is done
        sniffer = Sniffer(mosquitto.url(), "uagv/v2/+/+/order", client_id="order-sniffer")
        moved = api(server, "/api/steps/mount:srv-29/reassign", lead, {"assignee": "technician-1"})[
            "step"
        ]
        assert (moved["assignee"], moved["confirm"]) == ("technician-1", "scan_asset")
        for rails in ("rails:srv-29", "rails:srv-30"):
            api(server, f"/api/steps/{rails}/confirm", lead, {"client_id": f"c-{rails}"})
        res = api(
            server,
            "/api/steps/mount:srv-29/confirm",
            ann,
            {"client_id": "ann-29", "codes": ["LAB-0029"]},
        )
        assert (res["confirmation"]["how"], res["confirmation"]["actor"]) == ("scan", "ann")
        wait_until(lambda: status("mount:srv-30") == "awaiting_confirmation")
        events = api(server, "/api/events?limit=1000", lead)["events"]
        assert [e["kind"] for e in events if e["step_id"] == "mount:srv-29"] == [
            "step_reassigned",
            "step_confirmed",
        ]  # no robot ever reported on it
        sniffer.client.disconnect()
        sent = {
            (a["actionId"], a["actionType"])
            for _t, _q, _r, payload in sniffer.messages
            for n in json.loads(payload)["nodes"]
            for a in n["actions"]
        }
        assert any(aid.startswith("mount:srv-30:") for aid, _ in sent)  # the orders were seen
        assert not [a for a in sent if a[0].startswith("mount:srv-29:")]  # srv-29 never sent
    finally:
        for r in robots:
            r.stop()
        server.stop()
