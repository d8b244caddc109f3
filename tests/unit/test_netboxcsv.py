"""NetBox device and cable CSV exports standing in for elevations and connections."""

from __future__ import annotations

from fieldops import services
from fieldops.adapters.designfile import load_design
from fieldops.adapters.netboxcsv import load_cables, load_devices, pick_media
from tests.samples_validate import make_design

DEVICES_CSV = """\
name,role,manufacturer,device_type,site,rack,position,face,status,asset_tag,serial
sw1,leaf,Generic,Test Switch 1U,LAB,R02,40.0,Rear,active,,
srv1,server,Generic,test-server-1u,LAB,R01,10,front,active,A-1,SN1
srv2,server,Generic,Test Server 1U,LAB,R03,10,,active,,
pdu1,pdu,Generic,test-pdu-0u,LAB,R01,,rear,active,,
"""

CABLES_CSV = """\
side_a_device,side_a_type,side_a_name,side_b_device,side_b_type,side_b_name,type,status,label,length,length_unit
srv1,dcim.interface,eth0,sw1,dcim.interface,swp1,cat6a,connected,C1,,
srv1,dcim.interface,p0,sw1,dcim.interface,up1,dac-passive,connected,C2,,
srv1,dcim.powerport,PSU1,pdu1,dcim.poweroutlet,O1,power,connected,,,
srv2,dcim.interface,eth0,sw1,dcim.interface,swp2,,connected,,,
"""


def _netbox_design(tmp_path, devices_csv=DEVICES_CSV, cables_csv=CABLES_CSV):
    design = make_design(
        tmp_path,
        design_extra={
            "elevations": [],
            "connections": [],
            "netbox": {"devices": "devices.csv", "cables": "cables.csv"},
        },
    )
    (design / "devices.csv").write_text(devices_csv)
    (design / "cables.csv").write_text(cables_csv)
    return design


def test_netbox_exports_stand_in_for_elevations_and_connections(tmp_path):
    design = _netbox_design(tmp_path)
    report = services.validate_design(design)
    assert report.problems == []
    assert report.summary == {"racks": 3, "devices": 4, "cables": 4}
    d = load_design(design).design
    got = [
        (
            x.name,
            x.device_type,
            x.rack,
            x.position,
            x.face,
            x.role,
            x.asset_tag,
            x.source.line,
            x.source.path,
        )
        for x in d.devices
    ]
    assert got == [
        (
            "sw1",
            "test-switch-1u",
            "R02",
            40,
            "rear",
            "leaf",
            "",
            2,
            "devices[0]",
        ),  # model name -> slug
        ("srv1", "test-server-1u", "R01", 10, "front", "server", "A-1", 3, "devices[1]"),
        ("srv2", "test-server-1u", "R03", 10, "front", "server", "", 4, "devices[2]"),
        ("pdu1", "test-pdu-0u", "R01", None, "rear", "pdu", "", 5, "devices[3]"),
    ]
    # media: by NetBox type, choosing the catalogue entry whose port types fit both ends
    assert [(str(c.a), str(c.b), c.media, c.label, c.source.line) for c in d.cables] == [
        ("srv1:eth0", "sw1:swp1", "cat6a", "C1", 2),
        ("srv1:p0", "sw1:up1", "dac-100g", "C2", 3),
        ("srv1:PSU1", "pdu1:O1", "power-c13-c14", "", 4),
        ("srv2:eth0", "sw1:swp2", "cat6a", "", 5),  # no type: the first media that fits both ports
    ]


def test_csv_rows_are_validated_like_yaml(tmp_path):
    design = _netbox_design(
        tmp_path,
        cables_csv=CABLES_CSV.replace(
            "srv1,dcim.interface,eth0,sw1", "srv1,dcim.interface,eth0,sw9"
        ),
    )
    report = services.validate_design(design)
    assert [(p.file, p.line, p.path, p.message) for p in report.problems] == [
        ("cables.csv", 2, "cables[0].b", "cable end sw9:swp1: unknown device 'sw9'")
    ]


def test_bad_device_rows(tmp_path):
    text = (
        "name,device_type,rack,position,face\n"
        "a,test-server-1u,R01,10.5,front\n"
        "b,test-server-1u,R01,ten,front\n"
        "c,test-server-1u,R01,3,side\n"
        ",test-server-1u,R01,4,front\n"
        "\n"
        'e,test-server-1u,R01,"5\x1b",front\n'
        "f,test-server-1u,R01\n"
        "g,test-server-1u,R01,nan,front\n"
        "h,test-server-1u,R01,7,front\n"
    )
    path = tmp_path / "d.csv"
    path.write_text(text)
    found: list = []
    devices = load_devices(path, found, tmp_path)
    assert sorted(str(p) for p in found) == [
        "d.csv:2: devices[0].position: '10.5' is not a whole U number",
        "d.csv:3: devices[1].position: 'ten' is not a whole U number",
        "d.csv:4: devices[2].face: 'side' is not front or rear",
        "d.csv:5: devices[3]: name, device_type and rack are required",
        "d.csv:7: devices[4].position: text contains the control character U+001B",
        "d.csv:8: devices[5]: 3 fields, the header has 5",
        "d.csv:9: devices[6].position: 'nan' is not a whole U number",
    ]
    assert [d.name for d in devices] == ["h"]


def test_missing_columns_empty_file_and_binary(tmp_path):
    found: list = []
    (tmp_path / "a.csv").write_text("name,rack\nx,R01\n")
    (tmp_path / "b.csv").write_text("")
    (tmp_path / "c.csv").write_bytes(b"side_a_device,side_a_name\n\x00\x01\n")
    assert load_devices(tmp_path / "a.csv", found, tmp_path) == []
    assert load_devices(tmp_path / "b.csv", found, tmp_path) == []
    assert load_cables(tmp_path / "c.csv", found, tmp_path, {}) == []
    assert [str(p) for p in found] == [
        # the UI export's name of the column too, since that is the file people have
        "a.csv:1: <root>: missing NetBox column(s): device_type (in NetBox's UI export: Type)",
        "b.csv:1: <root>: empty file: expected a header row with the NetBox columns name, device_type, rack",
        "c.csv:2: <root>: binary data (NUL bytes) in a CSV file",
    ]


def test_header_case_and_spaces_are_forgiven(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("Name,Device Type,Rack,Position,Face\nsrv1,test-server-1u,R01,10,REAR\n")
    found: list = []
    assert [
        (d.name, d.device_type, d.position, d.face) for d in load_devices(path, found, tmp_path)
    ] == [("srv1", "test-server-1u", 10, "rear")]
    assert found == []


def test_unknown_cable_type_is_reported(tmp_path):
    design = _netbox_design(
        tmp_path, cables_csv=CABLES_CSV.replace(",cat6a,connected", ",cat8,connected")
    )
    report = services.validate_design(design)
    assert [str(p) for p in report.problems] == [
        "cables.csv:2: cables[0].type: no media in the catalogue for cable type 'cat8'"
    ]


def test_pick_media_prefers_a_fit(tmp_path):
    from fieldops.adapters.designfile import load_media

    found: list = []
    media = load_media(make_design(tmp_path) / "media.yaml", found, tmp_path)
    assert pick_media("dac-passive", "100gbase-x-qsfp28", "100gbase-x-qsfp28", media) == "dac-100g"
    assert (
        pick_media("cat6a", "100gbase-x-qsfp28", "", media) == "cat6a"
    )  # nothing fits: the first of that type
    assert (
        pick_media("", "iec-60320-c14", "iec-60320-c13", media) == "power-c13-c14"
    )  # listed types beat any-port media
    assert (
        pick_media("", ("power-port", ""), ("power-outlet", ""), media) == "power-c13-c14"
    )  # power for power ports
    assert (
        pick_media("", ("interface", ""), ("interface", ""), media) == "cat6a"
    )  # types unknown: the first data media
    assert pick_media("", "", "", media) == "cat6a"
    assert pick_media("cat9", "", "", media) == ""


def test_missing_csv_is_reported_in_design_yaml(tmp_path):
    design = make_design(
        tmp_path, design_extra={"connections": [], "netbox": {"cables": "nope.csv"}}
    )
    report = services.validate_design(design)
    assert [(p.file, p.line, p.path, p.message) for p in report.problems] == [
        ("design.yaml", 10, "netbox.cables", "NetBox cables CSV 'nope.csv' not found")
    ]


def test_ui_export_headers_labels_and_delimiters(tmp_path):
    """NetBox's own UI export (Name/Type/Rack face/Serial number, choice labels, ';')."""
    path = tmp_path / "d.csv"
    path.write_text(
        "ID;Name;Status;Role;Manufacturer;Type;Serial number;Asset tag;Site;Rack;Position;Rack face\n"
        "7;sw1;Active;Compute Leaf;Generic;Test Switch 1U;SN9;;LAB;R02 (1A-D06);40;Rear\n"
        "8;pdu1;Planned;PDU;Generic;test-pdu-0u;;;LAB;R01;\u2014;Rear\n"
        "9;old;Decommissioning;Server;Generic;Test Server 1U;;;LAB;R03;10;Front\n"
    )
    found: list = []
    types = load_design(make_design(tmp_path / "d")).design.device_types
    got = [
        (d.name, d.device_type, d.rack, d.position, d.face, d.role, d.serial)
        for d in load_devices(path, found, tmp_path, types, racks={"R01", "R02", "R03"})
    ]
    assert found == []
    assert got == [
        ("sw1", "test-switch-1u", "R02", 40, "rear", "compute-leaf", "SN9"),
        ("pdu1", "test-pdu-0u", "R01", None, "rear", "pdu", ""),  # the em dash is "no value"
    ]  # 'old' is being decommissioned in NetBox: not part of the design


def test_ui_cable_export_reads_device_and_termination_columns(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        "ID,Label,Termination A,Termination B,Device A,Device B,Status,Type,Color,Length\n"
        "1,C1,eth0,swp1,srv1,sw1,Connected,CAT6a,#2196f3,3 m\n"
        "2,,p0 (uplink),up1,srv1,sw1,Planned,Direct Attach Copper (Passive),,1 m\n"
    )
    found: list = []
    ports = {
        ("srv1", "eth0"): ("interface", "10gbase-t"),
        ("srv1", "p0"): ("interface", "100gbase-x-qsfp28"),
        ("sw1", "swp1"): ("interface", "10gbase-t"),
        ("sw1", "up1"): ("interface", "100gbase-x-qsfp28"),
    }
    media = load_design(make_design(tmp_path / "d")).design.media
    got = [
        (str(c.a), str(c.b), c.media, c.label)
        for c in load_cables(path, found, tmp_path, media, ports)
    ]
    assert found == []
    assert got == [
        ("srv1:eth0", "sw1:swp1", "cat6a", "C1"),
        ("srv1:p0", "sw1:up1", "dac-100g", ""),  # a port shown with its label, 'p0 (uplink)'
    ]


def test_netbox_field_helpers():
    from fieldops.adapters.netbox_fields import (
        CABLE_HEADERS,
        CABLE_TYPES,
        DEVICE_HEADERS,
        choice_value,
        header_key,
        parse_length,
        split_suffix,
    )

    assert header_key("Rack face", DEVICE_HEADERS) == "face"
    assert header_key("  Device_Type ", DEVICE_HEADERS) == "device_type"
    assert header_key("Termination B", CABLE_HEADERS) == "side_b_name"
    assert header_key("Side A Device", CABLE_HEADERS) == "side_a_device"
    assert choice_value("direct attach copper (passive)", CABLE_TYPES) == "dac-passive"
    assert choice_value("smf-os2", CABLE_TYPES) == "smf-os2"
    assert choice_value("fibre", CABLE_TYPES) is None
    assert parse_length("2.50 m") == (2.5, "m")
    assert parse_length("12", "ft") == (12.0, "ft")
    assert parse_length("3 parsecs") is None and parse_length("-1 m") is None
    assert split_suffix("A01 (1A-AJ05)") == ("A01", "1A-AJ05")
    assert split_suffix("A01") == ("A01", "")
