"""devicetype-library files, read unchanged: values, units, gaps and fallbacks, overrides."""

from __future__ import annotations

import pytest
import yaml

from fieldops.adapters.devicetypes import (
    BUILTIN,
    builtin_library,
    keep_gaps_for,
    load_device_types,
    parse_device_type,
)
from fieldops.adapters.yamlfile import parse_yaml
from fieldops.core.problems import WARNING
from tests.samples import SERVER_TYPE
from tests.samples_validate import DEVICES, TYPES, device_type, make_design, problems


@pytest.fixture(scope="module")
def builtin():
    found: list = []
    types = load_device_types([builtin_library()], found)
    return types, found


def test_builtin_library_loads_every_file_without_errors(builtin):
    types, found = builtin
    assert sorted(types) == [
        "dell-poweredge-r760",
        "mellanox-sn2201",
        "nvidia-qm9700",
        "nvidia-sn5600",
        "opengear-cm8148",
        "panduit-cpa48hdbl",
        "raritan-px3-5724v",
        "supermicro-as-8125gs-tnmr2",
    ]
    assert [p for p in found if p.severity == "error"] == []


def test_builtin_values_as_the_library_files_state_them(builtin):
    types, _ = builtin
    gpu = types["supermicro-as-8125gs-tnmr2"]
    assert (gpu.u_height, gpu.is_full_depth, gpu.weight_kg, gpu.airflow) == (
        8.0,
        True,
        75.3,
        "front-to-rear",
    )
    assert gpu.max_draw_w == 6 * 3000  # six PSUs at 3,000 W maximum draw each
    assert gpu.source.file == "@builtin/Supermicro/AS-8125GS-TNMR2.yml"
    console = types["opengear-cm8148"]
    assert console.max_draw_w == 2 * 30  # allocated draw wins over maximum (50 W)
    assert len([p for p in console.ports if p.kind == "console-server-port"]) == 48
    pdu = types["raritan-px3-5724v"]
    assert (pdu.u_height, pdu.is_full_depth, pdu.weight_kg) == (0.0, False, None)
    assert len([p for p in pdu.ports if p.kind == "power-outlet"]) == 36
    panel = types["panduit-cpa48hdbl"]
    assert {p.kind for p in panel.ports} == {"front-port", "rear-port"}
    switch = types["mellanox-sn2201"]
    assert (switch.is_full_depth, switch.weight_kg, switch.max_draw_w) == (False, 7.41, None)


def test_gaps_are_noted_for_every_type_but_reported_only_for_used_ones(builtin):
    types, found = builtin
    gaps = sorted((p.file, p.line, p.path, p.message) for p in found if p.severity == "gap")
    assert (
        "@builtin/Dell/PowerEdge-R760.yml",
        2,
        "",
        "dell-poweredge-r760: no power-ports (PSUs are module bays: PSU-1, PSU-2); power draw unknown, no PDU cords planned",
    ) in gaps
    kept = keep_gaps_for(found, {"mellanox-sn2201"}, types)
    assert [(p.file, p.message, p.severity, p.rule) for p in kept] == [
        (
            "@builtin/Nvidia/SN2201.yaml",
            "mellanox-sn2201: no power-ports (PSUs are module bays: PSU1, PSU2); power draw unknown, no PDU cords planned",
            WARNING,
            "devicetype-gap",
        )
    ]
    assert keep_gaps_for(found, set(), types) == []


@pytest.mark.parametrize(
    ("weight", "unit", "kg"),
    [(10, "lb", 4.536), (500, "g", 0.5), (16, "oz", 0.454), (7.41, "kg", 7.41)],
)
def test_weight_units_convert_to_kg(weight, unit, kg):
    found: list = []
    dt = parse_device_type(
        parse_yaml(
            yaml.safe_dump(device_type(SERVER_TYPE, weight=weight, weight_unit=unit)), "t.yaml"
        ),
        "t.yaml",
        found,
    )
    assert dt.weight_kg == kg and found == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"u_height": 1.3}, ("u_height", "1.3 is not a multiple of 0.5 U", "error")),
        ({"u_height": -1}, ("u_height", "-1 is below the minimum 0", "error")),
        (
            {"weight_unit": "stone"},
            ("weight_unit", "'stone' is not one of: kg, g, lb, oz", "error"),
        ),
        ({"airflow": "sideways"}, ("airflow", "unknown airflow 'sideways'", "warning")),
        (
            {"u_heigth": 2},
            ("u_heigth", "test-server-1u: unknown device-type field 'u_heigth' (ignored)", "gap"),
        ),
        (
            {"is_full_depth": "yes please"},
            ("is_full_depth", "expected true or false, got text 'yes please'", "error"),
        ),
    ],
)
def test_device_type_field_problems(changes, expected):
    found: list = []
    parse_device_type(
        parse_yaml(yaml.safe_dump(device_type(SERVER_TYPE, **changes), sort_keys=False), "t.yaml"),
        "t.yaml",
        found,
    )
    assert [(p.path, p.message, p.severity) for p in found] == [expected]


def test_duplicate_port_names_in_one_section():
    dup = device_type(
        SERVER_TYPE,
        interfaces=[{"name": "eth0", "type": "10gbase-t"}, {"name": "eth0", "type": "10gbase-t"}],
    )
    found: list = []
    dt = parse_device_type(
        parse_yaml(yaml.safe_dump(dup, sort_keys=False), "t.yaml"), "t.yaml", found
    )
    assert [str(p) for p in found] == ["t.yaml:12: interfaces[1].name: duplicate interface 'eth0'"]
    assert [p.name for p in dt.ports if p.kind == "interface"] == ["eth0"]


def test_non_mapping_file_and_empty_directory(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "a.yaml").write_text("- just a list\n")
    (tmp_path / "empty").mkdir()
    found: list = []
    assert load_device_types([tmp_path / "lib", tmp_path / "empty"], found, tmp_path) == {}
    assert [str(p) for p in found] == [
        "lib/a.yaml:1: <root>: expected a mapping, got a list",
        "empty: <root>: no device-type YAML files (*.yaml, *.yml) in this directory",
    ]


def test_same_slug_twice_in_one_source_is_an_error_but_a_later_source_overrides(tmp_path):
    for folder, model in (("one", "First"), ("two", "Second")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.yaml").write_text(
            yaml.safe_dump(device_type(SERVER_TYPE, model=model))
        )
    (tmp_path / "one" / "b.yml").write_text(yaml.safe_dump(device_type(SERVER_TYPE, model="Again")))
    found: list = []
    types = load_device_types([tmp_path / "one", tmp_path / "two"], found, tmp_path)
    assert [str(p) for p in found] == [
        "one/b.yml:1: slug: device type 'test-server-1u' is also defined in one/a.yaml"
    ]
    assert types["test-server-1u"].model == "Second"


def test_a_design_can_fix_a_builtin_gap_with_its_own_copy(tmp_path):
    """The R760 lists its PSUs as module bays; a design ships a copy with power ports."""
    lib = yaml.safe_load((builtin_library() / "Dell" / "PowerEdge-R760.yml").read_text())
    devices = DEVICES + ["{name: r760, device_type: dell-poweredge-r760, rack: R01, position: 20}"]
    design = make_design(
        tmp_path / "gap", devices=devices, design_extra={"device_types": [BUILTIN, "types"]}
    )
    assert problems(design) == [
        (
            "@builtin/Dell/PowerEdge-R760.yml",
            2,
            "",
            "dell-poweredge-r760: no power-ports (PSUs are module bays: PSU-1, PSU-2); power draw unknown, no PDU cords planned",
            "warning",
        ),
        (
            "floorplan.yaml",
            13,
            "racks[0]",
            "rack 'R01': power draw unknown for 1 device(s) (r760); budget check uses the known 500 W",
            "warning",
        ),
    ]
    fixed = dict(
        lib, **{"power-ports": [{"name": "PSU1", "type": "iec-60320-c14", "maximum_draw": 1400}]}
    )
    design = make_design(
        tmp_path / "fixed",
        devices=devices,
        device_types=[*TYPES, fixed],
        design_extra={"device_types": [BUILTIN, "types"]},
    )
    assert problems(design) == []


@pytest.mark.parametrize("folder", ["module-types", "_module-types"])
def test_a_library_checkout_with_module_types_reads_the_device_types_and_says_so_once(
    tmp_path, folder
):
    """A devicetype-library checkout holds module types (PSUs, NICs: no ``slug``, no
    ``u_height``) beside device types: they are left out with one info line, not read as
    device types missing a slug."""
    lib = tmp_path / "devicetype-library"
    (lib / "device-types" / "Acme").mkdir(parents=True)
    (lib / "device-types" / "Acme" / "server.yaml").write_text(yaml.safe_dump(SERVER_TYPE))
    for name in ("psu.yaml", "nic.yaml"):
        (lib / folder / "Acme").mkdir(parents=True, exist_ok=True)
        (lib / folder / "Acme" / name).write_text(
            yaml.safe_dump({"manufacturer": "Acme", "model": name[:3].upper(), "part_number": "1"})
        )
    found: list = []
    types = load_device_types([lib], found)
    assert sorted(types) == [SERVER_TYPE["slug"]]
    assert [(p.severity, p.message) for p in found if p.severity != "gap"] == [
        (
            "info",
            "2 module type file(s) in module-types/ not read: fieldops plans devices, not the "
            "modules (PSUs, NICs) in their bays",
        )
    ]
