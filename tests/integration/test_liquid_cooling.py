"""Liquid-cooled racks (issue 20): the gb200-nvl72 blueprint's fluid network plans with hoses
sized from the fluid routes, loop steps per rack, and no liquid-cooled device powered on (burn-in)
before its rack's leak test; hoses are checked like cables; device-type files stay library files.

    [tray lc-supply]==hose==[manifold s1]      [manifold main-supply]==DN25 hose==[CDU tcs-s1]
    hoses of rack R ─> fill:R ─> pressure:R ─> leak:R ─> burnin:<every cold-plate device in R>
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fieldops.adapters.designfile import load_design
from fieldops.cli import main
from fieldops.core.validate import validate


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    root = tmp_path_factory.mktemp("nvl72")
    design, out = root / "design", root / "plan"
    assert main(["blueprint", "gb200-nvl72", "--param", "su_count=2", "-o", str(design)]) == 0
    assert main(["plan", str(design), "-o", str(out), "-q"]) == 0
    doc = json.loads((out / "workorders.json").read_text())
    return design, out, doc, {s["id"]: s for s in doc["steps"]}


def test_hoses_are_ordered_from_the_route_never_short(planned):
    design, out, _, _ = planned
    media = {
        m["slug"]: m
        for m in yaml.safe_load(
            Path(__file__).parents[2].joinpath("fieldops/data/media.yaml").read_text()
        )["media"]
    }
    rows = [r for r in csv.DictReader((out / "cutsheet.csv").open()) if r["media_class"] == "fluid"]
    assert len(rows) == 16 * (27 * 2 + 2)  # 16 racks: 27 trays x 2 hoses, the manifold 2
    for r in rows:
        assert int(r["ordered_mm"]) >= int(r["length_mm"]) > float(r["route_mm"])
        assert int(r["ordered_mm"]) in media[r["media"]]["lengths_mm"]
    to_cdu = [r for r in rows if r["media"] == "hose-dn25"]
    # over the fluid routes (or along the row to a neighbouring rack), never in a cable tray
    assert any(r["tray_path"].startswith("FLUID-") for r in to_cdu)
    assert all(t.startswith("FLUID-") for r in rows for t in r["tray_path"].split(" > ") if t)
    bom = (out / "bom.csv").read_text()
    assert "HOSE-UQD04-" in bom and "HOSE-DN25-" in bom


def test_no_liquid_cooled_device_powers_on_before_its_racks_leak_test(planned):
    _, _, doc, steps = planned
    burnins = [
        s
        for s in doc["steps"]
        if s["kind"] == "burnin_check" and s["id"].split(":")[1].startswith(("ct-", "nvs-"))
    ]
    assert len(burnins) == 16 * 27
    for s in burnins:
        leak = steps[f"leak:{s['location']['rack']}"]
        assert leak["id"] in s["depends_on"] and s["start_s"] >= leak["end_s"]
        assert s["action"]["checks"][0]["check"] == "coolant_flow"
        # and the first power-on is read on the CDU, with fluid.yaml's rules
        flow, supply, ret = s["action"]["readings"]
        assert (flow["name"], flow["min"], supply["max"], ret["max"]) == ("flow_lpm", 150, 45, 65)
    for rack in {s["location"]["rack"] for s in burnins}:
        fill = steps[f"fill:{rack}"]
        assert steps[f"pressure:{rack}"]["depends_on"] == [fill["id"]]
        hoses = [d for d in fill["depends_on"] if d.startswith("hose:")]
        assert len(hoses) == 27 * 2 + 2  # every tray's pair and the manifold's pair to the CDU


def test_test_steps_carry_the_design_rules_and_robots_get_no_fluid_step(planned):
    _, _, doc, steps = planned
    pressure = next(s for s in doc["steps"] if s["kind"] == "pressure_test")
    start = {r["name"]: r for r in pressure["action"]["readings"]}["start_kpa"]
    assert (start["min"], start["unit"]) == (700, "kPa")  # fluid.yaml's test_kpa
    assert pressure["action"]["limits"][0]["max"] == 10
    robot = {m["name"] for m in doc["team"] if m["kind"] == "robot"}
    fluid = [s for s in doc["steps"] if s["phase"] == "cooling"]
    assert fluid and not any(s["assignee"] in robot for s in fluid)
    hose = next(s for s in fluid if s["kind"] == "connect_hose")
    assert hose["confirm"] == "scan_label" and hose["expect_codes"] == [hose["action"]["cable"]]


def test_device_type_files_stay_devicetype_library_files(planned):
    design = planned[0]
    for f in (design / "devicetypes").rglob("*.yaml"):
        doc = yaml.safe_load(f.read_text())
        assert "fluid-ports" not in doc and "lc-supply" not in f.read_text(), f
    assert "fluid: fluid.yaml" in (design / "design.yaml").read_text()


def _with_cables(design: Path, tmp_path: Path, cables: list[str]) -> list[str]:
    import shutil

    copy = tmp_path / "d"
    shutil.copytree(design, copy)
    with (copy / "connections.yaml").open("a") as f:
        f.writelines(f"  - {c}\n" for c in cables)
    loaded = load_design(copy)
    return [p.message for p in validate(loaded.design) + loaded.problems if p.severity == "error"]


def test_hoses_join_like_legs_with_fluid_media_only(planned, tmp_path):
    design = planned[0]
    msgs = _with_cables(
        design,
        tmp_path,
        [
            "{a: 'cdu-su01:tcs-s9', b: 'cdu-su02:tcs-r9', media: hose-dn25}",
            "{a: 'cdu-su01:tcs-s10', b: 'oob-a01:swp40', media: hose-dn25}",
            "{a: 'cdu-su02:tcs-s10', b: 'oob-a01:swp41', media: cat6a}",
        ],
    )
    assert any("joins the supply and the return side of the loop" in m for m in msgs), msgs
    assert any("fluid media 'hose-dn25' cannot connect to an interface" in m for m in msgs), msgs
    assert any(
        "copper media 'cat6a' cannot connect to a fluid-port (a hose needs fluid media)" in m
        for m in msgs
    ), msgs


def test_a_liquid_cooled_device_without_its_hoses_does_not_validate(planned, tmp_path):
    import shutil

    copy = tmp_path / "d"
    shutil.copytree(planned[0], copy)
    text = (copy / "connections.yaml").read_text().splitlines(keepends=True)
    kept = [line for line in text if "ct-a06-l01:lc-return" not in line]
    assert len(kept) == len(text) - 1
    (copy / "connections.yaml").write_text("".join(kept))
    loaded = load_design(copy)
    msgs = [p.message for p in validate(loaded.design) if p.rule == "fluid"]
    assert msgs == [
        "liquid-cooled device 'ct-a06-l01' has no hose on lc-return: connect its supply and "
        "return, or it could be powered on without cooling"
    ]


def test_the_fluid_example_in_the_docs_plans(tmp_path):
    """docs/formats.md#fluid-network, as written: design, fluid side file, floor plan, media."""
    import re
    import shutil

    repo = Path(__file__).parents[2]
    text = (repo / "docs" / "formats.md").read_text()
    section = text[text.index("## Fluid network") : text.index("## Robot and crew profiles")]
    for block in re.findall(r"```yaml\n(.*?)```", section, re.S):
        name = block.split("\n", 1)[0].removeprefix("# ").split(" ")[0].rstrip(":")
        (tmp_path / name).write_text(block)
    design = (tmp_path / "design.yaml").read_text() + "media: media.yaml\n"
    (tmp_path / "design.yaml").write_text(design)
    shutil.copytree(repo / "fieldops/blueprints/gb200-nvl72/devicetypes", tmp_path / "devicetypes")
    assert main(["validate", str(tmp_path)]) == 0
    assert main(["plan", str(tmp_path), "-o", str(tmp_path / "plan"), "-q", "--pdf"]) == 0
    doc = json.loads((tmp_path / "plan" / "workorders.json").read_text())
    sheet = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "plan" / "looptests.pdf"), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "coolant loop of rack A01" in sheet and "6 hoses, 12 joints" in sheet
    assert "Pressure at the start of the hold" in sheet and ">= 700" in sheet
    ids = {s["id"]: s for s in doc["steps"]}
    assert "leak:A01" in ids["burnin:ct-01"]["depends_on"]
    assert sum(s["kind"] == "connect_hose" for s in doc["steps"]) == 6


def test_power_shelves_take_whips_from_two_feeds_measured_from_the_busway(planned):
    """Each NVL72 shelf gets a 3-phase whip from a busway tap-off box hung 500 mm above the
    48U rack (outer height round(48 x 44.45 + 200) = 2,334 mm): shelf b1's input at U1 sits at
    100 + 0.5 x 44.45 = 122.2 mm, so its whip runs 2,834 - 122.2 = 2,711.8 mm down the rear."""
    _, out, doc, steps = planned
    rows = [
        r for r in csv.DictReader((out / "cutsheet.csv").open()) if r["media"] == "power-whip-3p63a"
    ]
    assert len(rows) == 16 * 8
    by_shelf = {r["a_device"]: r for r in rows}
    rack = min(r["a_rack"] for r in rows).lower()
    assert float(by_shelf[f"ps-{rack}-b1"]["route_mm"]) == pytest.approx(2711.8, abs=0.1)
    # shelf t1 at U32: 100 + 31.5 x 44.45 = 1,500.2 mm
    assert float(by_shelf[f"ps-{rack}-t1"]["route_mm"]) == pytest.approx(2834 - 1500.2, abs=0.1)
    for r in rows:
        assert int(r["ordered_mm"]) >= int(r["length_mm"]) > float(r["route_mm"])
    # shelves alternate between the A and B boxes: 4 on each feed in every rack
    feeds = {}
    for s in doc["steps"]:
        if s["kind"] == "connect_power" and s["action"]["pdu"].startswith("tap-"):
            feeds.setdefault(s["location"]["rack"], []).append(s["action"]["feed"])
    assert len(feeds) == 16 and all(sorted(f) == list("AAAABBBB") for f in feeds.values())
    assert "PWR-WHIP-3P63A-" in (out / "bom.csv").read_text()


def test_a_busbar_tray_powers_on_only_after_every_whip_of_its_rack(planned):
    _, _, doc, steps = planned
    whips = {}
    for s in doc["steps"]:
        if s["kind"] == "connect_power" and s["action"]["pdu"].startswith("tap-"):
            whips.setdefault(s["location"]["rack"], set()).add(s["id"])
    burnins = [s for s in doc["steps"] if s["id"].startswith(("burnin:ct-", "burnin:nvs-"))]
    assert burnins
    for s in burnins:
        rack_whips = whips[s["location"]["rack"]]
        assert rack_whips <= set(s["depends_on"]), s["id"]
        assert s["start_s"] >= max(steps[w]["end_s"] for w in rack_whips)


def test_tap_off_boxes_are_hung_on_the_busway_by_a_person_not_a_lift_robot(planned):
    _, _, doc, steps = planned
    robots = {m["name"] for m in doc["team"] if m["kind"] == "robot"}
    mount = steps[min(i for i in steps if i.startswith("mount:tap-") and i.endswith("-a"))]
    name = mount["action"]["device"]
    assert f"hang {name}" in mount["instruction"] and "on the busway above" in mount["instruction"]
    assert mount["title"] == f"Mount {name} on the busway above {mount['location']['rack']}"
    assert mount["action"]["max_elevation_mm"] == 2834
    taps = [s for s in doc["steps"] if s["id"].startswith("mount:tap-")]
    assert len(taps) == 32 and not {s["assignee"] for s in taps} & robots


def test_validate_names_a_rack_left_on_one_feed_and_strict_refuses_it(planned, tmp_path):
    """Box b of one rack re-fed from feed A (renamed ``…-a2-a``): all 8 shelves on feed A."""
    import shutil

    copy = tmp_path / "d"
    shutil.copytree(planned[0], copy)
    rack = min(
        line.split("tap-")[1].split("-b")[0]
        for line in (copy / "connections.yaml").read_text().splitlines()
        if "-b:out1" in line and "tap-" in line
    )
    for name in ("elevations.yaml", "connections.yaml"):
        f = copy / name
        f.write_text(f.read_text().replace(f"tap-{rack}-b", f"tap-{rack}-a2-a"))
    plain = subprocess.run(
        [sys.executable, "-m", "fieldops", "validate", str(copy)],
        capture_output=True,
        text=True,
        check=False,
    )
    strict = subprocess.run(
        [sys.executable, "-m", "fieldops", "validate", "--strict", str(copy)],
        capture_output=True,
        text=True,
        check=False,
    )
    msg = (
        f"warning: rack '{rack.upper()}': all 8 power shelves are on feed A; losing feed A powers "
        "the rack down (spread them over feeds A and B)"
    )
    assert plain.returncode == 0 and msg in plain.stdout, plain.stdout[-2000:]
    assert strict.returncode == 2 and msg in strict.stdout
    assert (
        "feed"
        not in subprocess.run(
            [sys.executable, "-m", "fieldops", "validate", str(planned[0])],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
    )


def test_racks_and_the_rigged_cdu_carry_their_way_from_the_dock(planned):
    _, _, doc, steps = planned
    racks = [s for s in doc["steps"] if s["kind"] == "place_rack"]
    assert racks and all(s["action"]["delivery"]["problems"] == [] for s in racks)
    for s in racks:
        d = s["action"]["delivery"]
        assert d["from"] == "DOCK" and len(d["path"]) >= 2 and d["length_mm"] > 0
        # the way in comes right after where the rack goes, before setting it up
        head, way = s["instruction"].split(". ", 2)[:2]
        assert head.startswith("Bring rack") and way.startswith(
            f"From DOCK ({d['length_mm'] / 1000:,.0f} m): 1B-"
        ), s["instruction"]
    cdu = next(s for s in doc["steps"] if s["id"].startswith("mount:cdu-"))
    rack = steps[f"rack:{cdu['location']['rack']}"]
    assert cdu["action"]["delivery"]["weight_kg"] == 900
    assert cdu["action"]["delivery"]["path"] == rack["action"]["delivery"]["path"]


def test_a_dock_door_too_low_for_the_racks_stops_validate_and_plan_alike(planned, tmp_path):
    import shutil

    copy = tmp_path / "d"
    shutil.copytree(planned[0], copy)
    fp = copy / "floorplan.yaml"
    fp.write_text(fp.read_text().replace("height_mm: 2700}", "height_mm: 2400}"))
    validate_out = subprocess.run(
        [sys.executable, "-m", "fieldops", "validate", str(copy)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    plan_out = subprocess.run(
        [sys.executable, "-m", "fieldops", "plan", str(copy), "-o", str(tmp_path / "p")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    msg = (
        "rack 'A05' (2,334 mm tall, 2,434 mm on its mover) does not pass under dock 'DOCK' "
        "(2,400 mm)"
    )
    assert validate_out.returncode == 2 and msg in validate_out.stdout, validate_out.stdout[-3000:]
    assert plan_out.returncode == 2 and msg in plan_out.stdout + plan_out.stderr
    assert not (tmp_path / "p" / "workorders.json").exists()
    # the 42U CDU racks (2,067 mm, 2,167 mm on their mover) still pass
    cdu_racks = {
        s["location"]["rack"] for s in planned[2]["steps"] if s["id"].startswith("mount:cdu-")
    }
    assert cdu_racks and not any(f"rack '{r}' (" in validate_out.stdout for r in cdu_racks)
