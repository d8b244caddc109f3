"""Confirmations -> the as-built record -> drift, on the real planned lab hall.

Steps come from ``services.plan_design(floorplans/lab-hall)``; expected events are worked out
from the design (which device is in which rack/U/face, which ports a cable joins) and from the
cable IDs the planner printed on the labels, not from the mapping under test.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldops import services
from fieldops.cli import main
from fieldops.core import asbuilt as ab
from fieldops.core.labels import assign_cable_ids
from fieldops.core.reconcile import Observations, build_drift, merge_observed
from fieldops.core.workorder import Location, Step
from tests.samples import LAB_HALL


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(plan folder, design, steps by ID, planner cable ID per sorted port pair)."""
    out = tmp_path_factory.mktemp("lab") / "plan"
    result = services.plan_design(LAB_HALL, out)
    design = result.loaded.design
    return out, design, {s.id: s for s in result.work.steps}, assign_cable_ids(design.cables)[0]


def cable_step(steps, a: str, b: str) -> Step:
    """The step that runs (or plugs) the cable between ports a and b."""
    want = {a, b}
    for s in steps.values():
        act = s.action
        if s.kind == "run_cable":
            got = {
                f"{act['a']['device']}:{act['a']['port']}",
                f"{act['b']['device']}:{act['b']['port']}",
            }
        elif s.kind == "connect_power":
            got = {f"{act['device']}:{act['port']}", f"{act['pdu']}:{act['outlet']}"}
        else:
            continue
        if got == want:
            return s
    raise AssertionError(f"no cable step for {a} -- {b}")


# ---------------------------------------------------------------- step -> events


def test_a_mount_confirmation_puts_the_device_in_its_designed_u_with_what_was_captured(lab):
    _out, design, steps, _ids = lab
    step = steps["mount:srv-07"]
    dev = design.device("srv-07")
    assert (dev.rack, dev.position, dev.face) == ("A03", 10, "front")
    events = ab.events_for_confirmation(step, ab.Evidence("scan", ("LAB-0007",), serial="SN-7731"))
    assert events == [ab.DeviceMounted("srv-07", "A03", 10, "front", "SN-7731", "LAB-0007")]
    # zero-U PDU on the rear side rails: no U
    pdu = ab.events_for_confirmation(steps["mount:pdu-a01-a"], ab.Evidence("robot"))
    assert pdu == [ab.DeviceMounted("pdu-a01-a", "A01", None, "rear", "", "")]


def test_a_cable_confirmation_plugs_the_labelled_cable_at_both_designed_ports(lab):
    _out, _design, steps, ids = lab
    step = cable_step(steps, "srv-07:eno2", "leaf-b:swp7")
    cid = ids[("leaf-b:swp7", "srv-07:eno2")]
    assert step.id == f"cable:{cid}"
    scanned = ab.Evidence("scan", (f"{cid}/A", f"{cid.lower()}/b"))
    expected = [ab.CableConnected(cid, "srv-07:eno2", "leaf-b:swp7")]
    assert ab.events_for_confirmation(step, scanned) == expected
    assert ab.events_for_confirmation(step, ab.Evidence("manual")) == expected
    assert (
        ab.events_for_confirmation(step, ab.Evidence("robot", robot_state="FINISHED")) == expected
    )


def test_a_power_cord_confirmation_plugs_device_and_pdu_outlet(lab):
    _out, design, steps, ids = lab
    step = steps["power:C-08R9X3C5BC"]
    key = ("pdu-a01-a:Outlet3", "srv-01:PSU1")
    assert key in {c.key for c in design.cables} and ids[key] == "C-08R9X3C5BC"
    assert ab.events_for_confirmation(step, ab.Evidence("robot")) == [
        ab.CableConnected("C-08R9X3C5BC", "srv-01:PSU1", "pdu-a01-a:Outlet3")
    ]


def test_a_robot_result_other_than_finished_changes_nothing(lab):
    _out, _design, steps, _ids = lab
    for state in ("FAILED", "RUNNING", "WAITING"):
        assert (
            ab.events_for_confirmation(
                steps["mount:srv-07"], ab.Evidence("robot", robot_state=state)
            )
            == []
        )


def test_another_cables_label_puts_that_cable_in_the_ports(lab):
    _out, _design, steps, ids = lab
    step = cable_step(steps, "srv-10:eno2", "leaf-b:swp10")
    other = ids[("leaf-b:swp11", "srv-11:eno2")]
    mine = ids[("leaf-b:swp10", "srv-10:eno2")]
    # both ends of the other cable: it is the other cable that joins these ports
    both = ab.Evidence("scan", (f"{other}/A", f"{other}/B"))
    assert ab.events_for_confirmation(step, both) == [
        ab.CableConnected(other, "srv-10:eno2", "leaf-b:swp10")
    ]
    # one end of each: the A end is the other cable's, the B end ours
    mixed = ab.Evidence("scan", (f"{other}/A", f"{mine}/B"))
    assert ab.events_for_confirmation(step, mixed) == [
        ab.CablePlugged(other, "srv-10:eno2"),
        ab.CablePlugged(mine, "leaf-b:swp10"),
    ]


def test_steps_that_change_neither_devices_nor_cables_give_no_events(lab):
    _out, _design, steps, _ids = lab
    for sid in ("rack:A01", "rails:srv-01", "burnin:srv-01", "verify:A01"):
        assert ab.events_for_confirmation(steps[sid], ab.Evidence("manual")) == []


def test_a_fixup_step_is_its_ops():
    action = {"type": "fixup", "ops": [{"op": "unplug", "cable": "C-1", "port": "sw1:swp9"}]}
    step = Step("fixup:C-1", "fixup", "fixup", "t", "i", Location(rack="R01"), action=action)
    events = ab.events_for_confirmation(step, ab.Evidence("scan", ("C-1",)))
    assert events == [ab.StepDone("fixup:C-1", action)]
    rec = ab.AsBuilt("H", cables={"C-1": ("srv1:eth0", "sw1:swp9")})
    assert ab.apply_all(rec, events).cables == {"C-1": ("srv1:eth0",)}


# ---------------------------------------------------------------- the export format


def test_the_stores_export_and_a_plain_list_are_read():
    store = {
        "confirmations": [
            {
                "id": 7,
                "client_id": "tab-1:42",
                "actor": "alice",
                "how": "scan",
                "at": 1767225600.0,
                "codes": ["C-6BMR43E27H/A", "C-6BMR43E27H/B"],
                "evidence": {},
                "step_id": "cable:C-6BMR43E27H",
                "assignee": "technician-1",
            },
            {
                "how": "robot",
                "codes": [],
                "evidence": {
                    "robot": "LIFT-001",
                    "orderId": "LAB1-LIFT-001-1",
                    "actions": {"mount:srv-01:0": "FINISHED", "mount:srv-01:1": "FAILED"},
                },
                "step_id": "mount:srv-01",
            },
            {"step_id": "mount:srv-02", "how": "manual", "evidence": {"serial": " SN2 "}},
        ]
    }
    got = ab.confirmations_from_json(store)
    assert got == [
        ("cable:C-6BMR43E27H", ab.Evidence("scan", ("C-6BMR43E27H/A", "C-6BMR43E27H/B"))),
        ("mount:srv-01", ab.Evidence("robot", (), "FAILED")),
        ("mount:srv-02", ab.Evidence("manual", serial="SN2")),
    ]
    assert ab.confirmations_from_json(store["confirmations"]) == got


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"items": []}, "expected a list of confirmations"),
        ([{"how": "scan"}], r"confirmations\[0\]: 'step_id' must be a non-empty string"),
        ([{"step_id": "s", "how": "telepathy"}], r"'how' must be one of scan, manual, robot"),
        ([{"step_id": "s", "codes": "C-1"}], "'codes' must be a list of strings"),
        ([{"step_id": "s", "codes": [1]}], "'codes' must be a list of strings"),
        ([{"step_id": "s", "how": "robot", "evidence": {"state": "DONE"}}], "not a VDA 5050"),
        ([{"step_id": "s", "evidence": []}], "'evidence' must be an object"),
        ([{"step_id": "s", "serial": {"x": 1}}], "'serial' must be text"),
        (["mount:srv-01"], r"confirmations\[0\]: expected an object"),
    ],
)
def test_bad_exports_are_refused_with_the_entry_named(doc, message):
    with pytest.raises(ab.AsBuiltError, match=message):
        ab.confirmations_from_json(doc)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    doc=json_values
    | st.lists(
        st.dictionaries(
            st.sampled_from(["step_id", "how", "codes", "evidence", "serial"]), json_values
        )
    )
)
def test_any_json_is_read_or_refused_with_an_as_built_error(doc):
    with contextlib.suppress(ab.AsBuiltError):
        ab.confirmations_from_json(doc)


# ---------------------------------------------------------------- folding confirmations


def test_every_step_confirmed_is_the_design_and_no_drift(lab):
    _out, design, steps, ids = lab
    confs = [(sid, ab.Evidence("manual")) for sid in steps]
    rec = ab.build_from_confirmations(ab.AsBuilt("LAB1"), steps.values(), confs)
    assert rec == ab.from_design(design, ids)
    report = build_drift(
        design,
        merge_observed(rec, Observations("LAB1")),
        scope=None,
        devices_recorded=True,
        cable_ids=ids,
    )
    assert report.counts["drift"] == 0 and report.counts["cables"]["as_designed"] == len(
        design.cables
    )


def test_a_robot_result_and_a_technicians_check_of_one_step_fold_once(lab):
    _out, _design, steps, ids = lab
    sid = "power:C-08R9X3C5BC"
    rec = ab.build_from_confirmations(
        ab.AsBuilt("LAB1"),
        steps.values(),
        [(sid, ab.Evidence("robot")), (sid, ab.Evidence("scan", ("C-08R9X3C5BC/A",)))],
    )
    assert rec.cables == {"C-08R9X3C5BC": ("pdu-a01-a:Outlet3", "srv-01:PSU1")}


def test_contradicting_or_unknown_confirmations_apply_nothing(lab):
    _out, _design, steps, ids = lab
    a = cable_step(steps, "srv-10:eno2", "leaf-b:swp10")
    b = cable_step(steps, "srv-11:eno2", "leaf-b:swp11")
    theirs = b.action["cable"]
    confs = [
        (b.id, ab.Evidence("manual")),
        (a.id, ab.Evidence("scan", (f"{theirs}/A", f"{theirs}/B"))),
    ]
    with pytest.raises(
        ab.AsBuiltError,
        match=rf"confirmations\[1\] \(step {a.id}\): cannot plug {theirs} into srv-10:eno2: both its ends are already plugged",
    ):
        ab.build_from_confirmations(ab.AsBuilt("LAB1"), steps.values(), confs)
    with pytest.raises(
        ab.AsBuiltError,
        match=r"confirmations\[0\] \(step mount:nope\): the step is not in the plan",
    ):
        ab.build_from_confirmations(
            ab.AsBuilt("LAB1"), steps.values(), [("mount:nope", ab.Evidence())]
        )


# ---------------------------------------------------------------- end to end: fieldops reconcile


def lldp(neighbours: dict[str, tuple[str, str]]) -> dict:
    """``lldpctl -f json`` output: local port -> (neighbour system name, neighbour ifname)."""
    return {
        "lldp": {
            "interface": [
                {
                    port: {
                        "via": "LLDP",
                        "chassis": {dev: {"id": {"type": "mac", "value": "0c:42:a1:00:00:01"}}},
                        "port": {"id": {"type": "ifname", "value": nport}, "descr": nport},
                    }
                }
                for port, (dev, nport) in sorted(neighbours.items())
            ]
        }
    }


def test_reconcile_with_confirmations_names_exactly_the_unconfirmed_and_mismatched(
    lab, tmp_path, capsys
):
    plan_dir, design, steps, ids = lab
    # not confirmed: srv-30 (its mount and every cable and cord that touches it) and one
    # leaf-b cable of srv-05; confirmed but seen elsewhere by LLDP: srv-03's uplink
    srv30 = {c.key for c in design.cables if any(p.startswith("srv-30:") for p in c.key)}
    unconfirmed_cables = srv30 | {("leaf-b:swp5", "srv-05:eno2")}
    skip = {"mount:srv-30"} | {cable_step(steps, *k).id for k in unconfirmed_cables}
    confirmations = [
        {
            "step_id": sid,
            "how": "robot" if s.confirm == "robot" else "manual",
            "codes": [],
            "evidence": {},
        }
        for sid, s in sorted(steps.items())
        if sid not in skip
    ]
    conf_file = tmp_path / "confirmations.json"
    conf_file.write_text(json.dumps({"confirmations": confirmations}))
    # leaf-a's neighbours: every designed link except srv-30's (not built), srv-03 seen on swp31
    seen = {}
    for key in (c.key for c in design.cables):
        mine = [p for p in key if p.startswith("leaf-a:")]
        if not mine or key in srv30:
            continue
        other = next(p for p in key if p != mine[0])
        seen[mine[0].split(":")[1]] = tuple(other.split(":"))
    assert seen.pop("swp3") == ("srv-03", "eno1")
    seen["swp31"] = ("srv-03", "eno1")
    obs = tmp_path / "leaf-a.json"
    obs.write_text(json.dumps(lldp(seen)))
    out = tmp_path / "out"

    code = main(
        [
            "reconcile",
            str(LAB_HALL),
            "--observed",
            str(obs),
            "--confirmations",
            str(conf_file),
            "--plan",
            str(plan_dir),
            "-o",
            str(out),
            "--format",
            "json",
        ]
    )
    assert code == 1, capsys.readouterr().err
    drift = json.loads((out / "drift.json").read_text())
    bad_cables = {
        (c["cable"], c["status"]) for c in drift["cables"] if c["status"] != "as_designed"
    }
    assert bad_cables == {(ids[k], "missing") for k in unconfirmed_cables} | {
        (ids[("leaf-a:swp3", "srv-03:eno1")], "wrong_port")
    }
    wrong = next(c for c in drift["cables"] if c["status"] == "wrong_port")
    assert wrong["designed"] == ["leaf-a:swp3", "srv-03:eno1"] and wrong["observed"] == [
        "leaf-a:swp31",
        "srv-03:eno1",
    ]
    bad_devices = {
        (d["device"], d["status"]) for d in drift["devices"] if d["status"] != "as_designed"
    }
    assert bad_devices == {("srv-30", "missing")}
    assert (
        drift["counts"]["cables"]["as_designed"] == len(design.cables) - len(unconfirmed_cables) - 1
    )
    assert drift["counts"]["devices"]["as_designed"] == len(design.devices) - 1
    # the record written back holds what was confirmed and seen
    record = json.loads((out / "asbuilt.json").read_text())
    assert "srv-30" not in {d["name"] for d in record["devices"]}

    # the steps come from the plan folder only: without --plan the command refuses (it never
    # plans the design again to guess them)
    def again(*extra: str) -> tuple[int, str]:
        argv = ["reconcile", str(LAB_HALL), "--confirmations", str(conf_file), *extra]
        return main([*argv, "-o", str(tmp_path / "out2")]), capsys.readouterr().err

    code, err = again("--observed", str(obs))
    assert code == 2 and "--confirmations needs --plan DIR" in err
    missing = tmp_path / "no-plan-here"
    missing.mkdir()
    code, err = again("--plan", str(missing))
    assert code == 2 and "no workorders.json here" in err and "Traceback" not in err
    assert not (tmp_path / "out2").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"confirmations": [{"step_id": "mount:srv-01", "how": "sc', "truncated JSON"),
        (
            '[{"step_id": "mount:nope", "how": "manual"}]',
            "step mount:nope): the step is not in the plan",
        ),
        ('[{"step_id": "mount:srv-01", "how": "psychic"}]', "'how' must be one of"),
    ],
)
def test_bad_confirmation_files_exit_2_and_write_nothing(lab, tmp_path, capsys, content, message):
    plan_dir, *_ = lab
    f = tmp_path / "c.json"
    f.write_text(content)
    out = tmp_path / "out"
    code = main(
        [
            "reconcile",
            str(LAB_HALL),
            "--confirmations",
            str(f),
            "--plan",
            str(plan_dir),
            "-o",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not out.exists()


def test_plan_without_confirmations_is_refused(lab, tmp_path, capsys):
    plan_dir, *_ = lab
    code = main(
        [
            "reconcile",
            str(LAB_HALL),
            "--asbuilt",
            str(tmp_path / "x.json"),
            "--plan",
            str(plan_dir),
            "-o",
            str(tmp_path / "o"),
        ]
    )
    assert code == 2 and "--plan is only used with --confirmations" in capsys.readouterr().err
