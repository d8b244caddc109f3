"""The design loaders: schema errors, bad and hostile input, references, includes, compact rows.

Every bad input must come back as a problem naming the file, line and field, never as an
exception other than DesignError. Line numbers are counted by hand from the literal files of
tests/samples_validate.py (design.yaml as written by tests/samples.write_design: name on
line 1, revision 2, floorplan 3, device_types 4 (its item on 5), elevations 6,
connections 7, media 8).
"""

from __future__ import annotations

import pytest

from fieldops import services
from fieldops.adapters.designfile import (
    load_design,
    load_media,
    load_robot_profile,
    parse_floorplan,
)
from fieldops.adapters.yamlfile import MAX_DEPTH, MAX_NODES, parse_yaml, read_yaml
from fieldops.bootstrap import robot_profiles_dir
from fieldops.core.problems import DesignError
from tests.samples_validate import (
    DEVICES,
    RACKS,
    errors,
    floorplan_text,
    list_text,
    make_design,
    problems,
)


def _one(design, **kw):
    found = problems(design, **kw)
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------- schema


@pytest.mark.parametrize(
    ("rack", "expected"),
    [
        (
            "{name: R01, rack_type: r42, position: [1800, 3000], rotation_deg: north}",
            ("racks[0].rotation_deg", "expected a number, got text 'north'", "error"),
        ),
        (
            "{name: R01, rack_type: r42, position: [1800, 3000], rotation_deg: .nan}",
            ("racks[0].rotation_deg", "expected a finite number, got nan", "error"),
        ),
        (
            "{name: R01, rack_type: r42, position: [1800, 3000], rotation_deg: 720}",
            ("racks[0].rotation_deg", "720 is above the maximum 360", "error"),
        ),
        (
            "{name: R01, rack_type: r42, position: [1800, 3000], rotation_deg: true}",
            ("racks[0].rotation_deg", "expected a number, got boolean True", "error"),
        ),
        (
            "{name: R01, rack_type: r42, position: [1800, 3000], u_heigth: 42}",
            ("racks[0].u_heigth", "unknown field 'u_heigth' (ignored)", "warning"),
        ),
        (
            "{name: R01, rack_type: r42, position: [1800, 3000], row: [A]}",
            ("racks[0].row", "expected text, got a list", "error"),
        ),
    ],
)
def test_rack_field_errors_name_file_line_and_field(tmp_path, rack, expected):
    design = make_design(tmp_path, racks=[rack, *RACKS[1:]])
    assert _one(design) == ("floorplan.yaml", 13, *expected)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("u_height: -1", "-1 is below the minimum 1"),
        ("u_height: 10000", "10000 is above the maximum 100"),
        ("u_height: 42.5", "expected a whole number, got 42.5"),
        ("max_kw: .nan", "expected a finite number, got nan"),
        ("max_kg: -.inf", "expected a finite number, got -inf"),
        ("width_mm: 1e400", "expected a finite number, got inf"),
        ("width_mm: 1.0e+400", "expected a finite number, got inf"),
        ("depth_mm: '1200'", "expected a number, got text '1200'"),
    ],
)
def test_absurd_rack_type_numbers(tmp_path, field, expected):
    key, value = field.split(": ")
    values = {
        "width_mm": "600",
        "depth_mm": "1200",
        "u_height": "42",
        "max_kw": "10",
        "max_kg": "800",
        key: value,
    }
    line = "  - {slug: r42, " + ", ".join(f"{k}: {v}" for k, v in values.items()) + "}\n"
    head = floorplan_text().replace(
        "  - {slug: r42, width_mm: 600, depth_mm: 1200, u_height: 42, max_kw: 10, max_kg: 800}\n",
        line,
    )
    found = [
        p for p in problems(make_design(tmp_path, floorplan=head)) if p[2] == f"rack_types[0].{key}"
    ]
    assert found == [("floorplan.yaml", 11, f"rack_types[0].{key}", expected, "error")]


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        (
            "{name: srv3, device_type: test-server-1u, rack: R01, position: 2.5}",
            ("devices[3].position", "half-U position 2.5: fieldops plans whole units, use 2 or 3"),
        ),
        (
            "{name: srv3, device_type: test-server-1u, rack: R01, position: 1e9}",
            ("devices[3].position", "1000000000 is above the maximum 10000"),
        ),
        (
            "{name: srv3, device_type: test-server-1u, rack: R01, position: 20, face: side}",
            ("devices[3].face", "'side' is not one of: front, rear"),
        ),
        (
            "{name: srv3, rack: R01, position: 20}",
            ("devices[3]", "missing required field 'device_type'"),
        ),
        ("[srv3, test-server-1u]", ("devices[3]", "expected a mapping, got a list")),
        (
            "{name: srv3, device_type: test-server-1u, rack: R01, position: 20, mounting: overhead}",
            ("devices[3].mounting", "'overhead' is for a zero-U device: remove its position"),
        ),
        (
            "{name: srv3, device_type: test-server-1u, rack: R01, position: 20, mounting: roof}",
            ("devices[3].mounting", "'roof' is not one of: overhead"),
        ),
    ],
)
def test_device_field_errors(tmp_path, device, expected):
    design = make_design(tmp_path, devices=DEVICES + [device])
    expected_all = [("elevations.yaml", 5, *expected)]
    if expected[0].endswith(
        "position"
    ):  # a bad position leaves the device without one: the elevation rule says so too
        expected_all.append(
            (
                "elevations.yaml",
                5,
                "devices[3].position",
                "device 'srv3' needs a 'position' (lowest U occupied, 1U tall)",
            )
        )
    assert sorted(errors(design)) == sorted(expected_all)


def test_coordinates_beyond_10_km_are_refused(tmp_path):
    design = make_design(
        tmp_path, racks=RACKS + ["{name: R04, rack_type: r42, position: [1e12, 0]}"]
    )
    assert errors(design) == [
        ("floorplan.yaml", 16, "racks[3].position", "coordinate 1000000000000.0 mm is beyond 10 km")
    ]


def test_missing_required_field_drops_the_object_and_says_so(tmp_path):
    design = make_design(tmp_path, racks=["{name: R01, position: [1800, 3000]}", *RACKS[1:]])
    assert errors(design) == [
        ("elevations.yaml", 3, "devices[1].rack", "device 'srv1': unknown rack 'R01'"),
        ("floorplan.yaml", 13, "racks[0]", "missing required field 'rack_type'"),
    ]


def test_cable_end_syntax(tmp_path):
    design = make_design(
        tmp_path,
        cables=[
            "{a: srv1-eth0, b: 'sw1:swp1', media: cat6a}",
            "{b: 'sw1:swp2', media: cat6a}",
            "{a: ':eth0', b: 'sw1:swp3', media: cat6a}",
        ],
    )
    assert errors(design) == [
        (
            "connections.yaml",
            2,
            "cables[0].a",
            "expected 'device:port' or {device: ..., port: ...}, got text 'srv1-eth0'",
        ),
        ("connections.yaml", 3, "cables[1].a", "missing cable end: expected 'device:port'"),
        ("connections.yaml", 4, "cables[2].a", "expected 'device:port' with both parts"),
    ]


# ---------------------------------------------------------------- YAML-level problems


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    design = make_design(tmp_path)
    (design / "elevations.yaml").write_text(
        "devices:\n  - {name: srv1, rack: R01\n  - {name: srv2}\n"
    )
    found = [p for p in problems(design) if p[0] == "elevations.yaml" and p[4] == "error"]
    assert [(f, line, path) for f, line, path, _, _ in found] == [("elevations.yaml", 3, "")]
    assert found[0][3].startswith("YAML syntax error: ")


def test_duplicate_keys_are_refused(tmp_path):
    with pytest.raises(DesignError) as exc:
        parse_yaml("a: 1\nb:\n  c: 2\n  c: 3\n", "f.yaml")
    assert [str(p) for p in exc.value.problems] == [
        "f.yaml:4: c: duplicate key 'c' (first at line 3)"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "a: 1\n---\nb: 2\n",
            "f.yaml:2: <root>: expected one YAML document, found a second one (---)",
        ),
        (
            "racks:\n  - {name: !!python/object:os.system x}\n",
            "f.yaml:2: racks[0].name: unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system'",
        ),
        ("a: !!set {x, y}\n", "f.yaml:1: a: unsupported YAML tag 'tag:yaml.org,2002:set'"),
        # found by fuzzing: PyYAML's own constructors raise IndexError / KeyError here
        ("a: !!int\n", "f.yaml:1: a: bad int value ''"),
        ("a: !!bool maybe\n", "f.yaml:1: a: bad bool value 'maybe'"),
        ("a: *nowhere\n", "f.yaml:1: a: unknown or recursive alias '*nowhere'"),
        ("x:\n  ? [a]\n  : 1\n", "f.yaml:2: x: mapping keys must be plain text"),
        ("a:\n  <<: 5\n", "f.yaml:2: a.<<: a merge key (<<) needs a mapping or a list of mappings"),
        (
            "a: b\nc: \x00\n",
            "f.yaml:2: <root>: the control character U+0000 is not allowed in YAML",
        ),
        (
            "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n",
            f"f.yaml:1: a{'[0]' * (MAX_DEPTH - 1)}: YAML nested deeper than {MAX_DEPTH} levels",
        ),
    ],
)
def test_hostile_yaml_is_refused_with_a_clear_message(text, expected):
    with pytest.raises(DesignError) as exc:
        parse_yaml(text, "f.yaml")
    assert [str(p) for p in exc.value.problems] == [expected]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 200_000])
def test_very_deep_nesting_is_one_problem_at_its_line(depth):
    """libyaml's own composer segfaults at ~100,000 levels; whichever layer stops the nesting
    first (PyYAML's parser in newer releases, fieldops' event builder at MAX_DEPTH), the result
    is one problem naming the file and line."""
    with pytest.raises(DesignError) as exc:
        parse_yaml("a:\n  b: " + "[" * depth + "]" * depth, "f.yaml")
    [problem] = exc.value.problems
    assert (problem.file, problem.line, problem.severity) == ("f.yaml", 2, "error")
    assert "nest" in problem.message


def test_alias_bomb_is_refused():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefg", "bcdefgh", strict=True):
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 10)}]")
    with pytest.raises(DesignError) as exc:
        parse_yaml("\n".join(lines) + "\n", "bomb.yaml")
    assert (
        exc.value.problems[0].message
        == f"document expands to more than {MAX_NODES:,} values (alias bomb?)"
    )
    assert exc.value.problems[0].line == 7  # g: 10^7 values


def test_merge_keys_and_anchors_work():
    data = parse_yaml(
        "base: &b {rack_type: r42, face: rear}\ndev:\n  <<: *b\n  face: front\n  name: x\n",
        "f.yaml",
    )
    assert dict(data["dev"]) == {"face": "front", "name": "x", "rack_type": "r42"}
    assert data["dev"].line_of("rack_type") == 1 and data["dev"].line_of("face") == 4


def test_non_utf8_bytes(tmp_path):
    design = make_design(tmp_path)
    (design / "elevations.yaml").write_bytes(
        b"devices:\n  - {name: caf\xe9, device_type: x, rack: R01}\n"
    )
    assert (
        "elevations.yaml",
        2,
        "",
        "not UTF-8 text (byte 0xe9 at offset 23)",
        "error",
    ) in problems(design)


def test_a_50_mb_file_is_refused_before_it_is_read(tmp_path):
    design = make_design(tmp_path)
    with (design / "connections.yaml").open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    assert problems(design) == [
        ("connections.yaml", 0, "", "file is 50.0 MB, over the 20 MB limit", "error")
    ]


def test_empty_and_non_mapping_design_files(tmp_path):
    design = make_design(tmp_path)
    (design / "design.yaml").write_text("")
    assert problems(design) == [
        (
            "design.yaml",
            0,
            "floorplan",
            "missing required field 'floorplan' (a file name or an inline mapping)",
            "error",
        )
    ]
    (design / "design.yaml").write_text("- floorplan.yaml\n")
    assert problems(design) == [
        ("design.yaml", 1, "", "expected a mapping, got a list", "error"),
        (
            "design.yaml",
            1,
            "floorplan",
            "missing required field 'floorplan' (a file name or an inline mapping)",
            "error",
        ),
    ]


# ---------------------------------------------------------------- hostile strings


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ('"R\\n01"', "text contains the control character U+000A; use one line of printable text"),
        (
            '"R\\u202e10"',
            "text contains the control character U+202E; use one line of printable text",
        ),
        (
            '"R\\x1b[31m01"',
            "text contains the control character U+001B; use one line of printable text",
        ),
        ("R" + "0" * 300, "text is 301 characters, over the 64 limit"),
    ],
)
def test_hostile_names_are_refused(tmp_path, name, expected):
    design = make_design(
        tmp_path, racks=[RACKS[0], RACKS[1], RACKS[2].replace("name: R03", f"name: {name}")]
    )
    found = [p for p in problems(design) if p[2] == "racks[2].name"]
    assert found == [("floorplan.yaml", 15, "racks[2].name", expected, "error")]


def test_problem_lines_stay_one_line_whatever_the_input(tmp_path):
    design = make_design(
        tmp_path,
        racks=[RACKS[0], RACKS[1], '{name: R03, rack_type: r42, position: "1\\n2\\u202e"}'],
    )
    report = services.validate_design(design)
    texts = [str(p) for p in report.problems]
    assert (
        "floorplan.yaml:15: racks[2].position: expected a point [x, y] in mm, got text '1\\u000a2\\u202e'"
        in texts
    )
    assert all("\n" not in t and "\u202e" not in t for t in texts)


def test_hostile_cable_end(tmp_path):
    design = make_design(tmp_path, cables=['{a: "srv1:eth0\\r", b: "sw1:swp1", media: cat6a}'])
    assert errors(design) == [
        (
            "connections.yaml",
            2,
            "cables[0].a",
            "text contains the control character U+000D; use one line of printable text",
        )
    ]


# ---------------------------------------------------------------- references, includes


@pytest.mark.parametrize(
    ("key", "line", "path", "message"),
    [
        ("floorplan", 3, "floorplan", "floor plan 'nope.yaml' not found"),
        ("elevations", 6, "elevations", "file 'nope.yaml' not found"),
        ("connections", 7, "connections", "file 'nope.yaml' not found"),
        ("media", 8, "media", "media catalogue 'nope.yaml' not found"),
    ],
)
def test_missing_files_are_reported_where_they_are_named(tmp_path, key, line, path, message):
    design = make_design(
        tmp_path, cables=[] if key != "connections" else None, design_extra={key: "nope.yaml"}
    )
    if key == "elevations":
        (design / "connections.yaml").write_text("cables: []\n")
    found = errors(design)
    assert ("design.yaml", line, path, message) in found
    if key != "media":
        assert found == [("design.yaml", line, path, message)]


def test_missing_device_type_folder(tmp_path):
    design = make_design(
        tmp_path, devices=[], cables=[], design_extra={"device_types": ["types", "nope"]}
    )
    assert errors(design) == [
        ("design.yaml", 6, "device_types[1]", "device types 'nope' not found")
    ]


def test_missing_design_directory(tmp_path):
    report = services.validate_design(tmp_path / "nowhere")
    assert [(p.line, p.path, p.message) for p in report.problems] == [
        (0, "", "no design here: does not exist (expected a directory with a design.yaml)")
    ]
    report = services.validate_design(tmp_path)
    assert (
        report.problems[0].message
        == "no design here: is a directory without a design.yaml (expected a directory with a design.yaml)"
    )


def test_includes_load_and_cycles_are_reported(tmp_path):
    design = make_design(tmp_path)
    (design / "elevations.yaml").write_text(
        "include: [more.yaml]\n" + list_text("devices", DEVICES[:2])
    )
    (design / "more.yaml").write_text(
        "include:\n  - elevations.yaml\n" + list_text("devices", DEVICES[2:])
    )
    report = services.validate_design(design)
    assert report.summary["devices"] == 3
    assert [(p.file, p.line, p.path, p.message) for p in report.problems] == [
        (
            "more.yaml",
            2,
            "include[0]",
            "circular include: elevations.yaml -> more.yaml -> elevations.yaml",
        ),
    ]


def test_self_include_and_missing_include(tmp_path):
    design = make_design(tmp_path)
    (design / "connections.yaml").write_text(
        "include: connections.yaml\n"
        + list_text("cables", ["{a: 'srv1:eth0', b: 'sw1:swp1', media: cat6a}"])
    )
    (design / "elevations.yaml").write_text(
        "include: [gone.yaml]\n" + list_text("devices", DEVICES)
    )
    assert errors(design) == [
        (
            "connections.yaml",
            1,
            "include",
            "circular include: connections.yaml -> connections.yaml",
        ),
        ("elevations.yaml", 1, "include[0]", "file 'gone.yaml' not found"),
    ]


def test_inline_floorplan_and_devices_in_design_yaml(tmp_path):
    design = make_design(tmp_path)
    fp = floorplan_text().replace("\n", "\n  ")
    (design / "design.yaml").write_text(
        f"name: inline\nmedia: media.yaml\ndevice_types: [types]\nfloorplan:\n  {fp}\n"
        "devices:\n  - {name: srv1, device_type: test-server-1u, rack: R01, position: 99}\n"
    )
    assert errors(design) == [
        (
            "design.yaml",
            22,
            "devices[0].position",
            "device 'srv1' (1U) at U99 lies outside rack 'R01' (U1-U42)",
        )
    ]
    loaded = load_design(design)
    assert loaded.design.floorplan.racks[0].source.path == "floorplan.racks[0]"
    assert loaded.design.floorplan.racks[0].source.line == 17


# ---------------------------------------------------------------- compact rows, floor plan values


def test_compact_rows_expand_along_the_width_axis():
    text = (
        "hall: H\noutline: [[0, 0], [9000, 0], [9000, 9000], [0, 9000]]\n"
        "rack_types: [{slug: r, width_mm: 600}]\n"
        "rows:\n"
        "  - {name: A, rack_type: r, count: 3, first: [1800, 3000]}\n"
        "  - {name: B, rack_type: r, count: 2, first: [3000, 6000], rotation_deg: 180, prefix: HB-, digits: 3, start: 7}\n"
        "  - {name: C, rack_type: r, count: 2, first: [8000, 1000], rotation_deg: 90, pitch_mm: 800}\n"
    )
    problems_: list = []
    fp = parse_floorplan(parse_yaml(text, "fp.yaml"), "fp.yaml", problems_)
    assert problems_ == []
    got = [
        (r.name, r.position, r.rotation_deg, r.row, r.source.line, r.source.path) for r in fp.racks
    ]
    assert got == [
        ("A01", (1800, 3000), 0.0, "A", 5, "rows[0]"),
        ("A02", (2400, 3000), 0.0, "A", 5, "rows[0]"),
        ("A03", (3000, 3000), 0.0, "A", 5, "rows[0]"),
        # rotation 180: the front faces +y and the row runs towards -x
        ("HB-007", (3000, 6000), 180.0, "B", 6, "rows[1]"),
        ("HB-008", (2400, 6000), 180.0, "B", 6, "rows[1]"),
        # rotation 90: the front faces +x and the row runs towards +y
        ("C01", (8000, 1000), 90.0, "C", 7, "rows[2]"),
        ("C02", (8000, 1800), 90.0, "C", 7, "rows[2]"),
    ]
    assert fp.racks[5].front_normal() == (1.0, 0.0)
    assert fp.grid.location_id(1800, 3000) == "1A-D06"


def test_floorplan_outline_needs_three_points():
    problems_: list = []
    parse_floorplan(
        parse_yaml("hall: H\noutline: [[0, 0], [10, 0]]\n", "fp.yaml"), "fp.yaml", problems_
    )
    assert [str(p) for p in problems_] == ["fp.yaml:2: outline: needs at least 3 points, got 2"]


# ---------------------------------------------------------------- media catalogue, robot profiles


def test_media_catalogue_errors(tmp_path):
    path = tmp_path / "media.yaml"
    path.write_text(
        "media:\n"
        "  - {slug: a, class: copper, lengths_mm: [1000, x]}\n"
        "  - {slug: b, class: plasma, lengths_mm: [1000]}\n"
        "  - {slug: c, class: fibre, lengths_mm: [1000], sku: '{nope}'}\n"
        "  - {slug: d, class: fibre, lengths_mm: [1000], port_types: qsfp}\n"
        "  - {slug: d, class: fibre, lengths_mm: [1000]}\n"
    )
    found: list = []
    media = load_media(path, found, tmp_path)
    assert [str(p) for p in found] == [
        "media.yaml:2: media[0].lengths_mm: expected a non-empty list of whole millimetres (1..1,000,000)",
        "media.yaml:3: media[1].class: 'plasma' is not one of: copper, fibre, power, fluid",
        "media.yaml:4: media[2].sku: sku must be a format using only {slug}, {length_m} and {length_mm}",
        "media.yaml:5: media[3].port_types: expected a list of NetBox port types",
        "media.yaml:6: media[4].slug: duplicate media 'd'",
    ]
    assert sorted(media) == ["a", "d"]
    assert media["a"].lengths_mm == (1000,)


def test_bundled_robot_profiles_load():
    profiles = {p.stem: load_robot_profile(p) for p in sorted(robot_profiles_dir().glob("*.yaml"))}
    assert {name: (p.kind, p.payload_kg >= 0) for name, p in profiles.items()} == {
        "cabling-robot": ("robot", True),
        "lift-robot": ("robot", True),
        "rigging-crew": ("crew", True),
        "technician": ("technician", True),
    }


def test_robot_profile_errors(tmp_path):
    path = tmp_path / "bot.yaml"
    path.write_text(
        "name: bot\nkind: robot\nactions: [mount_device]\nu_min: 30\nu_max: 10\nspeed_m_s: 0\n"
    )
    with pytest.raises(DesignError) as exc:
        load_robot_profile(path, base=tmp_path)
    assert [str(p) for p in exc.value.problems] == [
        "bot.yaml:1: <root>: missing required field 'manufacturer'",
        "bot.yaml:1: <root>: missing required field 'serial_number'",
        "bot.yaml:4: u_min: u_min 30 is above u_max 10",
        "bot.yaml:6: speed_m_s: 0 is below the minimum 0.01",
    ]


def test_read_yaml_refuses_a_directory_and_a_missing_file(tmp_path):
    with pytest.raises(DesignError, match="is a directory, expected a file"):
        read_yaml(tmp_path, "dir")
    with pytest.raises(DesignError, match="file not found"):
        read_yaml(tmp_path / "x.yaml", "x.yaml")
