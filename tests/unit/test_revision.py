"""Design revisions become move/add/change steps: only what changed, in a safe order.

Old hall (tests/samples.py's tiny row R01..R03)::

    R01: srv1 U10, srv3 U12        R02: sw1 U40 (rear)        R03: srv2 U10
    [srv1:eth0] --C1-- [sw1:swp1]  [srv2:eth0] --C2-- [sw1:swp2]  [srv3:eth0] --C3-- [sw1:swp3]

New hall: a second leaf sw2 in R02 U38 with three new cables (sw2:up1 -- sw1:up1,
srv1:bmc -- sw2:swp1, srv2:bmc -- sw2:swp2); srv1 moves up its rack to R01 U20; srv2 moves
from R03 into R01 U10, the U srv1 leaves. srv3 and C3 do not change.
"""

from __future__ import annotations

import copy

import pytest

from fieldops.adapters.designfile import load_design
from fieldops.core import asbuilt as ab
from fieldops.core.labels import assign_ids, cable_identity
from fieldops.core.revision import build_revision
from tests.samples import write_design

OLD_DEVICES = [
    {"name": "sw1", "device_type": "test-switch-1u", "rack": "R02", "position": 40, "face": "rear"},
    {
        "name": "srv1",
        "device_type": "test-server-1u",
        "rack": "R01",
        "position": 10,
        "asset_tag": "AT-1",
    },
    {"name": "srv2", "device_type": "test-server-1u", "rack": "R03", "position": 10},
    {"name": "srv3", "device_type": "test-server-1u", "rack": "R01", "position": 12},
]
OLD_CABLES = [
    {"a": "srv1:eth0", "b": "sw1:swp1", "media": "cat6a"},
    {"a": "srv2:eth0", "b": "sw1:swp2", "media": "cat6a"},
    {"a": "srv3:eth0", "b": "sw1:swp3", "media": "cat6a"},
]


def cid(a: str, b: str) -> str:
    ids, _ = assign_ids([(cable_identity(a, b), "")])
    return ids[cable_identity(a, b)]


C1, C2, C3 = (cid(c["a"], c["b"]) for c in OLD_CABLES)
N1, N2, N3 = cid("sw1:up1", "sw2:up1"), cid("srv1:bmc", "sw2:swp1"), cid("srv2:bmc", "sw2:swp2")


@pytest.fixture
def designs(tmp_path):
    old = load_design(write_design(tmp_path / "old", devices=OLD_DEVICES, cables=OLD_CABLES)).design
    devices = copy.deepcopy(OLD_DEVICES)
    devices[1]["position"] = 20
    devices[2].update(rack="R01", position=10)
    devices.append(
        {
            "name": "sw2",
            "device_type": "test-switch-1u",
            "rack": "R02",
            "position": 38,
            "face": "rear",
        }
    )
    cables = OLD_CABLES + [
        {"a": "sw2:up1", "b": "sw1:up1", "media": "dac-100g-qsfp28"},
        {"a": "srv1:bmc", "b": "sw2:swp1", "media": "cat6a"},
        {"a": "srv2:bmc", "b": "sw2:swp2", "media": "cat6a"},
    ]
    new = load_design(
        write_design(
            tmp_path / "new", devices=devices, cables=cables, design_extra={"revision": "2"}
        )
    ).design
    return old, new


def test_add_a_leaf_and_move_two_servers_touches_only_what_changed(designs):
    old, new = designs
    rev = build_revision(old, new)
    assert rev.changes["devices"] == {
        "added": ["sw2"],
        "removed": [],
        "moved": ["srv1", "srv2"],
        "replaced": [],
    }
    assert sorted(rev.changes["cables"]["added"]) == sorted([N1, N2, N3])
    assert rev.changes["cables"]["rerun"] == [C2]  # srv2 changes rack: a new route
    assert rev.changes["cables"]["replugged"] == [C1]  # srv1 stays in R01: unplug and re-plug
    assert rev.changes["cables"]["unchanged"] == [C3]
    ids = {s.id for s in rev.steps}
    assert ids == {
        "rev-drain:srv1",
        "rev-drain:srv2",
        f"rev-unplug:{C1}",
        f"rev-unplug:{C2}",
        "rev-unmount:srv1",
        "rev-unmount:srv2",
        "rev-mount:srv1",
        "rev-mount:srv2",
        "rev-mount:sw2",
        f"rev-plug:{C1}",
        f"rev-run:{C2}",
        f"rev-run:{N1}",
        f"rev-run:{N2}",
        f"rev-run:{N3}",
    }
    # nothing about srv3, sw1 as a device, or C3
    assert not any("srv3" in s.id or C3 in s.id or s.id.endswith(":sw1") for s in rev.steps)
    assert all(s.phase == "fixup" and s.kind == "fixup" for s in rev.steps)


def test_safe_order(designs):
    old, new = designs
    rev = build_revision(old, new)
    pos = {s.id: i for i, s in enumerate(rev.steps)}
    dep = {s.id: set(s.depends_on) for s in rev.steps}
    assert rev.steps
    for s in rev.steps:  # the list order respects every dependency
        assert all(pos[d] < pos[s.id] for d in s.depends_on)
    # drain before unplug, unplug before unmount
    assert (
        "rev-drain:srv1" in dep[f"rev-unplug:{C1}"] and "rev-drain:srv2" in dep[f"rev-unplug:{C2}"]
    )
    assert {f"rev-unplug:{C1}", "rev-drain:srv1"} <= dep["rev-unmount:srv1"]
    # srv2 goes into R01 U10: only after srv1 has left it
    assert "rev-unmount:srv1" in dep["rev-mount:srv2"]
    # cables after their devices are in place
    assert {"rev-mount:sw2", "rev-mount:srv1"} <= dep[f"rev-run:{N2}"]
    assert dep[f"rev-plug:{C1}"] == {"rev-mount:srv1", f"rev-unplug:{C1}"}


def test_unchanged_cables_keep_their_ids(designs):
    old, new = designs
    rev = build_revision(old, new)
    keys = {c.key: c for c in new.cables}
    assert rev.cable_ids[keys[("srv1:eth0", "sw1:swp1")].key] == C1
    assert rev.cable_ids[keys[("srv3:eth0", "sw1:swp3")].key] == C3


def test_applying_the_steps_to_the_old_hall_builds_the_new_one(designs):
    old, new = designs
    rev = build_revision(old, new)
    after = ab.apply_all(ab.from_design(old), [ab.StepDone(s.id, s.action) for s in rev.steps])
    target = ab.from_design(new, rev.cable_ids)
    assert dict(after.cables) == dict(target.cables)
    place = lambda rec: {n: (d.rack, d.position, d.face) for n, d in rec.devices.items()}  # noqa: E731
    assert place(after) == place(target)
    assert after.devices["srv1"].asset_tag == "AT-1"


def test_no_change_no_steps(designs):
    old, _ = designs
    rev = build_revision(old, old)
    assert rev.steps == () and rev.changes["cables"]["unchanged"] == sorted([C1, C2, C3])


def test_removed_cable_between_staying_devices_is_drained_first(designs, tmp_path):
    old, _ = designs
    new = load_design(
        write_design(tmp_path / "n2", devices=OLD_DEVICES, cables=OLD_CABLES[:2])
    ).design
    rev = build_revision(old, new)
    assert [s.id for s in rev.steps] == [f"rev-drain:{C3}", f"rev-unplug:{C3}"]
    assert rev.steps[1].depends_on == (f"rev-drain:{C3}",)


def test_port_reuse_waits_for_the_old_cable(designs, tmp_path):
    # srv3 is re-cabled from sw1:swp3 to sw1:swp4 and srv2:eth0 takes swp3
    old, _ = designs
    cables = [
        OLD_CABLES[0],
        {"a": "srv2:eth0", "b": "sw1:swp3", "media": "cat6a"},
        {"a": "srv3:eth0", "b": "sw1:swp4", "media": "cat6a"},
    ]
    new = load_design(write_design(tmp_path / "n3", devices=OLD_DEVICES, cables=cables)).design
    rev = build_revision(old, new)
    dep = {s.id: set(s.depends_on) for s in rev.steps}
    new_c2 = cid("srv2:eth0", "sw1:swp3")
    assert f"rev-unplug:{C3}" in dep[f"rev-run:{new_c2}"]  # swp3 is freed first
    after = ab.apply_all(ab.from_design(old), [ab.StepDone(s.id, s.action) for s in rev.steps])
    assert dict(after.cables) == dict(ab.from_design(new, rev.cable_ids).cables)


def test_diff_command(designs, tmp_path, capsys):
    import json

    from fieldops.cli import main

    code = main(["diff", str(tmp_path / "old"), str(tmp_path / "new"), "-o", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0 and "devices: added 1, moved 2" in out and "14 move/add/change step(s)" in out
    doc = json.loads((tmp_path / "out" / "workorders.json").read_text())
    assert doc["schema"] == "fieldops.workorders/2.0" and len(doc["steps"]) == 14
    from fieldops.adapters.workfiles import read_work_file

    read_work_file(tmp_path / "out" / "workorders.json")  # loadable like any plan
    assert (
        json.loads((tmp_path / "out" / "revision.json").read_text())["counts"]["cables"]["added"]
        == 3
    )
