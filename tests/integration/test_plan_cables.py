"""``fieldops plan DESIGN -o OUT --cables-only`` end to end: real files in, real CSV/JSON out.

Lab hall (floorplans/lab-hall): racks 600 x 1200, 42U, outer height round(42 * 44.45 + 200)
= 2067; trays at 2600 (exit to tray = 533); U1 starts at 100: U10 port at 522.275, U40 at
1855.775; zero-U PDUs at mid-rack 1033.5. Row A centres y = 3000, x = 3300 + 600 k.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from fieldops.adapters.cablefiles import (
    BOM_COLUMNS,
    CUTSHEET_COLUMNS,
    WORK_COLUMNS,
    cutsheet_columns,
    cutsheet_rows,
    spares_for,
)
from tests.samples import LAB_HALL, REPO, tiny_cables, tiny_devices, tiny_floorplan, write_design


def run_plan(design, out, cables_only=True):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "fieldops",
            "plan",
            str(design),
            "-o",
            str(out),
            *(["--cables-only"] if cables_only else []),
            "-q",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


@pytest.fixture(scope="module")
def lab_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab")
    proc = run_plan(LAB_HALL, out)
    assert proc.returncode == 0, proc.stderr
    return out


def rows_by_ends(out):
    with open(out / "cutsheet.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == CUTSHEET_COLUMNS
        return {(r["a_device"], r["a_port"]): r for r in reader}


def test_cutsheet_rows_match_hand_computed_values(lab_out):
    rows = rows_by_ends(lab_out)
    assert len(rows) == 157
    # srv-01:eno1 (A01 U10, server front-to-rear -> rear) -- leaf-a:swp1 (A03 U40, mounted rear,
    # no airflow -> ports on its own front, the rack rear). Tray path over TRAY-A (the in-rack
    # legs are depth / 2 from either face):
    # up 2067 - 522.275 = 1544.725, in 600, up 533, TRAY-A 3300 -> 4500 = 1200, down 533, out 600,
    # down 2067 - 1855.775 = 211.225 -> 5221.95; 6 bends * 47.1239 = 282.74; slack 600
    # -> 6104.69 -> 6105 -> 7 m.
    r = rows[("srv-01", "eno1")]
    assert (r["a_location"], r["a_rack"], r["a_u"], r["a_face"]) == ("1A-F06", "A01", "10", "rear")
    assert (r["b_location"], r["b_rack"], r["b_u"], r["b_face"]) == ("1A-H06", "A03", "40", "rear")
    assert abs(float(r["route_mm"]) - 5221.95) <= 0.06
    assert (r["bends"], r["length_mm"], r["ordered_mm"], r["sku"]) == (
        "6",
        "6105",
        "7000",
        "CAT6A-7M",
    )
    assert r["tray_path"] == "TRAY-A"
    assert (
        r["a_label"] == f"{r['cable_id']}/A 1A-F06 A01 U10 SRV-01:ENO1 > 1A-H06 A03 U40 LEAF-A:SWP1"
    )
    # srv-01:PSU1 (rear, 522.275) -- pdu-a01-a (zero-U, rear, 1033.5): in-rack, 511.225 up;
    # slack 2 * 100 -> 711.225 -> 712 -> 1 m cord.
    p = rows[("srv-01", "PSU1")]
    assert (p["b_u"], p["b_face"], p["bends"], p["length_mm"], p["sku"]) == (
        "",
        "rear",
        "0",
        "712",
        "PWR-C13C14-1M",
    )
    assert abs(float(p["route_mm"]) - 511.225) <= 0.06
    # leaf-a:swp49 (A03 rear, y 3600) -- leaf-b:swp49 (B03 at x 5100, rotated 180, rear y 4800):
    # 2 * (211.225 + 600 + 533) + TRAY-A 4500 -> 2700 (1800) + TRAY-X 2400 + TRAY-B 2700 -> 5100
    # (2400) = 9288.45; 8 bends * 23.5619 = 188.50; slack 1000 -> 10476.95 -> 10477 -> 15 m.
    f = rows[("leaf-a", "swp49")]
    assert f["tray_path"] == "TRAY-A > TRAY-X > TRAY-B"
    assert abs(float(f["route_mm"]) - 9288.45) <= 0.06
    assert (f["bends"], f["length_mm"], f["sku"]) == ("8", "10477", "SMF-MPO8-15M")


def test_bom_counts_every_orderable_cable_with_spares(lab_out):
    rows = rows_by_ends(lab_out)
    with open(lab_out / "bom.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == BOM_COLUMNS
        bom = {r["sku"]: r for r in reader}
    per_sku: dict[str, int] = {}
    for r in rows.values():
        per_sku[r["sku"]] = per_sku.get(r["sku"], 0) + 1
    assert {k: int(v["quantity"]) for k, v in bom.items()} == per_sku
    smf = bom["SMF-MPO8-15M"]
    assert (smf["quantity"], smf["spares"], smf["order_quantity"]) == ("2", "1", "3")
    assert (
        spares_for(2) == 1 and spares_for(100) == 2 and spares_for(101) == 3 and spares_for(0) == 0
    )


def test_routes_json_has_a_polyline_per_cable(lab_out):
    doc = json.loads((lab_out / "routes.json").read_text())
    assert doc["schema"] == "fieldops.routes/1.0" and doc["units"] == "mm"
    assert len(doc["cables"]) == 157
    ids = [c["id"] for c in doc["cables"]]
    assert ids == sorted(ids) and len(set(ids)) == 157
    first = next(c for c in doc["cables"] if c["a"] == "srv-01:eno1")
    assert first["polyline"][0] == [3300, 3600, 522.3] and first["polyline"][-1] == [
        4500,
        3600,
        1855.8,
    ]
    assert doc["problems"] == []


def test_replanning_is_byte_identical(lab_out, tmp_path):
    assert run_plan(LAB_HALL, tmp_path).returncode == 0
    for name in ("cutsheet.csv", "bom.csv", "routes.json"):
        assert (tmp_path / name).read_bytes() == (lab_out / name).read_bytes()


def test_a_rack_no_tray_reaches_is_reported_not_ordered(tmp_path):
    fp = tiny_floorplan()
    fp["racks"].append({"name": "R04", "rack_type": "r42", "position": [4800, 4500]})
    devices = tiny_devices() + [
        {"name": "srv4", "device_type": "test-server-1u", "rack": "R04", "position": 10}
    ]
    cables = tiny_cables() + [{"a": "srv4:eth0", "b": "sw1:swp3", "media": "cat6a"}]
    design = write_design(tmp_path / "d", fp, devices, cables)
    proc = run_plan(design, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert "reach:" in proc.stdout and "rack 'R04' is reached by no copper tray" in proc.stdout
    row = rows_by_ends(tmp_path / "out")[("srv4", "eth0")]
    assert row["ordered_mm"] == "0" and row["sku"] == "" and int(row["length_mm"]) > 0
    assert "R04" in row["problem"]


def test_zero_length_tray_is_a_clear_error(tmp_path):
    fp = tiny_floorplan()
    fp["trays"].append({"name": "T0", "media": ["copper"], "points": [[1000, 1000], [1000, 1000]]})
    proc = run_plan(write_design(tmp_path / "d", fp), tmp_path / "out")
    assert proc.returncode == 2
    assert "tray 'T0' has zero length" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "cutsheet.csv").exists()


# ---------------------------------------------------------------- work order and step columns


@pytest.fixture(scope="module")
def lab_full(tmp_path_factory):
    """``fieldops plan`` with work orders (no --cables-only)."""
    out = tmp_path_factory.mktemp("lab-full")
    proc = run_plan(LAB_HALL, out, cables_only=False)
    assert proc.returncode == 0, proc.stderr
    return out


def test_cutsheet_names_the_work_order_and_step_of_every_cable(lab_full, lab_out):
    with open(lab_full / "cutsheet.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == CUTSHEET_COLUMNS + ("work_order", "step")
        rows = list(reader)
    doc = json.loads((lab_full / "workorders.json").read_text())
    steps = {s["id"]: s for s in doc["steps"]}
    order_of = {sid: wo["id"] for wo in doc["workorders"] for sid in wo["steps"]}
    assert len(rows) == 157
    for row in rows:
        # power cords are plugged by connect_power steps "power:<id>", the rest run by
        # run_cable steps "cable:<id>"; each names the cable as its one part
        power = row["media_class"] == "power"
        assert row["step"] == ("power:" if power else "cable:") + row["cable_id"]
        step = steps[row["step"]]
        assert step["kind"] == ("connect_power" if power else "run_cable")
        assert [p["ref"] for p in step["parts"]] == [row["cable_id"]]
        assert row["work_order"] == order_of[row["step"]]
        assert row["work_order"].startswith("WO-S") and step["assignee"] in row["work_order"]
    # srv-01:eno1 -- leaf-a:swp1 has the pinned ID hash("leaf-a:swp1|srv-01:eno1")
    (r,) = [r for r in rows if (r["a_device"], r["a_port"]) == ("srv-01", "eno1")]
    assert (r["cable_id"], r["step"]) == ("C-6BMR43E27H", "cable:C-6BMR43E27H")
    # every other column is what --cables-only writes
    only = rows_by_ends(lab_out)
    for row in rows:
        assert {k: row[k] for k in CUTSHEET_COLUMNS} == only[(row["a_device"], row["a_port"])]
    assert (lab_full / "bom.csv").read_bytes() == (lab_out / "bom.csv").read_bytes()
    assert (lab_full / "routes.json").read_bytes() == (lab_out / "routes.json").read_bytes()


def test_work_columns_from_a_hand_made_work_plan():
    """cutsheet_rows(plan, work): the first run_cable / connect_power step naming the cable
    wins; other kinds of step are ignored; a step in no work order has an empty work order;
    a cable no step runs has both empty."""
    from fieldops.core.routing import build_cable_plan
    from fieldops.core.workorder import Location, Part, Step, WorkOrder, WorkPlan
    from tests.samples_routing import route_design

    plan = build_cable_plan(route_design())
    data = [r for r in plan.runs if r.media_class != "power"]
    cord = next(r for r in plan.runs if r.media_class == "power")
    here = Location(rack="A1")

    def step(sid, kind, part):
        return Step(sid, "cable", kind, sid, "", here, parts=(part,))

    work = WorkPlan(
        steps=(
            step("mount:x", "mount_device", Part("device", data[1].id)),  # not a cable step
            step("cable:one", "run_cable", Part("cable", data[0].id)),
            step("cable:again", "run_cable", Part("cable", data[0].id)),  # later: ignored
            step("power:one", "connect_power", Part("cord", cord.id)),
        ),
        workorders=(WorkOrder("WO-1", "", "tech-1", 1, "A", ("mount:x", "cable:one")),),
        team=(),
    )
    rows = {r["cable_id"]: r for r in cutsheet_rows(plan, work)}
    assert (rows[data[0].id]["work_order"], rows[data[0].id]["step"]) == ("WO-1", "cable:one")
    assert (rows[cord.id]["work_order"], rows[cord.id]["step"]) == ("", "power:one")
    assert (rows[data[1].id]["work_order"], rows[data[1].id]["step"]) == ("", "")
    assert cutsheet_columns(work) == CUTSHEET_COLUMNS + WORK_COLUMNS
    assert cutsheet_columns(None) == CUTSHEET_COLUMNS
    assert all("step" not in r for r in cutsheet_rows(plan))
