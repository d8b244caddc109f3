"""The scope rule: a reporter is a reporter only for the ports its source can see.

Issue 23's symptom was the lab hall's 62 power cords reported *missing* because the servers
next to them reported LLDP. Here each source is checked against what it cannot see: LLDP does
not see power cords, console cables, InfiniBand ports or a host's BMC port (the switch it plugs
into does); a PDU outlet report sees outlets, one by one, and an outlet with no draw is a
*suspect* cord, never a missing one; a console-server port status likewise.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from fieldops.adapters.designfile import load_design
from fieldops.adapters.observed import load_ib_map, load_observations
from fieldops.cli import main
from fieldops.core import asbuilt as ab
from fieldops.core.labels import assign_cable_ids
from fieldops.core.observation import CONSOLE, INFINIBAND, LLDP, PDU, PortClasses
from fieldops.core.problems import DesignError
from fieldops.core.reconcile import build_drift, build_fixups, merge_observed
from tests.observations import World, inject, write_lldp, write_pdu_report
from tests.samples import GPU_HALL, LAB_HALL, tiny_devices, write_design

DATA = Path(__file__).resolve().parents[1] / "data" / "observed"


@pytest.fixture(scope="module")
def lab():
    return load_design(LAB_HALL).design


@pytest.fixture(scope="module")
def gpu():
    return load_design(GPU_HALL).design


def reconcile(design, files, record=None):
    obs = load_observations([str(f) for f in files], design)
    recorded = record is not None
    merged = merge_observed(record if recorded else ab.AsBuilt(design.floorplan.name), obs)
    return build_drift(
        design, merged, scope=None if recorded else obs, devices_recorded=recorded, observed=obs
    )


def power_cords(design) -> set[str]:
    ids = assign_cable_ids(design.cables)[0]
    return {ids[c.key] for c in design.cables if "Outlet" in str(c.a) + str(c.b)}


def test_lldp_from_every_device_names_the_lab_faults_and_no_power_cord(lab, tmp_path):
    # the lab-hall case: 3 missing, 4 swapped (two pairs) and 2 wrong-port cables
    world = World(lab)
    faults = inject(
        world, random.Random(5), {"ethernet": {"missing": 3, "swapped": 2, "wrong_port": 2}}
    )
    report = reconcile(lab, write_lldp(world, tmp_path, random.Random(5)))
    named = sorted((d.status, d.cable) for d in report.drifted())
    assert named == sorted((f.kind, c) for f in faults for c in f.cables)
    assert len(named) == 9
    cords = power_cords(lab)
    assert len(cords) == 62
    assert {d.status for d in report.cables if d.cable in cords} == {"unobserved"}
    assert report.unobserved_by_source == {"pdu": 62}
    # and the text a lead reads says which report would look at them
    assert (
        "  62 cables unobserved: power cords (give a PDU outlet report)" in report.summary_lines()
    )


def test_a_bmc_port_is_looked_at_from_its_switch_not_from_its_host(tmp_path):
    cables = [
        {"a": "srv1:eth0", "b": "sw1:swp1", "media": "cat6a"},
        {"a": "srv1:bmc", "b": "sw1:swp3", "media": "cat6a"},
    ]
    d = load_design(write_design(tmp_path / "h", devices=tiny_devices(), cables=cables)).design
    ids = assign_cable_ids(d.cables)[0]
    bmc = ids[("srv1:bmc", "sw1:swp3")]
    host = tmp_path / "srv1.csv"  # the host's lldpd: its eth0 only
    host.write_text("device,port,neighbour_device,neighbour_port\nsrv1,eth0,sw1,swp1\n")
    report = reconcile(d, [host])
    assert {c.cable: c.status for c in report.cables}[bmc] == "unobserved"
    switch = tmp_path / "sw1.csv"  # the switch reports and does not see the BMC: missing
    switch.write_text("device,port,neighbour_device,neighbour_port\nsw1,swp1,srv1,eth0\n")
    report = reconcile(d, [host, switch])
    assert {c.cable: c.status for c in report.cables}[bmc] == "missing"


def test_each_port_of_the_gpu_hall_has_the_source_that_can_see_it(gpu):
    classes = PortClasses(gpu, load_ib_map())
    expect = {
        "dgx-su01-01:ib0": INFINIBAND,  # ConnectX cabled to a QM9700 (declared InfiniBand)
        "dgx-su01-01:slot1-p1": INFINIBAND,  # the storage fabric: QM9700 storage leaves
        "dgx-su01-01:slot1-p2": LLDP,  # in-band Ethernet: SN5600
        "dgx-su01-01:mgmt0": LLDP,
        "leaf-su01-r1:P0.0": INFINIBAND,
        "leaf-su01-r1:mgmt0": LLDP,
        "leaf-su01-r1:uart": None,  # its console server sees the console cable
        "con-a05:Port 1": CONSOLE,
        "pdu-a07-1:Outlet1": PDU,
        "dgx-su01-01:PSU1": None,  # seen from the outlet
    }
    assert {p: classes.source(p) for p in expect} == expect
    assert classes.seen_by_own_report("dgx-su01-01:bmc") is None  # the host's lldpd: not there
    assert classes.switch_port("leaf-su01-r1", 1) == "P0.0"
    assert classes.switch_port("leaf-su01-r1", 64) == "P31.1"
    assert classes.hca_port("dgx-su01-01", "mlx5_8", 1) == "slot1-p1"  # default: port order


# ---------------------------------------------------------------- PDU outlet reports


def test_a_pdu_report_marks_cords_present_suspect_or_unexpected(lab, tmp_path):
    world = World(lab)
    ids = world.ids
    gone = next(c for c in lab.cables if str(c.a) == "srv-04:PSU1")  # cord left out
    world.unplug("srv-04:PSU1")
    off = {"srv-10"}  # switched off: its cords draw nothing
    report_file = write_pdu_report(world, tmp_path / "pdu.csv", off=off)
    # a cord plugged into outlet 20 of pdu-b06-b that the design does not have
    text = (
        (tmp_path / "pdu.csv").read_text().replace("pdu-b06-b,20,on,0.00", "pdu-b06-b,20,on,0.37")
    )
    (tmp_path / "pdu.csv").write_text(text)
    report = reconcile(lab, [report_file])
    status = {c.cable: c for c in report.cables}
    srv10 = {ids[c.key] for c in lab.cables if str(c.a).startswith("srv-10:PSU")}
    assert status[ids[gone.key]].status == "suspect"
    assert "draws no power where srv-04 PSU1 should be plugged in" in status[ids[gone.key]].message
    assert {status[c].status for c in srv10} == {"suspect"}
    present = power_cords(lab) - srv10 - {ids[gone.key]}
    assert {status[c].status for c in present} == {"as_designed"}
    (odd,) = [d for d in report.drifted()]
    assert odd.status == "unexpected" and odd.observed == ("pdu-b06-b:Outlet20",)
    assert "pdu-b06-b Outlet20 draws power, but the design has no cable there" in odd.message
    # suspect cords are checks, not fixes: the one fix-up step is the unexpected cord's
    steps = build_fixups(lab, report)
    assert [s.title for s in steps] == ["Remove unexpected cable at pdu-b06-b Outlet20"]
    assert report.summary()[-1]["status"] == "suspect"  # least severe, last


def test_an_outlet_switched_off_tells_nothing_and_a_record_still_counts(lab, tmp_path):
    world = World(lab)
    path = tmp_path / "pdu.csv"
    write_pdu_report(world, path)
    path.write_text(path.read_text().replace("pdu-a01-a,3,on,1.42", "pdu-a01-a,3,off,"))
    report = reconcile(lab, [path])
    cord = next(c for c in report.cables if "pdu-a01-a:Outlet3" in c.designed)
    assert cord.status == "unobserved" and "is off" in cord.message
    # a technician confirmed the cord (as-built record), the outlet draws nothing: suspect
    ids = assign_cable_ids(lab.cables)[0]
    path.write_text(path.read_text().replace("pdu-a01-a,3,off,", "pdu-a01-a,3,on,0.00"))
    record = ab.from_design(lab, ids)
    report = reconcile(lab, [path], record=record)
    cord = next(c for c in report.cables if "pdu-a01-a:Outlet3" in c.designed)
    assert cord.status == "suspect" and not report.has_drift


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("pdu-a01-a,99,on,0.1", "device 'pdu-a01-a' has no power-outlet '99'"),
        ("pdu-zz,3,on,0.1", "unknown pdu 'pdu-zz'"),
        ("pdu-a01-a,3,maybe,0.1", "expected on or off, got 'maybe'"),
        ("pdu-a01-a,3,on,-2", "expected a number >= 0, got '-2'"),
        ("pdu-a01-a,3,on,", "an outlet that is on needs current_a or power_w"),
        ("pdu-a01-a,3,on,0.1\npdu-a01-a,Outlet3,on,0.2", "listed twice (first at"),
        ("srv-01,3,on,0.1", "device 'srv-01' (generic-lab-server-1u) has no power-outlet ports"),
    ],
)
def test_bad_pdu_rows_are_refused_with_their_line(lab, tmp_path, rows, message):
    path = tmp_path / "pdu.csv"
    path.write_text("# outlet export\npdu,outlet,state,current_a\n" + rows + "\n")
    with pytest.raises(DesignError) as err:
        load_observations([str(path)], lab)
    assert any(p.line >= 3 and message in p.message for p in err.value.problems), [
        str(p) for p in err.value.problems
    ]


# ---------------------------------------------------------------- console-server port status


def test_a_console_server_status_marks_console_cables(gpu, tmp_path):
    ids = assign_cable_ids(gpu.cables)[0]
    cables = [
        c
        for c in gpu.cables
        if str(c.a).startswith("con-a05:") or str(c.b).startswith("con-a05:Port")
    ]
    console = [c for c in cables if "Port" in str(c.a) + str(c.b)]
    assert len(console) >= 3
    rows = ["console_server,port,state"]
    for i, c in enumerate(console):
        port = next(p for p in (str(c.a), str(c.b)) if p.startswith("con-a05:"))
        rows.append(f"con-a05,{port.split(':')[1].split()[-1]},{'down' if i == 0 else 'up'}")
    path = tmp_path / "console.csv"
    path.write_text("\n".join(rows) + "\n")
    report = reconcile(gpu, [path])
    status = {c.cable: c for c in report.cables}
    first = status[ids[console[0].key]]
    assert first.status == "suspect" and "no signal on con-a05 Port" in first.message
    assert {status[ids[c.key]].status for c in console[1:]} == {"as_designed"}
    assert not report.has_drift


# ---------------------------------------------------------------- the command


def test_reconcile_reads_confirmations_steps_from_the_plan_and_never_routes(
    tmp_path, capsys, monkeypatch
):
    """``--confirmations`` takes its steps from ``--plan``; nothing routes or plans the design."""
    assert main(["plan", str(LAB_HALL), "-o", str(tmp_path / "plan")]) == 0
    plan = json.loads((tmp_path / "plan" / "workorders.json").read_text())
    mount = next(s for s in plan["steps"] if s["id"] == "mount:srv-01")
    (tmp_path / "c.json").write_text(json.dumps([{"step_id": mount["id"], "how": "manual"}]))

    def forbidden(*_a, **_k):
        raise AssertionError("reconcile must not route or plan the design")

    import fieldops.core.routing
    import fieldops.core.workplan
    import fieldops.services.planning

    monkeypatch.setattr(fieldops.core.routing, "build_cable_plan", forbidden)
    monkeypatch.setattr(fieldops.core.workplan, "build_work_plan", forbidden)
    monkeypatch.setattr(fieldops.services.planning, "build_plan", forbidden)
    capsys.readouterr()
    code = main(
        [
            "reconcile",
            str(LAB_HALL),
            "--confirmations",
            str(tmp_path / "c.json"),
            "--plan",
            str(tmp_path / "plan"),
            "-o",
            str(tmp_path / "out"),
            "--pdf",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1  # one server mounted, everything else missing
    record = json.loads((tmp_path / "out" / "asbuilt.json").read_text())
    assert [d["name"] for d in record["devices"]] == ["srv-01"]
    assert out.index("devices missing") < out.index("cables missing")  # most severe first
    assert (tmp_path / "out" / "drift.pdf").stat().st_size > 0


# ---------------------------------------------------------------- recorded samples


def test_the_recorded_pdu_export_of_the_lab_hall(lab):
    report = reconcile(lab, [DATA / "pdu-a01-a.csv"])
    by_outlet = {
        next(p for p in c.designed if p.startswith("pdu-a01-a:")): c
        for c in report.cables
        if any(p.startswith("pdu-a01-a:") for p in c.designed)
    }
    assert {p: c.status for p, c in by_outlet.items()} == {
        "pdu-a01-a:Outlet3": "as_designed",  # 0.41 A: srv-01's PSU1 draws
        "pdu-a01-a:Outlet4": "as_designed",
        "pdu-a01-a:Outlet5": "suspect",  # on, 0.00 A where srv-03 PSU1 should be
        "pdu-a01-a:Outlet12": "as_designed",  # the console server: 0.09 A is a draw
    }
    (odd,) = report.drifted()
    assert odd.observed == ("pdu-a01-a:Outlet20",) and odd.rack == "A01"
    # the other PDUs' cords were in no report: unobserved, not missing
    assert report.counts["cables"]["missing"] == 0
    assert report.unobserved_by_source == {"lldp": 95, "pdu": 58}  # 93 cat6a + 2 fibre


def test_the_recorded_console_status_of_a_gpu_hall_console_server(gpu):
    report = reconcile(gpu, [DATA / "console-con-a05.csv"])
    by_port = {
        next(p for p in c.designed if p.startswith("con-a05:Port")): c.status
        for c in report.cables
        if any(p.startswith("con-a05:Port") for p in c.designed) and c.status != "unobserved"
    }
    assert by_port == {
        "con-a05:Port 1": "as_designed",
        "con-a05:Port 2": "as_designed",
        "con-a05:Port 3": "suspect",
    }
    (odd,) = report.drifted()
    assert odd.status == "unexpected" and odd.observed == ("con-a05:Port 40",)
    assert "has a live console line" in odd.message
