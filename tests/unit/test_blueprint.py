"""Blueprint expansion (pure): expressions, names, parameters, rack placement and the four
connection patterns, on a tiny hand-made blueprint whose every cable is worked out by hand."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldops.core.blueprint import (
    Blueprint,
    DeviceTemplate,
    ExprError,
    Layout,
    Parameter,
    RackGroup,
    Rule,
    Selector,
    check_name_pattern,
    evaluate,
    expand_blueprint,
    expand_names,
    resolve_params,
)
from fieldops.core.model import DeviceType, PortTemplate, Source
from fieldops.core.problems import DesignError


def _type(slug, ports, u=1):
    return DeviceType(
        "T", slug, slug, u_height=u, ports=tuple(PortTemplate(n, k, t) for n, k, t in ports)
    )


TYPES = {
    "node": _type(
        "node",
        [
            ("n0", "interface", "x"),
            ("n1", "interface", "x"),
            ("bmc", "interface", "1000base-t"),
            ("psu1", "power-port", "c14"),
            ("psu2", "power-port", "c14"),
            ("psu3", "power-port", "c14"),
        ],
    ),
    "leaf": _type(
        "leaf",
        [(f"p{i}", "interface", "x") for i in range(1, 5)]
        + [
            ("up1", "interface", "x"),
            ("up2", "interface", "x"),
            ("mgmt", "interface", "1000base-t"),
        ],
    ),
    "spine": _type("spine", [(f"s{i}", "interface", "x") for i in range(1, 9)]),
    "pdu": _type(
        "pdu",
        [
            ("o1", "power-outlet", "c13"),
            ("o2", "power-outlet", "c13"),
            ("o3", "power-outlet", "c19"),
            ("o4", "power-outlet", "c13"),
            ("o5", "power-outlet", "c13"),
        ],
        u=0,
    ),
}
SRC = Source("bp.yaml", 7, "connections[0]")


def tiny_blueprint(rules=None, **kw) -> Blueprint:
    """2 units in one pod; per unit one rack with 2 nodes, 2 leaves and 2 PDUs; one hall rack of 2 spines."""
    groups = (
        RackGroup(
            "core",
            "hall",
            "r",
            1,
            (DeviceTemplate("spine", "spine-{i}", "spine", count=2, position=40, step=-1),),
        ),
        RackGroup(
            "su",
            "unit",
            "r",
            1,
            (
                DeviceTemplate("node", "node-u{unit}-{i}", "node", count=2, position=1, step=1),
                DeviceTemplate(
                    "leaf", "leaf-u{unit}-{i}", "leaf", count=2, position=30, step=1, face="rear"
                ),
                DeviceTemplate("pdu", "pdu-{rack}-{n}", "pdu", count=2, face="rear"),
            ),
        ),
    )
    default_rules = (
        Rule(
            "rails",
            Selector("node", ("n{0..1}",)),
            Selector("leaf", ("p{1..4}",)),
            "m",
            scope="unit",
            pattern="rail",
            source=SRC,
        ),
        Rule(
            "uplinks",
            Selector("leaf", ("up1", "up2")),
            Selector("spine", ("s{1..8}",)),
            "m",
            scope="hall",
            pattern="spread",
            source=SRC,
        ),
        Rule(
            "power",
            Selector("node", port_type="c14"),
            Selector("pdu", port_type="c13"),
            "pw",
            scope="rack",
            pattern="cycle",
            source=SRC,
        ),
        Rule(
            "mgmt",
            Selector("leaf", ("mgmt",)),
            Selector("node", ("bmc",)),
            "cat",
            scope="unit",
            pattern="pack",
            source=SRC,
        ),
    )
    fields = dict(
        name="tiny",
        parameters=(Parameter("units", 2, 1, 8, help="units"), Parameter("row", 2, 1, 10)),
        units="units",
        units_per_pod="units",
        layout=Layout(
            rack_types=({"slug": "r", "width_mm": 600, "depth_mm": 1200, "u_height": 42},),
            racks_per_row="row",
        ),
        racks=groups,
        rules=default_rules if rules is None else rules,
        source=Source("bp.yaml", 1, ""),
    )
    fields.update(kw)
    return Blueprint(**fields)


def expand(bp=None, **params):
    bp = bp or tiny_blueprint()
    return expand_blueprint(bp, resolve_params(bp, params), TYPES)


# ---------------------------------------------------------------- expressions and names


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("su_count * 8 + 1", {"su_count": 4}, 33),
        ("ceil_div(33, 32)", {}, 2),
        ("ceil_div(32, 32)", {}, 1),
        ("4 if su > 4 else su * 2", {"su": 3}, 6),
        ("4 if su > 4 else su * 2", {"su": 5}, 4),
        ("max(2, min(7, 9)) - 10 // 3 % 2", {}, 6),
        ("not three and x == 'a'", {"three": False, "x": "a"}, True),
        (12, {}, 12),
    ],
)
def test_evaluate_hand_computed(text, env, expected):
    assert evaluate(text, env) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("__import__('os')", "only numbers"),
        ("x.y", "only numbers"),
        ("2 ** 10", "only numbers"),
        ("7 / 2", "only numbers"),
        ("nope + 1", "unknown name 'nope'"),
        ("1 // 0", "division by zero"),
        ("ceil_div(1)", "wrong number"),
        ("9" * 20, "beyond"),
        ("999999 * 999999 * 999999", "beyond"),
        ("1 +", "cannot read"),
        ("'a' < 1", "cannot compare"),
    ],
)
def test_evaluate_refuses(text, fragment):
    with pytest.raises(ExprError, match=fragment):
        evaluate(text, {"x": 1})


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_evaluate_never_raises_anything_but_expr_error(text):
    try:
        out = evaluate(text, {"a": 3, "b": "x"})
    except ExprError:
        return
    assert isinstance(out, int | str | bool)


def test_expand_names_ranges_left_slowest():
    assert expand_names("P{0..1}.{0..1}") == ["P0.0", "P0.1", "P1.0", "P1.1"]
    assert expand_names("swp{3..1}") == ["swp3", "swp2", "swp1"]
    assert expand_names("Port {1..2}") == ["Port 1", "Port 2"]
    assert expand_names("eth0") == ["eth0"]
    with pytest.raises(ExprError):
        expand_names("p{1..1000000}")


def test_name_patterns_allow_only_plain_fields():
    assert check_name_pattern("dgx-su{unit:02d}-{i:02d}") is None
    assert "allowed" in check_name_pattern("{unit.__class__}")
    assert "allowed" in check_name_pattern("{rack[0]}")
    assert "only formats" in check_name_pattern("{i!r}")
    assert "bad name pattern" in check_name_pattern("{i")


# ---------------------------------------------------------------- parameters


def test_params_from_text_and_defaults():
    bp = tiny_blueprint()
    assert resolve_params(bp) == {"units": 2, "row": 2}
    assert resolve_params(bp, {"units": "5", "row": " 3 "}) == {"units": 5, "row": 3}


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"unit": "1"}, "unknown parameter 'unit' for blueprint 'tiny' (known: row, units)"),
        ({"units": "four"}, "'four' is not a whole number"),
        ({"units": "1.5"}, "'1.5' is not a whole number"),
        ({"units": "-1"}, "-1 is below the minimum 1"),
        ({"units": "9"}, "9 is above the maximum 8"),
        ({"units": "99999999999999999999"}, "not a whole number"),
    ],
)
def test_bad_params_are_named(overrides, fragment):
    with pytest.raises(DesignError) as exc:
        resolve_params(tiny_blueprint(), overrides)
    assert fragment in str(exc.value)


def test_choice_parameter():
    bp = tiny_blueprint(
        parameters=(
            Parameter("units", 2, 1, 8),
            Parameter("row", 2, 1, 9),
            Parameter("cooling", "air", choices=("air", "liquid")),
        )
    )
    assert resolve_params(bp, {"cooling": "liquid"})["cooling"] == "liquid"
    with pytest.raises(DesignError, match="'water' is not one of: air, liquid"):
        resolve_params(bp, {"cooling": "water"})


# ---------------------------------------------------------------- floor


def test_floor_rows_aisles_and_trays_by_hand():
    """Blocks: hall rack, unit 1, unit 2; 2 racks per row, so unit 2 starts row B.

    x0 = wall 3000 + overhang 600 = 3600; rack centres 3900, 4500. Row A: front line y=3000,
    centre 3600. Hot aisle 1200 -> row B rear line 5400, centre 6000, rotated 180.
    """
    fp = expand().floorplan
    assert [(r["name"], r["position"], r["rotation_deg"], r["row"]) for r in fp["racks"]] == [
        ("A01", [3900, 3600], 0, "A"),
        ("A02", [4500, 3600], 0, "A"),
        ("B01", [3900, 6000], 180, "B"),
    ]
    assert fp["outline"] == [[0, 0], [8400, 0], [8400, 9600], [0, 9600]]
    trays = {t["name"]: t["points"] for t in fp["trays"]}
    assert trays == {
        "TRAY-A": [[3300, 3600], [5100, 3600]],
        "TRAY-B": [[3300, 6000], [5100, 6000]],
        "TRAY-X1": [[3300, 3600], [3300, 6000]],
        "TRAY-X2": [[5100, 3600], [5100, 6000]],
    }


def test_block_longer_than_a_row_splits():
    exp = expand(row=1)
    assert [r["name"] for r in exp.floorplan["racks"]] == ["A01", "B01", "C01"]
    assert [r["rotation_deg"] for r in exp.floorplan["racks"]] == [0, 180, 0]
    # an odd last row has its rear to the wall: the hall keeps clearance behind it
    assert exp.floorplan["outline"][2][1] == 3000 + 1200 + 1200 + 1200 + 1800 + 1200 + 3000


# ---------------------------------------------------------------- devices and patterns


def test_devices_named_and_stacked():
    devs = {d["name"]: d for d in expand().devices}
    assert set(devs) == {
        "spine-1",
        "spine-2",
        "node-u1-1",
        "node-u1-2",
        "leaf-u1-1",
        "leaf-u1-2",
        "pdu-a02-1",
        "pdu-a02-2",
        "node-u2-1",
        "node-u2-2",
        "leaf-u2-1",
        "leaf-u2-2",
        "pdu-b01-1",
        "pdu-b01-2",
    }
    assert devs["spine-2"]["position"] == 39
    assert devs["node-u2-2"] == {
        "name": "node-u2-2",
        "device_type": "node",
        "rack": "B01",
        "position": 2,
        "face": "front",
        "role": "node",
    }
    assert "position" not in devs["pdu-b01-1"]


def cables_of(exp, rule_media):
    return [(c["a"], c["b"]) for c in exp.cables if c["media"] == rule_media]


def test_rail_pattern_nic_k_to_leaf_k():
    assert cables_of(expand(), "m")[:8] == [
        ("node-u1-1:n0", "leaf-u1-1:p1"),
        ("node-u1-1:n1", "leaf-u1-2:p1"),
        ("node-u1-2:n0", "leaf-u1-1:p2"),
        ("node-u1-2:n1", "leaf-u1-2:p2"),
        ("node-u2-1:n0", "leaf-u2-1:p1"),
        ("node-u2-1:n1", "leaf-u2-2:p1"),
        ("node-u2-2:n0", "leaf-u2-1:p2"),
        ("node-u2-2:n1", "leaf-u2-2:p2"),
    ]


def test_spread_pattern_balances_uplinks():
    assert cables_of(expand(), "m")[8:] == [
        ("leaf-u1-1:up1", "spine-1:s1"),
        ("leaf-u1-1:up2", "spine-2:s1"),
        ("leaf-u1-2:up1", "spine-1:s2"),
        ("leaf-u1-2:up2", "spine-2:s2"),
        ("leaf-u2-1:up1", "spine-1:s3"),
        ("leaf-u2-1:up2", "spine-2:s3"),
        ("leaf-u2-2:up1", "spine-1:s4"),
        ("leaf-u2-2:up2", "spine-2:s4"),
    ]


def test_cycle_pattern_feeds_alternate_pdus_of_the_same_rack():
    # PSU k -> PDU k mod 2 (restarting for every node), each PDU's c13 outlets o1, o2, o4, o5
    # in order (o3 is a c19): PDU 1 takes psu1 and psu3 of both nodes
    assert cables_of(expand(units=1), "pw") == [
        ("node-u1-1:psu1", "pdu-a02-1:o1"),
        ("node-u1-1:psu2", "pdu-a02-2:o1"),
        ("node-u1-1:psu3", "pdu-a02-1:o2"),
        ("node-u1-2:psu1", "pdu-a02-1:o4"),
        ("node-u1-2:psu2", "pdu-a02-2:o2"),
        ("node-u1-2:psu3", "pdu-a02-1:o5"),
    ]


def test_pack_pattern_fills_first_device_first():
    assert cables_of(expand(units=1), "cat") == [
        ("leaf-u1-1:mgmt", "node-u1-1:bmc"),
        ("leaf-u1-2:mgmt", "node-u1-2:bmc"),
    ]


def test_counts_by_role_and_rule():
    exp = expand()
    assert exp.links == {"rails": 8, "uplinks": 8, "power": 12, "mgmt": 4}
    assert exp.roles == {"leaf": 4, "node": 4, "pdu": 4, "spine": 2}
    assert exp.summary()["cables"] == 32


def test_expansion_is_deterministic():
    assert expand() == expand()


def test_when_false_skips_rules_and_groups():
    bp = tiny_blueprint()
    rules = tuple(
        Rule(
            r.name,
            r.a,
            r.b,
            r.media,
            r.scope,
            r.pattern,
            when="units > 5" if r.name == "power" else 1,
            source=SRC,
        )
        for r in bp.rules
    )
    assert "power" not in {k for k, v in expand(tiny_blueprint(rules=rules)).links.items() if v}


# ---------------------------------------------------------------- errors name the rule and the line


def fails(bp, fragment, **params):
    with pytest.raises(DesignError) as exc:
        expand(bp, **params)
    text = str(exc.value)
    assert fragment in text, text
    return exc.value.problems[0]


def test_out_of_ports_is_reported_with_the_rule():
    few = Rule(
        "uplinks",
        Selector("leaf", ("up1", "up2")),
        Selector("spine", ("s{1..3}",)),
        "m",
        scope="hall",
        pattern="spread",
        source=SRC,
    )
    p = fails(
        tiny_blueprint(rules=(few,)),
        "rule 'uplinks': no free port left on spine-1 for leaf-u2-2:up1",
    )  # s1-s3 went to the first three leaves
    assert (p.file, p.line, p.path) == ("bp.yaml", 7, "connections[0].b")


def test_unknown_port_is_reported():
    bad = Rule(
        "rails",
        Selector("node", ("n{0..2}",)),
        Selector("leaf", ("p{1..4}",)),
        "m",
        pattern="rail",
        source=SRC,
    )
    fails(tiny_blueprint(rules=(bad,)), "device type 'node' has no port 'n2'")


def test_rail_needs_a_multiple_of_leaves():
    bad = Rule(
        "rails",
        Selector("node", ("n0", "n1", "bmc")),
        Selector("leaf", ("p{1..4}",)),
        "m",
        pattern="rail",
        source=SRC,
    )
    fails(
        tiny_blueprint(rules=(bad,)),
        "pattern 'rail' needs the 'leaf' devices per unit (2) to be a multiple of the 3 ports",
    )


def test_port_used_by_two_rules():
    r1 = Rule(
        "a",
        Selector("node", ("n0",)),
        Selector("leaf", ("p{1..4}",)),
        "m",
        pattern="pack",
        source=SRC,
    )
    r2 = Rule(
        "b",
        Selector("node", ("n0",)),
        Selector("leaf", ("p{1..4}",)),
        "m",
        pattern="pack",
        source=SRC,
    )
    fails(tiny_blueprint(rules=(r1, r2)), "port node-u1-1:n0 is already cabled by rule 'a'")


def test_scope_mismatch_and_missing_role():
    bad = Rule(
        "x", Selector("spine", ("s1",)), Selector("leaf", ("p1",)), "m", scope="unit", source=SRC
    )
    fails(tiny_blueprint(rules=(bad,)), "'spine' devices are not per unit")
    none = Rule("x", Selector("node", ("n0",)), Selector("ghost", ("p1",)), "m", source=SRC)
    fails(tiny_blueprint(rules=(none,)), "no 'ghost' devices")


def test_duplicate_device_names_and_unknown_types():
    groups = (RackGroup("su", "unit", "r", 1, (DeviceTemplate("node", "node-{n}", "node"),)),)
    fails(tiny_blueprint(racks=groups, rules=()), "device name 'node-1' is made twice")
    groups = (RackGroup("su", "unit", "r", 1, (DeviceTemplate("node", "n-{unit}", "ghost"),)),)
    fails(tiny_blueprint(racks=groups, rules=()), "unknown device type 'ghost'")


def test_bad_expressions_in_counts():
    groups = (RackGroup("su", "unit", "r", "units * nonsense", ()),)
    fails(tiny_blueprint(racks=groups, rules=()), "unknown name 'nonsense'")
    groups = (RackGroup("su", "unit", "r", "units * 100000", ()),)
    fails(tiny_blueprint(racks=groups, rules=()), "above 20,000")
