"""Step generation (fieldops.core.steps): IDs, dependencies, locations, confirmations, feeds.

The hall (all in memory, no files)::

    y
    ^   front faces -y; stand-off points 600 mm out from each face
    |   [R1 x=1000] [R2 x=1600]      rack centres at y=3000, 600 x 1200 mm
    +-------------------------> x

    R1: pdu-a, pdu-b (zero-U, rear); srv1 U10 (16 kg, asset LAB-1); gpu1 U2-U5 (40 kg)
    R2: sw1 U40 (rear)
    cables: srv1:PSU1 -> pdu-a:Outlet1 (power), srv1:PSU2 -> pdu-b:Outlet13 (power),
            srv1:eth0 -> sw1:swp1 (copper, over tray T1), gpu1:eth0 -> sw1:swp2
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fieldops.core.cableplan import CableEnd, CablePlan, CableRun
from fieldops.core.model import (
    FRONT,
    REAR,
    CableTray,
    Design,
    Device,
    DeviceType,
    FloorGrid,
    FloorPlan,
    Media,
    PortTemplate,
    Rack,
    RackType,
    RobotProfile,
    Waypoint,
    frozen_map,
)
from fieldops.core.problems import DesignError
from fieldops.core.steps import build_steps, feed_name, remediation_step, standard_times
from fieldops.core.workorder import CONFIRM_MANUAL, CONFIRM_SCAN_ASSET, CONFIRM_SCAN_LABEL


class StraightWalk:
    """Stand-in WalkGraph: stand-off 600 mm out from the face centre, straight-line distances."""

    def __init__(self, design: Design):
        self.design = design

    def standoff(self, rack_name: str, face: str):
        rack = self.design.floorplan.rack(rack_name)
        if rack is None:
            raise KeyError(f"no rack '{rack_name}' on the floor plan")
        rt = self.design.floorplan.rack_types[rack.rack_type]
        x, y = rack.face_point(rt, face, 600)
        nx, ny = rack.front_normal()
        if face == REAR:
            nx, ny = -nx, -ny
        return (x, y, math.atan2(-ny, -nx))

    def waypoint(self, name: str):
        for w in self.design.floorplan.waypoints:
            if w.name == name:
                return (float(w.position[0]), float(w.position[1]))
        raise KeyError(name)

    def distance_matrix(self, points):
        p = np.asarray(points, dtype=float).reshape(-1, 2)
        return np.hypot(p[:, None, 0] - p[None, :, 0], p[:, None, 1] - p[None, :, 1])


PSUS = (PortTemplate("PSU1", "power-port"), PortTemplate("PSU2", "power-port"))
SERVER = DeviceType(
    "Gen",
    "Server",
    "srv",
    1,
    True,
    16,
    ports=(
        PortTemplate("bmc", "interface", mgmt_only=True),
        PortTemplate("eth0", "interface"),
        *PSUS,
    ),
)
GPU = DeviceType("Gen", "GPU", "gpu", 4, True, 40, ports=(PortTemplate("eth0", "interface"), *PSUS))
SWITCH = DeviceType(
    "Gen",
    "Switch",
    "sw",
    1,
    False,
    8,
    ports=tuple(PortTemplate(f"swp{i}", "interface") for i in (1, 2)),
)
PDU = DeviceType(
    "Gen",
    "PDU",
    "pdu",
    0,
    True,
    None,
    ports=(
        PortTemplate("Inlet", "power-port"),
        *(
            PortTemplate(f"Outlet{i}", "power-outlet", feed_leg="A" if i <= 12 else "B")
            for i in range(1, 25)
        ),
    ),
)


def design(extra_devices=()) -> Design:
    fp = FloorPlan(
        name="T",
        outline=((0, 0), (4000, 0), (4000, 6000), (0, 6000)),
        grid=FloorGrid(600, (0, 0), "1A"),
        waypoints=(Waypoint("STAGE", "staging", (200, 200)),),
        trays=(CableTray("T1", ((700, 3000), (1900, 3000)), 2600, 300, ("copper",)),),
        rack_types=frozen_map({"r42": RackType("r42", 600, 1200, 42)}),
        racks=(
            Rack("R1", "r42", (1000, 3000), 0.0, "A"),
            Rack("R2", "r42", (1600, 3000), 0.0, "A"),
        ),
    )
    devices = (
        Device("pdu-b", "pdu", "R1", None, REAR, "pdu"),
        Device("pdu-a", "pdu", "R1", None, REAR, "pdu"),
        Device("srv1", "srv", "R1", 10, FRONT, "server", "LAB-1"),
        Device("gpu1", "gpu", "R1", 2, FRONT, "gpu-server"),
        Device("sw1", "sw", "R2", 40, REAR, "leaf"),
        *extra_devices,
    )
    types = {"srv": SERVER, "gpu": GPU, "sw": SWITCH, "pdu": PDU}
    media = {"cat6a": Media("cat6a", "Cat6A", "copper", "cat6a", (1000, 3000))}
    return Design("t", "1", fp, frozen_map(types), devices, (), frozen_map(media))


def end(device, port, rack, u, face, lid="1A-B05"):
    return CableEnd(device, port, rack, lid, u, face, f"{rack} {device} {port}".upper())


def run(cid, a, b, media="cat6a", media_class="copper", trays=()):
    return CableRun(
        cid, a, b, media, media_class, 1000.0, 1500.0, 3000, f"{media.upper()}-3M", trays
    )


def cable_plan(extra=()) -> CablePlan:
    return CablePlan(
        (
            run(
                "C-PWR0001",
                end("srv1", "PSU1", "R1", 10, REAR),
                end("pdu-a", "Outlet1", "R1", None, REAR),
                "pwr",
                "power",
            ),
            run(
                "C-PWR0002",
                end("srv1", "PSU2", "R1", 10, REAR),
                end("pdu-b", "Outlet13", "R1", None, REAR),
                "pwr",
                "power",
            ),
            run(
                "C-DATA001",
                end("srv1", "eth0", "R1", 10, FRONT),
                end("sw1", "swp1", "R2", 40, REAR),
                trays=("T1",),
            ),
            run(
                "C-DATA002",
                end("sw1", "swp2", "R2", 40, REAR),
                end("gpu1", "eth0", "R1", 2, FRONT),
                trays=("T1",),
            ),
            *extra,
        )
    )


TECH = RobotProfile(
    "technician",
    "technician",
    actions=(
        "place_rack",
        "install_rails",
        "mount_device",
        "connect_power",
        "run_cable",
        "burnin_check",
        "remediate",
        "verify_rack",
    ),
    payload_kg=23,
    u_max=42,
    action_time_s=frozen_map({"mount_device": 500}),
    count=2,
)
LIFT = RobotProfile(
    "lift",
    "robot",
    actions=("mount_device",),
    payload_kg=120,
    u_max=44,
    action_time_s=frozen_map({"mount_device": 420}),
)


def steps_by_id(team=(TECH,), d=None, cp=None):
    d = d or design()
    return {s.id: s for s in build_steps(d, cp or cable_plan(), StraightWalk(d), team)}


def test_one_step_per_object_with_ids_from_the_object():
    ids = set(steps_by_id())
    assert ids == {
        "rack:R1", "rack:R2",
        "rails:gpu1", "rails:srv1", "rails:sw1",
        "mount:pdu-a", "mount:pdu-b", "mount:gpu1", "mount:srv1", "mount:sw1",
        "power:C-PWR0001", "power:C-PWR0002",
        "cable:C-DATA001", "cable:C-DATA002",
        "burnin:pdu-a", "burnin:pdu-b", "burnin:srv1", "burnin:gpu1", "burnin:sw1",
        "verify:R1", "verify:R2",
    }  # fmt: skip


def test_stacking_is_a_bottom_up_chain_with_zero_u_first_and_rails_before_each_mount():
    s = steps_by_id()
    assert s["mount:pdu-a"].depends_on == ("rack:R1",)
    assert s["mount:pdu-b"].depends_on == ("mount:pdu-a",)
    assert s["mount:gpu1"].depends_on == ("mount:pdu-b", "rails:gpu1")  # U2 before U10
    assert s["mount:srv1"].depends_on == ("mount:gpu1", "rails:srv1")
    assert s["rails:srv1"].depends_on == ("rack:R1",)
    assert s["mount:sw1"].depends_on == ("rack:R2", "rails:sw1")
    assert s["mount:gpu1"].action["u"] == 2 and s["mount:gpu1"].action["u_height"] == 4.0
    assert "U2-U5" in s["mount:gpu1"].title


def test_location_is_the_rack_face_and_its_standoff_pose():
    s = steps_by_id()
    loc = s["mount:srv1"].location
    # R1 centre (1000, 3000), depth 1200, front faces -y: front face at y=2400, stand-off 600 further
    assert (loc.rack, loc.face, loc.u, loc.x_mm, loc.y_mm, loc.theta_deg) == (
        "R1",
        FRONT,
        10,
        1000,
        1800,
        90.0,
    )
    assert loc.location_id == "1A-B06"
    rear = s["mount:sw1"].location
    assert (rear.face, rear.x_mm, rear.y_mm, rear.theta_deg) == (REAR, 1600, 4200, -90.0)


def test_mount_confirms_by_asset_scan_when_tagged_and_manually_otherwise():
    s = steps_by_id()
    assert s["mount:srv1"].confirm == CONFIRM_SCAN_ASSET and s["mount:srv1"].expect_codes == (
        "LAB-1",
    )
    assert "Scan asset tag LAB-1" in s["mount:srv1"].instruction
    assert s["mount:gpu1"].confirm == CONFIRM_MANUAL and s["mount:gpu1"].expect_codes == ()
    assert s["mount:srv1"].action == {
        "type": "mount_device", "device": "srv1", "device_type": "srv", "rack": "R1", "u": 10,
        "u_height": 1.0, "face": FRONT, "weight_kg": 16.0, "asset_tag": "LAB-1",
    }  # fmt: skip
    assert s["mount:srv1"].parts[0].ref == "LAB-1" and s["mount:srv1"].parts[0].sku == "srv"


def test_heavy_device_needs_two_people_without_a_lift_and_one_lift_with_it():
    alone = steps_by_id((TECH,))["mount:gpu1"]
    assert alone.weight_kg == 40.0 and alone.crew_size == 2
    assert "TWO-PERSON LIFT: 40 kg is over the 23 kg single-person limit" in alone.instruction
    lifted = steps_by_id((TECH, LIFT))["mount:gpu1"]
    assert lifted.crew_size == 1 and "Use the lift" in lifted.instruction
    assert steps_by_id((TECH,))["mount:srv1"].crew_size == 1  # 16 kg


def test_power_cords_name_the_feed_from_the_pdu_not_the_phase_leg():
    s = steps_by_id()
    b = s["power:C-PWR0002"]
    assert (b.phase, b.kind, b.confirm, b.expect_codes) == (
        "power",
        "connect_power",
        CONFIRM_SCAN_LABEL,
        ("C-PWR0002",),
    )
    assert b.action["feed"] == "B" and b.action["phase_leg"] == "B"
    a = s["power:C-PWR0001"]
    assert (
        a.action["feed"] == "A" and a.action["pdu"] == "pdu-a" and a.action["outlet"] == "Outlet1"
    )
    assert (
        "(feed A)" in a.instruction and a.action["device"] == "srv1" and a.action["port"] == "PSU1"
    )
    assert a.depends_on == ("mount:pdu-a", "mount:srv1")
    assert (a.location.rack, a.location.face, a.location.u) == ("R1", REAR, 10)


@pytest.mark.parametrize(
    ("pdu", "leg", "feed"),
    [
        ("pdu-a01-b", "A", "B"),
        ("PDU-A01-A", "C", "A"),
        ("pdu7", "C", "C"),
        ("pdu_b", "", "B"),
        ("pdu-ab", "", ""),
    ],
)
def test_feed_name(pdu, leg, feed):
    assert feed_name(pdu, leg) == feed


def test_data_cable_step_both_ends_label_scan_and_bundle_group():
    s = steps_by_id()
    c = s["cable:C-DATA002"]
    assert (c.phase, c.kind, c.confirm, c.expect_codes) == (
        "cable",
        "run_cable",
        CONFIRM_SCAN_LABEL,
        ("C-DATA002",),
    )
    # located at the end in the rack that comes first in the design (R1), whichever is A
    assert (c.location.rack, c.location.face, c.location.u) == ("R1", FRONT, 2)
    assert c.group == "bundle:R1-R2:T1" == s["cable:C-DATA001"].group
    assert c.parts[0].ref == "C-DATA002" and c.parts[0].sku == "CAT6A-3M"
    assert c.depends_on == ("mount:gpu1", "mount:sw1")
    assert c.action["a"]["device"] == "sw1" and c.action["b"]["device"] == "gpu1"
    assert c.action["b"]["x_mm"] == 1000 and c.action["b"]["y_mm"] == 1800
    assert c.action["max_elevation_mm"] == 2600 and c.action["tray_path"] == ["T1"]
    assert "'R1 GPU1 ETH0'" in c.instruction and "along T1" in c.instruction


def test_burnin_checks_follow_role_and_cabling_and_wait_for_link_peers_power():
    s = steps_by_id()
    srv = s["burnin:srv1"]
    checks = [c["check"] for c in srv.action["checks"]]
    assert checks == ["power_on", "mgmt_reachable", "firmware_recorded", "link_up", "diagnostics"]
    assert srv.action["checks"][3] == {
        "check": "link_up",
        "port": "eth0",
        "cable": "C-DATA001",
        "peer": "sw1:swp1",
    }
    assert set(srv.depends_on) == {
        "mount:srv1",
        "power:C-PWR0001",
        "power:C-PWR0002",
        "cable:C-DATA001",
    }
    sw = s["burnin:sw1"]
    # the switch's link-up checks need its peers powered: srv1's cords (gpu1 has none here)
    assert set(sw.depends_on) == {
        "mount:sw1",
        "cable:C-DATA001",
        "cable:C-DATA002",
        "power:C-PWR0001",
        "power:C-PWR0002",
    }
    assert s["verify:R1"].depends_on == (
        "burnin:gpu1",
        "burnin:pdu-a",
        "burnin:pdu-b",
        "burnin:srv1",
        "rack:R1",
    )


def test_ids_are_stable_when_other_cables_are_added():
    before = steps_by_id()
    extra = run(
        "C-DATA003", end("gpu1", "eth0", "R1", 2, FRONT), end("sw1", "swp2", "R2", 40, REAR)
    )
    after = steps_by_id(cp=cable_plan((extra,)))
    assert set(before) <= set(after) and set(after) - set(before) == {"cable:C-DATA003"}
    for sid in ("mount:srv1", "power:C-PWR0001", "cable:C-DATA001"):
        assert after[sid].instruction == before[sid].instruction


def test_standard_times_prefer_the_technician_profile():
    times = standard_times([LIFT, TECH])
    assert times["mount_device"] == 500.0  # the technician's, not the lift's 420
    assert times["run_cable"] == 240.0  # default when nobody declares it


def test_unknown_rack_in_the_cable_plan_names_the_step():
    bad = run("C-BAD0001", end("srv1", "eth0", "R1", 10, FRONT), end("ghost", "p1", "R9", 1, FRONT))
    d = design()
    with pytest.raises(DesignError) as err:
        build_steps(d, cable_plan((bad,)), StraightWalk(d), (TECH,))
    assert "cable:C-BAD0001" in str(err.value) and "R9" in str(err.value)


def test_remediation_step_is_pure_stable_and_located():
    burn = steps_by_id()["burnin:srv1"]
    fix = remediation_step(burn, "no link on eth0")
    again = remediation_step(burn, "  no link   on eth0 ")
    assert (
        fix == again
        and fix.id.startswith("remediate:burnin:srv1:")
        and len(fix.id.rsplit(":", 1)[1]) == 6
    )
    assert remediation_step(burn, "BMC does not answer").id != fix.id
    assert (fix.kind, fix.phase, fix.depends_on, fix.location) == (
        "remediate",
        "burnin",
        ("burnin:srv1",),
        burn.location,
    )
    assert fix.required_actions == ("remediate",) and "no link on eth0" in fix.instruction
    assert fix.action == {
        "type": "remediate",
        "step": "burnin:srv1",
        "device": "srv1",
        "reason": "no link on eth0",
    }
    with pytest.raises(DesignError, match="needs a reason"):
        remediation_step(burn, "   ")


def test_step_to_dict_matches_asdict_and_round_trips():
    import dataclasses

    from fieldops.core.workorder import step_from_dict, step_to_dict

    for s in steps_by_id((TECH, LIFT)).values():
        expected = dataclasses.asdict(s)
        expected["depends_on"] = list(s.depends_on)
        got = step_to_dict(s)
        assert got == expected
        got["action"]["type"] = "changed"  # a deep copy: the step is untouched
        assert s.action["type"] != "changed"
        assert step_from_dict(step_to_dict(s)) == s
