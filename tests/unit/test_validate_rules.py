"""Every validation rule, with a failing and a passing case, asserting file, line, path and message.

Designs come from tests/samples_validate.py: literal one-object-per-line YAML, so the expected
line numbers are counted by hand (floor plan racks from line 13, devices and cables from
line 2). Expected lists are the *complete* problem list: a rule must not bring company.
"""

from __future__ import annotations

import pytest

from fieldops import services
from tests.samples import LAB_HALL, SERVER_TYPE, SWITCH_TYPE
from tests.samples_validate import (
    CABLES,
    DEVICES,
    FLOORPLAN_HEAD,
    PDU_TYPE,
    RACKS,
    device_type,
    errors,
    floorplan_text,
    make_design,
    problems,
)

SERVER_2U = device_type(SERVER_TYPE, slug="test-server-2u", model="Test Server 2U", u_height=2)


def test_the_tiny_sample_has_no_problem_at_all(tmp_path):
    assert problems(make_design(tmp_path)) == []


def test_the_lab_sample_has_no_error():
    report = services.validate_design(LAB_HALL)
    assert [str(p) for p in report.problems if p.severity == "error"] == []


# ---------------------------------------------------------------- printable names


def test_names_outside_latin1_warn_that_they_print_as_question_marks(tmp_path):
    # a server type whose data port is named eth北 (the design's cable uses it)
    server = device_type(
        SERVER_TYPE,
        interfaces=[*SERVER_TYPE["interfaces"], {"name": "eth北", "type": "10gbase-t"}],
    )
    racks = [RACKS[0].replace("R01", "R-Ω1"), RACKS[1], RACKS[2]]
    devices = [
        DEVICES[0],
        DEVICES[1].replace("srv1", "srv-北京").replace("R01", "R-Ω1"),
        DEVICES[2].replace("srv2", "srv-café"),  # é is Latin-1: printed as is
    ]
    cables = [
        CABLES[0].replace("srv1", "srv-北京"),  # its device is warned about already
        CABLES[1].replace("srv2:eth0", "srv-café:eth北").replace("}", ", label: Ω-7}"),
    ]
    bad = make_design(
        tmp_path / "bad",
        racks=racks,
        devices=devices,
        cables=cables,
        device_types=[server, SWITCH_TYPE, PDU_TYPE],
    )
    tail = "would print as '?' on cut sheets and labels (their fonts cover Latin-1 only)"
    assert problems(bad) == [
        ("connections.yaml", 3, "cables[1]", f"cable label 'Ω-7': 'Ω' {tail}", "warning"),
        ("connections.yaml", 3, "cables[1]", f"port 'srv-café:eth北': '北' {tail}", "warning"),
        ("elevations.yaml", 3, "devices[1]", f"device 'srv-北京': '北京' {tail}", "warning"),
        ("floorplan.yaml", 13, "racks[0]", f"rack 'R-Ω1': 'Ω' {tail}", "warning"),
    ]
    assert errors(bad) == []


# ---------------------------------------------------------------- duplicates


def test_duplicate_rack_name(tmp_path):
    bad = make_design(
        tmp_path / "bad", racks=RACKS + ["{name: R01, rack_type: r42, position: [3600, 3000]}"]
    )
    assert errors(bad) == [
        ("floorplan.yaml", 16, "racks[3]", "duplicate rack name 'R01' (first at floorplan.yaml:13)")
    ]
    good = make_design(
        tmp_path / "good", racks=RACKS + ["{name: R04, rack_type: r42, position: [3600, 3000]}"]
    )
    assert errors(good) == []


def test_duplicate_rack_name_from_a_compact_row(tmp_path):
    head = (
        floorplan_text()
        + "rows:\n  - {name: R, rack_type: r42, count: 2, first: [3600, 3000], start: START}\n"
    )
    bad = make_design(tmp_path / "bad", floorplan=head.replace("START", "3"))
    assert errors(bad) == [
        ("floorplan.yaml", 17, "rows[0]", "duplicate rack name 'R03' (first at floorplan.yaml:15)")
    ]
    good = make_design(tmp_path / "good", floorplan=head.replace("START", "4"))
    assert errors(good) == []


def test_duplicate_device_name(tmp_path):
    bad = make_design(
        tmp_path / "bad",
        devices=DEVICES + ["{name: srv1, device_type: test-server-1u, rack: R01, position: 20}"],
    )
    assert errors(bad) == [
        (
            "elevations.yaml",
            5,
            "devices[3]",
            "duplicate device name 'srv1' (first at elevations.yaml:3)",
        )
    ]
    good = make_design(
        tmp_path / "good",
        devices=DEVICES + ["{name: srv3, device_type: test-server-1u, rack: R01, position: 20}"],
    )
    assert errors(good) == []


def test_duplicate_floor_object_name(tmp_path):
    bad = make_design(
        tmp_path / "bad",
        floorplan=floorplan_text(head=FLOORPLAN_HEAD.replace("name: DOOR", "name: COL-1")),
    )
    assert errors(bad) == [
        (
            "floorplan.yaml",
            7,
            "waypoints[0]",
            "duplicate floor object name 'COL-1' (first at floorplan.yaml:5)",
        )
    ]


def test_duplicate_cable_is_reported_once_even_with_ends_swapped(tmp_path):
    bad = make_design(
        tmp_path / "bad", cables=CABLES + ["{a: 'sw1:swp1', b: 'srv1:eth0', media: cat6a}"]
    )
    assert errors(bad) == [
        (
            "connections.yaml",
            4,
            "cables[2]",
            "duplicate cable sw1:swp1 -- srv1:eth0 (first at connections.yaml:2)",
        )
    ]


def test_duplicate_cable_label(tmp_path):
    cables = [
        "{a: 'srv1:eth0', b: 'sw1:swp1', media: cat6a, label: L1}",
        "{a: 'srv2:eth0', b: 'sw1:swp2', media: cat6a, label: LABEL}",
    ]
    bad = make_design(tmp_path / "bad", cables=[cables[0], cables[1].replace("LABEL", "L1")])
    assert errors(bad) == [
        (
            "connections.yaml",
            3,
            "cables[1]",
            "duplicate cable label 'L1' (first at connections.yaml:2)",
        )
    ]
    good = make_design(tmp_path / "good", cables=[cables[0], cables[1].replace("LABEL", "L2")])
    assert errors(good) == []


# ---------------------------------------------------------------- references


def test_unknown_rack_type(tmp_path):
    bad = make_design(tmp_path, racks=[RACKS[0].replace("r42", "r99"), *RACKS[1:]])
    assert errors(bad) == [
        (
            "floorplan.yaml",
            13,
            "racks[0].rack_type",
            "rack 'R01': unknown rack type 'r99' (known: r42)",
        )
    ]


def test_unknown_rack(tmp_path):
    bad = make_design(tmp_path, devices=[DEVICES[0], DEVICES[1].replace("R01", "R09"), DEVICES[2]])
    assert errors(bad) == [
        ("elevations.yaml", 3, "devices[1].rack", "device 'srv1': unknown rack 'R09'")
    ]


def test_unknown_device_type(tmp_path):
    bad = make_design(
        tmp_path,
        devices=[DEVICES[0], DEVICES[1].replace("test-server-1u", "test-nope"), DEVICES[2]],
    )
    assert errors(bad) == [
        (
            "elevations.yaml",
            3,
            "devices[1].device_type",
            "device 'srv1': unknown device type 'test-nope' (not in the device_types sources)",
        )
    ]


# ---------------------------------------------------------------- elevations


@pytest.mark.parametrize(
    ("slug", "position", "expected"),
    [
        ("test-server-2u", 42, "device 'big' (2U) at U42-U43 lies outside rack 'R03' (U1-U42)"),
        ("test-server-1u", 0, "device 'big' (1U) at U0 lies outside rack 'R03' (U1-U42)"),
        ("test-server-1u", -3, "device 'big' (1U) at U-3 lies outside rack 'R03' (U1-U42)"),
        ("test-server-1u", 43, "device 'big' (1U) at U43 lies outside rack 'R03' (U1-U42)"),
        ("test-server-2u", 41, None),
        ("test-server-1u", 1, None),
        ("test-server-1u", 42, None),
    ],
)
def test_device_inside_its_rack_u_range(tmp_path, slug, position, expected):
    dev = f"{{name: big, device_type: {slug}, rack: R03, position: {position}}}"
    design = make_design(
        tmp_path,
        devices=DEVICES + [dev],
        device_types=[SERVER_TYPE, SWITCH_TYPE, PDU_TYPE, SERVER_2U],
    )
    assert errors(design) == (
        [("elevations.yaml", 5, "devices[3].position", expected)] if expected else []
    )


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        # full-depth on full-depth: reported on the device declared later
        (
            "{name: srv3, device_type: test-server-1u, rack: R01, position: 10}",
            (
                5,
                "devices[3].position",
                "device 'srv3' overlaps 'srv1' at U10 (front) in rack 'R01'",
            ),
        ),
        # a 2U server whose upper unit lands on srv1
        (
            "{name: srv3, device_type: test-server-2u, rack: R01, position: 9}",
            (
                5,
                "devices[3].position",
                "device 'srv3' overlaps 'srv1' at U10 (front) in rack 'R01'",
            ),
        ),
        # a full-depth server fills the rear too, where the half-depth sw1 sits
        (
            "{name: srv3, device_type: test-server-1u, rack: R02, position: 40}",
            (5, "devices[3].position", "device 'srv3' overlaps 'sw1' at U40 (rear) in rack 'R02'"),
        ),
        # two half-depth switches on the same face
        (
            "{name: sw2, device_type: test-switch-1u, rack: R02, position: 40, face: rear}",
            (5, "devices[3].position", "device 'sw2' overlaps 'sw1' at U40 (rear) in rack 'R02'"),
        ),
        # half-depth front and half-depth rear share the unit
        ("{name: sw2, device_type: test-switch-1u, rack: R02, position: 40, face: front}", None),
        # adjacent units
        ("{name: srv3, device_type: test-server-2u, rack: R01, position: 11}", None),
        ("{name: srv3, device_type: test-server-2u, rack: R01, position: 8}", None),
    ],
)
def test_devices_overlap_by_depth_and_face(tmp_path, device, expected):
    design = make_design(
        tmp_path,
        devices=DEVICES + [device],
        device_types=[SERVER_TYPE, SWITCH_TYPE, PDU_TYPE, SERVER_2U],
    )
    assert errors(design) == ([("elevations.yaml", *expected)] if expected else [])


def test_zero_u_device_takes_no_position(tmp_path):
    bad = make_design(
        tmp_path / "bad",
        devices=DEVICES + ["{name: pdu1, device_type: test-pdu-0u, rack: R01, position: 5}"],
    )
    assert problems(bad) == [
        (
            "elevations.yaml",
            5,
            "devices[3].position",
            "device 'pdu1' is zero-U (test-pdu-0u); it takes no 'position' (ignored)",
            "warning",
        )
    ]
    good = make_design(
        tmp_path / "good", devices=DEVICES + ["{name: pdu1, device_type: test-pdu-0u, rack: R01}"]
    )
    assert problems(good) == []


def test_mounted_device_needs_a_position(tmp_path):
    bad = make_design(
        tmp_path, devices=DEVICES + ["{name: srv3, device_type: test-server-1u, rack: R01}"]
    )
    assert errors(bad) == [
        (
            "elevations.yaml",
            5,
            "devices[3].position",
            "device 'srv3' needs a 'position' (lowest U occupied, 1U tall)",
        )
    ]


# ---------------------------------------------------------------- power and weight budgets


def _servers_in_r01(n: int, slug: str = "test-server-1u") -> list[str]:
    return [DEVICES[0], DEVICES[2]] + [
        f"{{name: s{i}, device_type: {slug}, rack: R01, position: {2 * i + 1}}}" for i in range(n)
    ]


def test_rack_power_over_budget_uses_maximum_draw(tmp_path):
    head = FLOORPLAN_HEAD.replace("max_kw: 10", "max_kw: 1")
    bad = make_design(
        tmp_path / "bad", floorplan=floorplan_text(head=head), devices=_servers_in_r01(3), cables=[]
    )
    assert errors(bad) == [
        ("floorplan.yaml", 13, "racks[0]", "rack 'R01' draws 1,500 W, over its 1 kW budget (r42)")
    ]
    at_budget = make_design(
        tmp_path / "good",
        floorplan=floorplan_text(head=head),
        devices=_servers_in_r01(2),
        cables=[],
    )
    assert errors(at_budget) == []  # 2 x 500 W = exactly 1 kW


def test_rack_power_prefers_allocated_draw(tmp_path):
    head = FLOORPLAN_HEAD.replace("max_kw: 10", "max_kw: 1")
    typical = device_type(
        SERVER_TYPE,
        **{
            "power__ports": [
                {
                    "name": "PSU1",
                    "type": "iec-60320-c14",
                    "maximum_draw": 500,
                    "allocated_draw": 300,
                }
            ]
        },
    )
    types = [typical, SWITCH_TYPE, PDU_TYPE]
    good = make_design(
        tmp_path / "good",
        floorplan=floorplan_text(head=head),
        devices=_servers_in_r01(3),
        cables=[],
        device_types=types,
    )
    assert errors(good) == []  # 3 x 300 W allocated
    bad = make_design(
        tmp_path / "bad",
        floorplan=floorplan_text(head=head),
        devices=_servers_in_r01(4),
        cables=[],
        device_types=types,
    )
    assert errors(bad) == [
        ("floorplan.yaml", 13, "racks[0]", "rack 'R01' draws 1,200 W, over its 1 kW budget (r42)")
    ]


def test_pdu_draw_is_not_rack_load(tmp_path):
    head = FLOORPLAN_HEAD.replace("max_kw: 10", "max_kw: 1")
    devices = _servers_in_r01(2) + [
        "{name: pdu1, device_type: test-pdu-0u, rack: R01}"
    ]  # PDU inlet 7,400 W
    assert (
        errors(
            make_design(tmp_path, floorplan=floorplan_text(head=head), devices=devices, cables=[])
        )
        == []
    )


def test_unknown_power_draw_is_a_warning(tmp_path):
    no_psu = device_type(
        SERVER_TYPE, slug="test-nopsu-1u", model="No PSU", **{"power__ports": None}
    )
    devices = DEVICES + ["{name: srv3, device_type: test-nopsu-1u, rack: R01, position: 20}"]
    design = make_design(
        tmp_path, devices=devices, device_types=[SERVER_TYPE, SWITCH_TYPE, PDU_TYPE, no_psu]
    )
    assert problems(design) == [
        (
            "floorplan.yaml",
            13,
            "racks[0]",
            "rack 'R01': power draw unknown for 1 device(s) (srv3); budget check uses the known 500 W",
            "warning",
        ),
        (
            "types/test-nopsu-1u.yaml",
            1,
            "",
            "test-nopsu-1u: no power-ports; power draw unknown, no PDU cords planned",
            "warning",
        ),
    ]


def test_passive_gear_raises_no_power_warning(tmp_path):
    """A patch panel (NetBox ``is_powered: false``) draws nothing: no "power draw unknown"
    for its rack and no "no power-ports" for its type, unlike a server without PSUs."""
    panel = device_type(
        SERVER_TYPE,
        slug="test-panel-1u",
        model="Patch panel",
        is_powered=False,
        **{"power__ports": None},
    )
    devices = DEVICES + ["{name: pp1, device_type: test-panel-1u, rack: R01, position: 20}"]
    design = make_design(
        tmp_path, devices=devices, device_types=[SERVER_TYPE, SWITCH_TYPE, PDU_TYPE, panel]
    )
    assert [p for p in problems(design) if "power" in p[3]] == []


def test_rack_weight_over_budget(tmp_path):
    head = FLOORPLAN_HEAD.replace("max_kg: 800", "max_kg: 40")
    bad = make_design(
        tmp_path / "bad", floorplan=floorplan_text(head=head), devices=_servers_in_r01(3), cables=[]
    )
    assert errors(bad) == [
        ("floorplan.yaml", 13, "racks[0]", "rack 'R01' holds 45.0 kg, over its 40 kg limit (r42)")
    ]
    good = make_design(
        tmp_path / "good",
        floorplan=floorplan_text(head=head),
        devices=_servers_in_r01(2),
        cables=[],
    )
    assert errors(good) == []


def test_unknown_weight_is_a_warning(tmp_path):
    light = device_type(
        SERVER_TYPE, slug="test-noweight-1u", model="No weight", weight=None, weight_unit=None
    )
    devices = DEVICES + ["{name: srv3, device_type: test-noweight-1u, rack: R01, position: 20}"]
    design = make_design(
        tmp_path, devices=devices, device_types=[SERVER_TYPE, SWITCH_TYPE, PDU_TYPE, light]
    )
    assert problems(design) == [
        (
            "floorplan.yaml",
            13,
            "racks[0]",
            "rack 'R01': weight unknown for 1 device(s) (srv3); weight check uses the known 15.0 kg",
            "warning",
        ),
        (
            "types/test-noweight-1u.yaml",
            1,
            "weight",
            "test-noweight-1u: no weight: rack weight budget and lift checks treat it as unknown",
            "warning",
        ),
    ]


# ---------------------------------------------------------------- cables


@pytest.mark.parametrize(
    ("cable", "expected"),
    [
        (
            "{a: 'srvX:eth0', b: 'sw1:swp3', media: cat6a}",
            [("cables[2].a", "cable end srvX:eth0: unknown device 'srvX'")],
        ),
        (
            "{a: 'srv1:eth9', b: 'sw1:swp3', media: cat6a}",
            [
                (
                    "cables[2].a",
                    "cable end srv1:eth9: device type 'test-server-1u' has no port 'eth9' (it has e.g. bmc, eth0, p0, PSU1)",
                )
            ],
        ),
        (
            "{a: 'srv1:eth0', b: 'sw1:swp3', media: cat6a}",
            [
                (
                    "cables[2].a",
                    "port srv1:eth0 is already used by cable srv1:eth0 -- sw1:swp1 (connections.yaml:2)",
                )
            ],
        ),
        (
            "{a: 'srv1:bmc', b: 'sw1:swp3', media: cat9}",
            [
                (
                    "cables[2].media",
                    "cable srv1:bmc -- sw1:swp3: unknown media 'cat9' (known: cat6a, dac-100g, power-c13-c14, smf)",
                )
            ],
        ),
        (
            "{a: 'srv1:p0', b: 'sw1:up1', media: cat6a}",
            [
                (
                    "cables[2].media",
                    "cable end srv1:p0: media 'cat6a' does not fit port type '100gbase-x-qsfp28' (fits 1000base-t, 10gbase-t)",
                ),
                (
                    "cables[2].media",
                    "cable end sw1:up1: media 'cat6a' does not fit port type '100gbase-x-qsfp28' (fits 1000base-t, 10gbase-t)",
                ),
            ],
        ),
        (
            "{a: 'srv1:p0', b: 'sw1:up1', media: power-c13-c14}",
            [
                (
                    "cables[2].media",
                    "cable end srv1:p0: media 'power-c13-c14' does not fit port type '100gbase-x-qsfp28' (fits iec-60320-c13, iec-60320-c14)",
                ),
                (
                    "cables[2].media",
                    "cable end srv1:p0: power media 'power-c13-c14' cannot plug into an interface",
                ),
                (
                    "cables[2].media",
                    "cable end sw1:up1: media 'power-c13-c14' does not fit port type '100gbase-x-qsfp28' (fits iec-60320-c13, iec-60320-c14)",
                ),
                (
                    "cables[2].media",
                    "cable end sw1:up1: power media 'power-c13-c14' cannot plug into an interface",
                ),
            ],
        ),
        (
            "{a: 'srv1:PSU1', b: 'srv2:PSU1', media: power-c13-c14}",
            [
                (
                    "cables[2]",
                    "cable srv1:PSU1 -- srv2:PSU1: a power-port cannot connect to a power-port",
                )
            ],
        ),
        (
            "{a: 'srv1:PSU1', b: 'srv2:bmc', media: smf}",
            [
                (
                    "cables[2]",
                    "cable srv1:PSU1 -- srv2:bmc: a power-port cannot connect to an interface",
                ),
                (
                    "cables[2].media",
                    "cable end srv1:PSU1: fibre media 'smf' cannot plug into a power-port",
                ),
            ],
        ),
        (
            "{a: 'srv1:bmc', b: 'srv1:bmc', media: cat6a}",
            [("cables[2]", "cable srv1:bmc -- srv1:bmc connects a port to itself")],
        ),
        # passing cases: matching media, any-port media, a server PSU on a PDU outlet
        ("{a: 'srv1:p0', b: 'sw1:up1', media: dac-100g}", []),
        ("{a: 'srv1:p0', b: 'sw1:up1', media: smf}", []),
        ("{a: 'srv1:PSU1', b: 'pdu1:O1', media: power-c13-c14}", []),
        ("{a: {device: srv1, port: bmc}, b: {device: sw1, port: swp3}, media: cat6a}", []),
    ],
)
def test_cable_rules(tmp_path, cable, expected):
    devices = DEVICES + ["{name: pdu1, device_type: test-pdu-0u, rack: R01}"]
    design = make_design(tmp_path, devices=devices, cables=CABLES + [cable])
    assert errors(design) == [("connections.yaml", 4, path, msg) for path, msg in expected]


def test_virtual_interface_takes_no_cable(tmp_path):
    bonded = device_type(
        SERVER_TYPE, interfaces=SERVER_TYPE["interfaces"] + [{"name": "bond0", "type": "lag"}]
    )
    bad = make_design(
        tmp_path,
        cables=CABLES + ["{a: 'srv1:bond0', b: 'sw1:swp3', media: cat6a}"],
        device_types=[bonded, SWITCH_TYPE, PDU_TYPE],
    )
    assert errors(bad) == [
        (
            "connections.yaml",
            4,
            "cables[2].a",
            "cable end srv1:bond0: 'bond0' is a lag interface and takes no cable",
        )
    ]


# ---------------------------------------------------------------- floor geometry


def test_rack_outside_the_hall(tmp_path):
    bad = make_design(
        tmp_path / "bad", racks=RACKS[:2] + ["{name: R03, rack_type: r42, position: [5800, 3000]}"]
    )
    assert errors(bad) == [
        (
            "floorplan.yaml",
            15,
            "racks[2]",
            "rack 'R03' at [5800, 3000] lies (partly) outside the hall",
        ),
        (
            "floorplan.yaml",
            15,
            "racks[2]",
            "rack 'R03': no 900 mm working clearance at its front face (blocked by the hall wall)",
        ),
        (
            "floorplan.yaml",
            15,
            "racks[2]",
            "rack 'R03': no 900 mm working clearance at its rear face (blocked by the hall wall)",
        ),
    ]
    # touching the wall from inside is inside
    good = make_design(
        tmp_path / "good", racks=RACKS[:2] + ["{name: R03, rack_type: r42, position: [5700, 3000]}"]
    )
    assert errors(good) == []


def test_racks_overlapping(tmp_path):
    bad = make_design(
        tmp_path / "bad", racks=RACKS[:2] + ["{name: R03, rack_type: r42, position: [2700, 3000]}"]
    )
    assert errors(bad) == [("floorplan.yaml", 15, "racks[2]", "rack 'R03' overlaps rack 'R02'")]
    # side by side (touching) is the normal row: see the default racks, no problem


def test_rack_overlapping_an_obstacle(tmp_path):
    bad = make_design(
        tmp_path, racks=RACKS + ["{name: R04, rack_type: r42, position: [5000, 5000]}"]
    )
    assert errors(bad) == [
        ("floorplan.yaml", 16, "racks[3]", "rack 'R04' overlaps obstacle 'COL-1'"),
        (
            "floorplan.yaml",
            16,
            "racks[3]",
            "rack 'R04': no 900 mm working clearance at its rear face (blocked by the hall wall)",
        ),
    ]


def test_clearance_blocked_by_another_rack_and_the_clearance_option(tmp_path):
    design = make_design(
        tmp_path, racks=RACKS + ["{name: R04, rack_type: r42, position: [1800, 1500]}"]
    )
    assert errors(design) == [
        (
            "floorplan.yaml",
            13,
            "racks[0]",
            "rack 'R01': no 900 mm working clearance at its front face (blocked by rack 'R04')",
        ),
        (
            "floorplan.yaml",
            16,
            "racks[3]",
            "rack 'R04': no 900 mm working clearance at its rear face (blocked by rack 'R01')",
        ),
    ]
    # R04's rear (y 2100) and R01's front (y 2400) leave exactly 300 mm
    assert errors(design, clearance_mm=300) == []
    assert (
        errors(design, clearance_mm=301)[0][3]
        == "rack 'R01': no 301 mm working clearance at its front face (blocked by rack 'R04')"
    )
    assert errors(design, clearance_mm=0) == []


def test_clearance_blocked_by_an_obstacle(tmp_path):
    bad = make_design(
        tmp_path, racks=RACKS + ["{name: R04, rack_type: r42, position: [5000, 3900]}"]
    )
    assert errors(bad) == [
        (
            "floorplan.yaml",
            16,
            "racks[3]",
            "rack 'R04': no 900 mm working clearance at its rear face (blocked by obstacle 'COL-1')",
        )
    ]


@pytest.mark.parametrize(("rotation", "face"), [(90, "front"), (270, "rear"), (-90, "rear")])
def test_rotation_turns_the_front_face(tmp_path, rotation, face):
    """At rotation 90 the front faces +x (normal (sin r, -cos r)): here, the east wall 100 mm away."""
    rack = f"{{name: R04, rack_type: r42, position: [5300, 1000], rotation_deg: {rotation}}}"
    design = make_design(tmp_path, racks=RACKS + [rack])
    assert errors(design) == [
        (
            "floorplan.yaml",
            16,
            "racks[3]",
            f"rack 'R04': no 900 mm working clearance at its {face} face (blocked by the hall wall)",
        )
    ]


def test_waypoint_outside_the_hall(tmp_path):
    bad = make_design(
        tmp_path,
        floorplan=floorplan_text(
            head=FLOORPLAN_HEAD.replace("position: [300, 300]", "position: [-300, 300]")
        ),
    )
    assert errors(bad) == [
        (
            "floorplan.yaml",
            7,
            "waypoints[0]",
            "waypoint 'DOOR' at [-300, 300] lies outside the hall",
        )
    ]


def test_tray_outside_the_hall_is_a_warning(tmp_path):
    bad = make_design(
        tmp_path,
        floorplan=floorplan_text(head=FLOORPLAN_HEAD.replace("[3600, 3000]]", "[6600, 3000]]")),
    )
    assert problems(bad) == [
        (
            "floorplan.yaml",
            9,
            "trays[0].points",
            "tray 'T1' segment 1 ([1200, 3000] to [6600, 3000]) leaves the hall",
            "warning",
        )
    ]


def test_hall_outline_must_be_a_simple_polygon(tmp_path):
    head = FLOORPLAN_HEAD.replace(
        "[[0, 0], [6000, 0], [6000, 6000], [0, 6000]]",
        "[[0, 0], [6000, 6000], [6000, 0], [0, 6000]]",
    )
    bad = make_design(tmp_path, floorplan=floorplan_text(head=head))
    assert errors(bad) == [
        (
            "floorplan.yaml",
            1,
            "outline",
            "hall outline is not a simple polygon (Self-intersection[3000 3000])",
        )
    ]


def test_obstacle_must_be_a_simple_polygon(tmp_path):
    head = FLOORPLAN_HEAD.replace(
        "[[4800, 4800], [5200, 4800], [5200, 5200], [4800, 5200]]",
        "[[4800, 4800], [5200, 5200], [5200, 4800], [4800, 5200]]",
    )
    bad = make_design(tmp_path, floorplan=floorplan_text(head=head))
    assert errors(bad) == [
        (
            "floorplan.yaml",
            5,
            "obstacles[0].polygon",
            "obstacle 'COL-1' is not a simple polygon (Self-intersection[5000 5000])",
        )
    ]


def test_names_a_url_must_escape_warn_and_still_validate(tmp_path):
    """Step IDs come from rack and device names; the app takes any ID (routes accept '/'),
    but a name with '/', '#', '?' or a space has to be escaped wherever it is linked."""
    devices = [DEVICES[0], DEVICES[1].replace("srv1", "srv/1"), DEVICES[2].replace("srv2", "srv 2")]
    cables = [CABLES[0].replace("srv1", "srv/1"), CABLES[1].replace("srv2", "srv 2")]
    odd = make_design(tmp_path / "odd", devices=devices, cables=cables)
    tail = "must be escaped in the step IDs and links made from this name; letters, digits and - _ . : are safe"
    warned = [p for p in problems(odd) if "escaped" in p[3]]
    assert warned == [
        ("elevations.yaml", 3, "devices[1]", f"device 'srv/1': '/' {tail}", "warning"),
        ("elevations.yaml", 4, "devices[2]", f"device 'srv 2': ' ' {tail}", "warning"),
    ]
    assert errors(odd) == []
