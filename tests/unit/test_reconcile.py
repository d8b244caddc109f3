"""Drift between the as-built hall and the design, and fix-ups that put it right.

The hall is tests/samples.py's tiny hall (R01..R03 in a row, fronts facing -y) with four
designed cables, all to sw1 (R02 U40, rear)::

    [srv1:eth0] --A-- [sw1:swp1]      [srv1:bmc] --C-- [sw1:swp3]
    [srv2:eth0] --B-- [sw1:swp2]      [srv2:bmc] --D-- [sw1:swp4]

Each canonical case writes the observation file (sw1's neighbours, the CSV format) in the test,
loads it through fieldops.adapters.observed, and checks that the report names exactly the
drifted cable(s) and that the fix-up steps, applied to the as-built record, leave no drift.
"""

from __future__ import annotations

import pytest

from fieldops.adapters.designfile import load_design
from fieldops.adapters.observed import load_observations
from fieldops.core import asbuilt as ab
from fieldops.core.labels import assign_ids, cable_identity
from fieldops.core.reconcile import DRIFT_CABLE, build_drift, build_fixups, merge_observed
from fieldops.core.workorder import Step
from tests.samples import tiny_devices, write_design

CABLES = [
    {"a": "srv1:eth0", "b": "sw1:swp1", "media": "cat6a"},
    {"a": "srv2:eth0", "b": "sw1:swp2", "media": "cat6a"},
    {"a": "srv1:bmc", "b": "sw1:swp3", "media": "cat6a"},
    {"a": "srv2:bmc", "b": "sw1:swp4", "media": "cat6a"},
]
AS_DESIGNED = [
    ("sw1", "swp1", "srv1", "eth0"),
    ("sw1", "swp2", "srv2", "eth0"),
    ("sw1", "swp3", "srv1", "bmc"),
    ("sw1", "swp4", "srv2", "bmc"),
]


def cid(a: str, b: str) -> str:
    """The planner's cable ID (fieldops.core.labels), computed independently of reconcile."""
    ids, _ = assign_ids([(cable_identity(a, b), "")])
    return ids[cable_identity(a, b)]


A, B, C, D = (cid(c["a"], c["b"]) for c in CABLES)


@pytest.fixture
def design(tmp_path):
    return load_design(write_design(tmp_path / "hall", cables=CABLES)).design


def observe(tmp_path, rows) -> object:
    path = tmp_path / "sw1-lldp.csv"
    path.write_text(
        "device,port,neighbour_device,neighbour_port\n" + "".join(",".join(r) + "\n" for r in rows)
    )
    return path


def reconcile(design, tmp_path, rows, record=None):
    obs = load_observations([str(observe(tmp_path, rows))], design)
    merged = merge_observed(
        record if record is not None else ab.AsBuilt(design.floorplan.name), obs
    )
    scope = None if record is not None else obs
    report = build_drift(design, merged, scope=scope, devices_recorded=record is not None)
    return report, scope


def fixed(design, report, scope, record=None):
    """Apply every fix-up step to the resolved record; return the new drift report."""
    steps = build_fixups(design, report)
    assert all(isinstance(s, Step) and s.phase == "fixup" and s.kind == "fixup" for s in steps)
    after = ab.apply_all(report.resolved, [ab.StepDone(s.id, s.action) for s in steps])
    return (
        steps,
        after,
        build_drift(design, after, scope=scope, devices_recorded=record is not None),
    )


def drifted(report):
    return sorted((d.status, d.cable) for d in report.cables if d.status in DRIFT_CABLE)


def test_as_designed_hall_has_no_drift_and_no_steps(design, tmp_path):
    report, _ = reconcile(design, tmp_path, AS_DESIGNED)
    assert report.counts["cables"]["as_designed"] == 4
    assert not report.has_drift
    assert build_fixups(design, report) == ()


def test_one_missing_cable(design, tmp_path):
    report, scope = reconcile(design, tmp_path, AS_DESIGNED[:3])
    assert drifted(report) == [("missing", D)]
    assert report.counts["cables"] == {
        "as_designed": 3,
        "mislabelled": 0,
        "missing": 1,
        "swapped": 0,
        "wrong_port": 0,
        "unexpected": 0,
        "suspect": 0,
        "unobserved": 0,
    }
    steps, after, again = fixed(design, report, scope)
    assert [s.id for s in steps] == [f"fixup-{D}"]
    (s,) = steps
    assert s.expect_codes == (D,) and s.confirm == "scan_label"
    assert s.instruction.startswith(
        f"Run {D} (cat6a) from srv2 bmc (R03 U10 rear) to sw1 swp4 (R02 U40 rear)"
    )
    # srv2 is front-mounted with front-to-rear airflow: its ports are on the rear face. R03's
    # centre is (3000, 3000), depth 1200, front faces -y: the rear face centre is (3000, 3600),
    # the stand-off 600 mm further into the aisle, facing the rack (-y, 270 degrees).
    assert (s.location.rack, s.location.face, s.location.u) == ("R03", "rear", 10)
    assert (s.location.x_mm, s.location.y_mm, s.location.theta_deg) == (3000, 4200, 270.0)
    assert (
        s.location.location_id == "1A-F06"
    )  # 3000 // 600 = column 5 (F), 3000 // 600 + 1 = row 06
    assert not again.has_drift
    assert after.link_set() == {tuple(sorted(c.key)) for c in design.cables}


def test_one_swap(design, tmp_path):
    rows = [("sw1", "swp1", "srv2", "eth0"), ("sw1", "swp2", "srv1", "eth0")] + AS_DESIGNED[2:]
    report, scope = reconcile(design, tmp_path, rows)
    assert drifted(report) == sorted([("swapped", A), ("swapped", B)])
    by = {d.cable: d for d in report.cables}
    assert by[A].partner == B and by[B].partner == A
    # the two misplaced ends are both on sw1: exchange them there (not at the servers)
    assert "sw1 swp1 and sw1 swp2" in by[A].message or "sw1 swp2 and sw1 swp1" in by[A].message
    steps, after, again = fixed(design, report, scope)
    assert len(steps) == 1 and set(steps[0].expect_codes) == {A, B}
    # sw1 is mounted rear and its type names no airflow: its ports are on its own front, R02's rear
    assert steps[0].location.rack == "R02" and steps[0].location.face == "rear"
    assert not again.has_drift
    assert after.cables[A] == ("srv1:eth0", "sw1:swp1") and after.cables[B] == (
        "srv2:eth0",
        "sw1:swp2",
    )


def test_one_wrong_port(design, tmp_path):
    rows = AS_DESIGNED[:3] + [("sw1", "swp9", "srv2", "bmc")]
    report, scope = reconcile(design, tmp_path, rows)
    assert drifted(report) == [("wrong_port", D)]
    d = next(x for x in report.cables if x.cable == D)
    assert d.observed == ("srv2:bmc", "sw1:swp9") and d.moves == (("sw1:swp9", "sw1:swp4"),)
    steps, after, again = fixed(design, report, scope)
    assert [s.instruction for s in steps] == [f"Unplug {D} from sw1 swp9, plug into swp4, re-scan."]
    assert not again.has_drift and after.cables[D] == ("srv2:bmc", "sw1:swp4")


def test_one_unexpected_link(design, tmp_path):
    rows = AS_DESIGNED + [("sw1", "up1", "srv1", "p0")]
    report, scope = reconcile(design, tmp_path, rows)
    assert drifted(report) == [("unexpected", "?srv1:p0~sw1:up1")]
    steps, after, again = fixed(design, report, scope)
    assert (
        len(steps) == 1
        and "between srv1 p0 (R01 U10 rear) and sw1 up1 (R02 U40 rear)" in steps[0].instruction
    )
    assert not again.has_drift and "sw1:up1" not in after.port_map()


def test_one_device_in_the_wrong_u(design, tmp_path):
    record = ab.from_design(design)
    record = ab.apply(record, ab.DeviceMounted("srv1", "R01", 12, "front", serial="SN1"))
    report, scope = reconcile(design, tmp_path, AS_DESIGNED, record=record)
    assert drifted(report) == []
    wrong = [
        (d.device, d.status, d.designed, d.observed)
        for d in report.devices
        if d.status != "as_designed"
    ]
    assert wrong == [("srv1", "wrong_u", ("R01", 10, "front"), ("R01", 12, "front"))]
    steps, after, again = fixed(design, report, scope, record)
    assert [s.title for s in steps] == ["Move srv1 to R01 U10 front"]
    assert steps[0].location.u == 12  # the step starts where the device is now
    assert (
        not again.has_drift
        and after.devices["srv1"].position == 10
        and after.devices["srv1"].serial == "SN1"
    )


def test_wrong_port_onto_a_port_another_missing_cable_needs_orders_the_steps(design, tmp_path):
    # D sits in swp3 (C's port) and C is missing: D must move out before C goes in.
    rows = AS_DESIGNED[:2] + [("sw1", "swp3", "srv2", "bmc")]
    report, scope = reconcile(design, tmp_path, rows)
    assert drifted(report) == sorted([("missing", C), ("wrong_port", D)])
    steps, _after, again = fixed(design, report, scope)
    ids = [s.id for s in steps]
    assert ids == [f"fixup-{D}", f"fixup-{C}"]
    assert steps[1].depends_on == (f"fixup-{D}",)
    assert not again.has_drift


def test_rotation_of_three_cables_is_one_visit(design, tmp_path):
    # A -> swp2, B -> swp3 ... a cycle: each needs the port another one holds.
    rows = [
        ("sw1", "swp2", "srv1", "eth0"),
        ("sw1", "swp3", "srv2", "eth0"),
        ("sw1", "swp1", "srv1", "bmc"),
        AS_DESIGNED[3],
    ]
    report, scope = reconcile(design, tmp_path, rows)
    assert {d.status for d in report.cables if d.cable in (A, B, C)} == {"wrong_port"}
    steps, _after, again = fixed(design, report, scope)
    assert len(steps) == 1 and set(steps[0].expect_codes) == {A, B, C}
    assert not again.has_drift


def test_labels_scanned_in_the_record_decide_the_swap_side(design, tmp_path):
    # The record says the cable at srv1:eth0 is labelled B: the servers' ends were swapped.
    record = ab.apply_all(
        ab.AsBuilt(design.floorplan.name),
        [
            ab.CableConnected(B, "srv1:eth0", "sw1:swp2"),
            ab.CableConnected(A, "srv2:eth0", "sw1:swp1"),
        ],
    )
    rows = [("sw1", "swp1", "srv2", "eth0"), ("sw1", "swp2", "srv1", "eth0")] + AS_DESIGNED[2:]
    obs = load_observations([str(observe(tmp_path, rows))], design)
    report = build_drift(design, merge_observed(record, obs), scope=obs, devices_recorded=False)
    d = next(x for x in report.cables if x.cable == A)
    assert d.status == "swapped" and {p for m in d.moves for p in m} == {"srv1:eth0", "srv2:eth0"}
    steps = build_fixups(design, report)
    after = ab.apply_all(report.resolved, [ab.StepDone(s.id, s.action) for s in steps])
    assert after.cables[A] == ("srv1:eth0", "sw1:swp1")


def test_a_cable_in_the_right_ports_with_another_cables_label_is_relabelled(design, tmp_path):
    """The audit scanned B's label on the cable in A's ports (A's and B's labels were fitted
    to the wrong cables), and B's ports hold a cable with no readable label: A is mislabelled
    (a technician tracing B would pull A), the fix-up reprints A's labels in place, and the
    record then has A where A belongs, under its own label."""
    record = ab.apply_all(
        ab.AsBuilt(design.floorplan.name),
        [
            ab.CableConnected(B, "srv1:eth0", "sw1:swp1"),
            ab.CableConnected(C, "srv1:bmc", "sw1:swp3"),
        ],
    )
    obs = load_observations([str(observe(tmp_path, AS_DESIGNED))], design)
    report = build_drift(design, merge_observed(record, obs), scope=obs, devices_recorded=False)
    assert drifted(report) == [("mislabelled", A)]
    d = next(x for x in report.cables if x.cable == A)
    assert d.partner == B and d.observed == ("srv1:eth0", "sw1:swp1")
    assert d.message == f"{A} mislabelled: the cable in srv1 eth0 -- sw1 swp1 carries the label {B}"
    assert report.counts["cables"]["as_designed"] == 3 and report.has_drift
    (step,) = build_fixups(design, report)
    assert step.title == f"Relabel {A} (it carries {B})"
    assert (step.confirm, step.expect_codes) == ("scan_label", (A,))
    assert [(p.kind, p.ref) for p in step.parts] == [("label", A)]
    assert "Leave it plugged" in step.instruction
    after = ab.apply_all(report.resolved, [ab.StepDone(step.id, step.action)])
    assert after.cables[A] == ("srv1:eth0", "sw1:swp1") and B in after.cables
    assert not build_drift(design, after, scope=obs, devices_recorded=False).has_drift
    # confirmed on the floor: the new labels' scans rename the cable in the record itself
    raw = ab.apply_all(merge_observed(record, obs), [ab.StepDone(step.id, step.action)])
    assert raw.cables[A] == ("srv1:eth0", "sw1:swp1") and B not in raw.cables
    assert not build_drift(design, raw, scope=obs, devices_recorded=False).has_drift


def test_unobserved_cables_are_not_missing(design, tmp_path):
    # only srv1 reports (not sw1): srv2's cables were not looked at
    path = tmp_path / "srv1.csv"
    path.write_text(
        "device,port,neighbour_device,neighbour_port\nsrv1,eth0,sw1,swp1\nsrv1,bmc,sw1,swp3\n"
    )
    obs = load_observations([str(path)], design)
    report = build_drift(
        design, merge_observed(ab.AsBuilt(), obs), scope=obs, devices_recorded=False
    )
    assert report.counts["cables"]["unobserved"] == 2 and not report.has_drift


def test_devices_missing_and_unexpected_from_the_record(design):
    record = ab.from_design(design)
    record = ab.apply_all(
        record, [ab.DeviceUnmounted("srv2"), ab.DeviceMounted("stray", "R03", 10, "front")]
    )
    report = build_drift(design, record)
    got = sorted((d.status, d.device) for d in report.devices if d.status != "as_designed")
    assert got == [("missing", "srv2"), ("unexpected", "stray")]
    steps = build_fixups(design, report)
    # the stray device sits in srv2's U: it is removed first
    assert [s.id for s in steps] == ["fixup-stray", "fixup-srv2"] and steps[1].depends_on == (
        "fixup-stray",
    )
    after = ab.apply_all(report.resolved, [ab.StepDone(s.id, s.action) for s in steps])
    assert not build_drift(design, after).has_drift


def test_same_input_same_steps(design, tmp_path):
    rows = [
        ("sw1", "swp1", "srv2", "eth0"),
        ("sw1", "swp2", "srv1", "eth0"),
        ("sw1", "swp9", "srv2", "bmc"),
    ]
    r1, _ = reconcile(design, tmp_path, rows)
    r2, _ = reconcile(design, tmp_path, list(reversed(rows)))
    assert r1.to_dict() == r2.to_dict()
    assert [(s.id, s.instruction, s.depends_on) for s in build_fixups(design, r1)] == [
        (s.id, s.instruction, s.depends_on) for s in build_fixups(design, r2)
    ]


def test_tiny_devices_unchanged():
    assert [d["name"] for d in tiny_devices()] == ["sw1", "srv1", "srv2"]
