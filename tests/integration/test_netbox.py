"""NetBox round trip: export -> import -> plan on both sample halls; NetBox's own CSV exports;
pynetbox import against recorded NetBox 4.x API responses (tests/data/netbox_api/) served by a
local http.server; push against the fake NetBox of tests/fake_netbox.py."""

from __future__ import annotations

import csv
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from fieldops.adapters.designfile import load_design
from fieldops.adapters.netbox_export import CABLE_COLUMNS, DEVICE_COLUMNS, FILES
from fieldops.cli import main
from fieldops.core.labels import assign_ids, cable_identity
from tests.samples import write_design

DATA = Path(__file__).resolve().parents[1] / "data" / "netbox_api"
CSV_DATA = Path(__file__).resolve().parents[1] / "data" / "netbox_csv"
RECORDED_HOST = "http://netbox.example.com"
TOKEN = "0123456789abcdef0123456789abcdef01234567"


def cid(a: str, b: str) -> str:
    ids, _ = assign_ids([(cable_identity(a, b), "")])
    return ids[cable_identity(a, b)]


def shape(design):
    devices = sorted(
        (d.name, d.device_type, d.rack, d.position, d.face, d.asset_tag, d.serial)
        for d in design.devices
    )
    cables = sorted((c.key, c.media) for c in design.cables)
    return devices, cables


@pytest.fixture
def hall(tmp_path):
    devices = [
        {
            "name": "sw1",
            "device_type": "test-switch-1u",
            "rack": "R02",
            "position": 40,
            "face": "rear",
            "role": "leaf",
        },
        {
            "name": "srv1",
            "device_type": "test-server-1u",
            "rack": "R01",
            "position": 10,
            "asset_tag": "LAB-0001",
            "serial": "SRV1SN",
            "role": "server",
        },
        {
            "name": "srv2",
            "device_type": "test-server-1u",
            "rack": "R03",
            "position": 10,
            "asset_tag": "LAB-0002",
            "role": "server",
        },
    ]
    cables = [
        {"a": "srv1:eth0", "b": "sw1:swp1", "media": "cat6a"},
        {"a": "srv2:eth0", "b": "sw1:swp2", "media": "cat6a"},
        {"a": "sw1:up1", "b": "srv1:p0", "media": "dac-100g-qsfp28"},
    ]
    return write_design(tmp_path / "hall", devices=devices, cables=cables)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def import_csv(capsys, devices, cables, design, types, out):
    """``fieldops netbox import`` of NetBox CSV files onto ``design``'s floor plan."""
    return run(
        capsys,
        "netbox",
        "import",
        "--devices-csv",
        devices,
        "--cables-csv",
        cables,
        "--floorplan",
        design / "floorplan.yaml",
        "--device-types",
        types,
        "-o",
        out,
    )


def test_export_writes_netbox_import_columns(hall, tmp_path, capsys):
    code, out, err = run(
        capsys, "netbox", "export", hall, "-o", tmp_path / "nb", "--site", "Tiny Hall"
    )
    assert code == 0, err
    devices = list(csv.DictReader(io.StringIO((tmp_path / "nb" / "08-devices.csv").read_text())))
    cables = list(csv.DictReader(io.StringIO((tmp_path / "nb" / "09-cables.csv").read_text())))
    assert list(devices[0]) == list(DEVICE_COLUMNS) and list(cables[0]) == list(CABLE_COLUMNS)
    srv1 = next(d for d in devices if d["name"] == "srv1")
    assert srv1 == {
        "name": "srv1",
        "role": "server",
        "manufacturer": "Generic",
        "device_type": "Test Server 1U",  # NetBox's import form matches the model name
        "status": "planned",
        "site": "Tiny Hall",
        "location": "TINY",
        "rack": "R01",
        "position": "10",
        "face": "front",
        "asset_tag": "LAB-0001",
        "serial": "SRV1SN",
    }
    by_label = {c["label"]: c for c in cables}
    eth = by_label[cid("srv1:eth0", "sw1:swp1")]
    assert (eth["side_a_device"], eth["side_a_type"], eth["side_a_name"]) == (
        "srv1",
        "dcim.interface",
        "eth0",
    )
    assert (eth["type"], eth["status"], eth["description"]) == ("cat6a", "planned", "cat6a")
    # no plan given: nothing routed, lengths empty, and the user is told
    assert (eth["length"], eth["length_unit"]) == ("", "")
    assert "no --plan given: cable lengths are left empty" in err
    # the designer's a end is NetBox's side A, even where it sorts last
    up = by_label[cid("sw1:up1", "srv1:p0")]
    assert (up["side_a_device"], up["side_a_name"], up["side_b_device"]) == ("sw1", "up1", "srv1")


def test_power_cords_terminate_on_power_ports_and_outlets():
    from fieldops.adapters.netbox_export import build_cable_rows
    from fieldops.core.labels import assign_cable_ids
    from tests.samples import LAB_HALL

    design = load_design(LAB_HALL).design
    rows = build_cable_rows(design, assign_cable_ids(design.cables)[0], site="LAB1")
    cord = next(
        r
        for r in rows
        if "srv-01" in (r["side_a_device"], r["side_b_device"])
        and "PSU1" in (r["side_a_name"], r["side_b_name"])
    )
    types = {r: cord[f"side_{r}_type"] for r in "ab"}
    assert (
        sorted(types.values()) == ["dcim.poweroutlet", "dcim.powerport"] and cord["type"] == "power"
    )


def test_export_then_import_round_trip(hall, tmp_path, capsys):
    assert run(capsys, "netbox", "export", hall, "-o", tmp_path / "nb")[0] == 0
    code, _, err = run(
        capsys,
        "netbox",
        "import",
        "--devices-csv",
        tmp_path / "nb" / "08-devices.csv",
        "--cables-csv",
        tmp_path / "nb" / "09-cables.csv",
        "--floorplan",
        hall / "floorplan.yaml",
        "--device-types",
        hall / "types",
        "--name",
        "tiny",
        "-o",
        tmp_path / "back",
    )
    assert code == 0, err
    original, back = load_design(hall).design, load_design(tmp_path / "back").design
    assert shape(back) == shape(original)
    # cable IDs survive: the NetBox label is the ID
    assert sorted(c.label for c in back.cables) == sorted(cid(*c.key) for c in original.cables)
    assert run(capsys, "validate", tmp_path / "back")[0] == 0


def test_import_rejects_unknown_types_and_racks_writing_nothing(hall, tmp_path, capsys):
    run(capsys, "netbox", "export", hall, "-o", tmp_path / "nb")
    text = (
        (tmp_path / "nb" / "08-devices.csv")
        .read_text()
        .replace("Test Switch 1U", "Mystery Switch")
        .replace(",R03,", ",R99,")
    )
    (tmp_path / "nb" / "08-devices.csv").write_text(text)
    out = tmp_path / "never"
    code, _, err = import_csv(
        capsys,
        tmp_path / "nb" / "08-devices.csv",
        tmp_path / "nb" / "09-cables.csv",
        hall,
        hall / "types",
        out,
    )
    assert code == 2
    assert "device type 'Mystery Switch' is not in the device-type library" in err
    assert "rack 'R99' is not on the floor plan" in err
    assert not out.exists() or not any(out.iterdir())


# ---------------------------------------------------------------- pynetbox against recorded responses


class RecordedNetBox(BaseHTTPRequestHandler):
    requests: list = []

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        url = urlparse(self.path)
        q = parse_qs(url.query)
        type(self).requests.append(
            (url.path, {k: v[0] for k, v in q.items()}, self.headers.get("Authorization"))
        )
        if self.headers.get("Authorization") not in (f"Token {TOKEN}", f"Bearer {TOKEN}"):
            return self.reply(403, {"detail": "Invalid v1 token"})
        files = {
            "/api/dcim/racks/": "dcim_racks.json",
            "/api/dcim/cables/": "dcim_cables.json",
            "/api/dcim/devices/": "dcim_devices_page2.json"
            if q.get("offset") == ["2"]
            else "dcim_devices_page1.json",
        }
        if url.path == "/api/status/":
            return self.reply(
                200, {"netbox-version": "4.1.7", "python-version": "3.12.3", "plugins": {}}
            )
        if url.path not in files:
            return self.reply(404, {"detail": "Not found."})
        if q.get("site") != ["tiny"]:
            return self.reply(200, {"count": 0, "next": None, "previous": None, "results": []})
        body = (
            (DATA / files[url.path])
            .read_text()
            .replace(RECORDED_HOST, f"http://127.0.0.1:{self.server.server_port}")
        )
        self.reply(200, json.loads(body))

    def reply(self, status: int, doc: dict):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("API-Version", "4.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def netbox_server():
    RecordedNetBox.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), RecordedNetBox)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_pynetbox_import_from_recorded_api(hall, tmp_path, capsys, netbox_server):
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    code, out, err = run(
        capsys,
        "netbox",
        "import",
        "--url",
        netbox_server,
        "--token-file",
        token,
        "--site",
        "tiny",
        "--floorplan",
        hall / "floorplan.yaml",
        "--device-types",
        hall / "types",
        "-o",
        tmp_path / "from-api",
    )
    assert code == 0, err
    assert "imported 3 devices and 2 cables" in out
    design = load_design(tmp_path / "from-api").design
    devices = {
        d.name: (d.device_type, d.rack, d.position, d.face, d.role, d.asset_tag, d.serial)
        for d in design.devices
    }
    assert devices == {
        "sw1": ("test-switch-1u", "R02", 40, "rear", "leaf", "", "MT2231X00001"),
        "srv1": ("test-server-1u", "R01", 10, "front", "server", "LAB-0001", "SRV1SN"),
        "srv2": (
            "test-server-1u",
            "R03",
            10,
            "front",
            "server",
            "LAB-0002",
            "",
        ),  # from the second page
    }
    # NetBox holds the labels as printed (7-character IDs from before IDs grew to 10): an
    # import keeps them, so the cables keep the IDs on their labels.
    assert sorted((c.key, c.media, c.label) for c in design.cables) == [
        (("srv1:eth0", "sw1:swp1"), "cat6a", "C-5O45IME"),
        (("srv2:eth0", "sw1:swp2"), "cat6a", "C-M2EENUC"),
    ]
    paths = [
        (p, q.get("site"), q.get("offset"))
        for p, q, _ in RecordedNetBox.requests
        if p.startswith("/api/dcim/")
    ]
    assert ("/api/dcim/devices/", "tiny", "2") in paths  # followed NetBox's pagination
    assert all(
        auth in (f"Token {TOKEN}", f"Bearer {TOKEN}") for _, _, auth in RecordedNetBox.requests
    )


def test_pynetbox_bad_token_is_a_clear_error(hall, tmp_path, capsys, netbox_server):
    token = tmp_path / "token"
    token.write_text("wrong-token\n")
    out = tmp_path / "never"
    code, _, err = run(
        capsys,
        "netbox",
        "import",
        "--url",
        netbox_server,
        "--token-file",
        token,
        "--site",
        "tiny",
        "--floorplan",
        hall / "floorplan.yaml",
        "-o",
        out,
    )
    assert code == 2 and "NetBox answered HTTP 403 (check the token)" in err
    assert not out.exists() or not any(out.iterdir())


def test_unreachable_netbox(hall, tmp_path, capsys):
    token = tmp_path / "token"
    token.write_text(TOKEN)
    code, _, err = run(
        capsys,
        "netbox",
        "import",
        "--url",
        "http://127.0.0.1:9",
        "--token-file",
        token,
        "--site",
        "tiny",
        "--floorplan",
        hall / "floorplan.yaml",
        "-o",
        tmp_path / "x",
    )
    assert code == 2 and "cannot reach NetBox" in err


# ---------------------------------------------------------------- the import set, the round trip


def plan_view(design_dir) -> dict:
    """What a person sees of a plan: every label (text, QR, face), device place, work order, step."""
    from fieldops import services
    from fieldops.core.workorder import step_to_dict

    plan = services.build_plan(load_design(design_dir))
    return {
        "labels": sorted(
            (r.id, r.a.device, r.a.port, r.a.label, r.b.label, r.qr_payload, r.a.face, r.b.face)
            for r in plan.cable_plan.runs
        ),
        "lengths": sorted((r.id, r.ordered_mm) for r in plan.cable_plan.runs),
        "devices": sorted(
            (d.name, d.rack, d.position, d.face, d.role, d.asset_tag)
            for d in plan.loaded.design.devices
        ),
        "workorders": [(w.id, w.assignee, w.steps) for w in plan.work.workorders],
        "steps": [step_to_dict(s) for s in plan.work.steps],
    }


def differences(a: dict, b: dict) -> dict:
    return {
        k: sum(1 for x, y in zip(a[k], b[k], strict=False) if x != y) + abs(len(a[k]) - len(b[k]))
        for k in a
    }


@pytest.mark.slow
@pytest.mark.parametrize("sample", ["lab-hall", "gpu-hall"])
def test_export_import_plan_round_trip_changes_nothing_a_person_sees(sample, tmp_path, capsys):
    from tests.samples import REPO

    src = REPO / "floorplans" / sample
    plan_dir, nb, back = tmp_path / "plan", tmp_path / "nb", tmp_path / "back"
    assert run(capsys, "plan", src, "-o", plan_dir)[0] == 0
    code, out, err = run(capsys, "netbox", "export", src, "-o", nb, "--plan", plan_dir)
    assert code == 0, err
    written = sorted(p.name for p in nb.iterdir() if p.is_file() and not p.name.startswith("."))
    assert written == sorted([*FILES, "README.md"])
    readme = (nb / "README.md").read_text()
    assert [
        line.split("`")[1] for line in readme.splitlines() if line.startswith("| ") and "`" in line
    ] == list(FILES)
    devices = {
        r["name"]: r for r in csv.DictReader(io.StringIO((nb / "08-devices.csv").read_text()))
    }
    pdus = [r for r in devices.values() if not r["position"]]
    assert pdus and {r["face"] for r in pdus} == {"rear"}  # zero-U PDUs keep their side
    cables = list(csv.DictReader(io.StringIO((nb / "09-cables.csv").read_text())))
    cut = {
        r["cable_id"]: r
        for r in csv.DictReader(io.StringIO((plan_dir / "cutsheet.csv").read_text()))
    }
    assert all(
        (r["side_a_device"], r["side_a_name"])
        == (cut[r["label"]]["a_device"], cut[r["label"]]["a_port"])
        for r in cables
    )  # side A is the plan's (the designer's) A end, on every cable
    assert all(float(r["length"]) * 1000 == int(cut[r["label"]]["ordered_mm"]) for r in cables)
    code, _, err = import_csv(
        capsys, nb / "08-devices.csv", nb / "09-cables.csv", src, nb / "device-types", back
    )
    assert code == 0, err
    before, after = plan_view(src), plan_view(back)
    assert differences(before, after) == {k: 0 for k in before}
    assert len(before["workorders"]) > 10 and len(before["labels"]) > 150


def test_export_lengths_come_from_the_plan_folder_and_a_stale_plan_is_refused(
    hall, tmp_path, capsys
):
    plan_dir = tmp_path / "plan"
    assert run(capsys, "plan", hall, "-o", plan_dir)[0] == 0
    cut = {
        r["cable_id"]: r
        for r in csv.DictReader(io.StringIO((plan_dir / "cutsheet.csv").read_text()))
    }
    code, _, err = run(capsys, "netbox", "export", hall, "-o", tmp_path / "nb", "--plan", plan_dir)
    assert code == 0 and "note" not in err
    rows = {
        r["label"]: r
        for r in csv.DictReader(io.StringIO((tmp_path / "nb" / "09-cables.csv").read_text()))
    }
    assert {k: (float(r["length"]), r["length_unit"]) for k, r in rows.items()} == {
        k: (int(c["ordered_mm"]) / 1000, "m") for k, c in cut.items()
    }
    # only workorders.json: lengths from the SKUs of the cable parts
    (plan_dir / "cutsheet.csv").rename(tmp_path / "cutsheet.csv")
    code, _, err = run(capsys, "netbox", "export", hall, "-o", tmp_path / "nb2", "--plan", plan_dir)
    rows2 = {
        r["label"]: r["length"]
        for r in csv.DictReader(io.StringIO((tmp_path / "nb2" / "09-cables.csv").read_text()))
    }
    assert code == 0 and rows2 == {k: r["length"] for k, r in rows.items()}
    # a cut sheet whose cable runs between other ports: another design's plan
    text = (tmp_path / "cutsheet.csv").read_text().replace("swp1,", "swp9,")
    (plan_dir / "cutsheet.csv").write_text(text)
    code, _, err = run(capsys, "netbox", "export", hall, "-o", tmp_path / "nb3", "--plan", plan_dir)
    assert code == 2 and "the plan is of another design or revision" in err
    assert not (tmp_path / "nb3").exists() or not any((tmp_path / "nb3").iterdir())


# ---------------------------------------------------------------- NetBox's own CSV exports


def _variants(tmp_path, name: str) -> list:
    """The fixture as NetBox writes it with each of its CSV delimiters."""
    text = (CSV_DATA / name).read_text()
    out = []
    for label, delim in (("comma", ","), ("semicolon", ";"), ("tab", "\t"), ("pipe", "|")):
        rows = list(csv.reader(io.StringIO(text)))
        buf = io.StringIO()
        csv.writer(buf, delimiter=delim, lineterminator="\n").writerows(rows)
        path = tmp_path / f"{label}-{name}"
        path.write_text(buf.getvalue())
        out.append(path)
    return out


@pytest.mark.parametrize("style", ["ui", "bulk"])
def test_netbox_own_exports_load_through_the_import_command(style, hall, tmp_path, capsys):
    for devices, cables in zip(
        _variants(tmp_path, f"{style}-devices.csv"),
        _variants(tmp_path, f"{style}-cables.csv"),
        strict=True,
    ):
        out = tmp_path / f"from-{devices.stem}"
        code, _, err = import_csv(capsys, devices, cables, hall, hall / "types", out)
        assert code == 0, err
        d = load_design(out).design
        assert sorted(
            (x.name, x.device_type, x.rack, x.position, x.face, x.role, x.asset_tag)
            for x in d.devices
        ) == [
            ("srv1", "test-server-1u", "R01", 10, "front", "server", "LAB-0001"),
            ("srv2", "test-server-1u", "R03", 10, "front", "server", "LAB-0002"),
            ("sw1", "test-switch-1u", "R02", 40, "rear", "leaf", ""),  # 'R02 (1A-D06)' read as R02
        ]
        # NetBox's side A stays a; the decommissioning cable is not part of the design
        assert sorted((str(c.a), str(c.b), c.media, c.label) for c in d.cables) == [
            ("srv1:eth0", "sw1:swp1", "cat6a", "C-8S5TPK2X4W"),
            ("srv2:eth0", "sw1:swp2", "cat6a", ""),
            ("sw1:up1", "srv1:p0", "dac-100g-qsfp28", ""),
        ]


@pytest.mark.parametrize("style", ["ui", "bulk"])
def test_netbox_own_exports_stand_in_for_elevations_and_connections(style, hall, tmp_path):
    import shutil

    import yaml

    from fieldops import services

    shutil.copy(CSV_DATA / f"{style}-devices.csv", hall / "nb-devices.csv")
    shutil.copy(CSV_DATA / f"{style}-cables.csv", hall / "nb-cables.csv")
    doc = yaml.safe_load((hall / "design.yaml").read_text())
    doc.pop("elevations"), doc.pop("connections")
    doc["netbox"] = {"devices": "nb-devices.csv", "cables": "nb-cables.csv"}
    (hall / "design.yaml").write_text(yaml.safe_dump(doc))
    report = services.validate_design(hall)
    assert report.ok, [str(p) for p in report.problems]
    d = load_design(hall).design
    assert {x.name: (x.rack, x.face, x.role) for x in d.devices} == {
        "sw1": ("R02", "rear", "leaf"),
        "srv1": ("R01", "front", "server"),
        "srv2": ("R03", "front", "server"),
    }
    assert sorted((str(c.a), str(c.b)) for c in d.cables) == [
        ("srv1:eth0", "sw1:swp1"),
        ("srv2:eth0", "sw1:swp2"),
        ("sw1:up1", "srv1:p0"),
    ]


def test_a_cable_with_two_terminations_on_a_side_is_named(hall, tmp_path, capsys):
    text = (CSV_DATA / "ui-cables.csv").read_text().replace(",eth0,swp2,", ',"eth0,p0",swp2,')
    (tmp_path / "c.csv").write_text(text)
    code, _, err = import_csv(
        capsys,
        CSV_DATA / "ui-devices.csv",
        tmp_path / "c.csv",
        hall,
        hall / "types",
        tmp_path / "never",
    )
    assert code == 2
    assert "c.csv:3: cables[1].a_terminations: 2 terminations on side A" in err


# ---------------------------------------------------------------- push (fake NetBox, real pynetbox)


@pytest.fixture
def fake_netbox():
    from tests.fake_netbox import Server

    server = Server()
    yield server
    server.stop()


@pytest.fixture
def token_file(tmp_path):
    from tests.fake_netbox import TOKEN

    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return path


def push(capsys, design, server, token, *extra):
    return run(capsys, "netbox", "push", design, "--url", server.url, "--token-file", token, *extra)


def writes(server) -> list[tuple[str, str, int]]:
    return [(m, p.split("?")[0], n) for m, p, n in server.netbox.requests if m != "GET"]


def lab_r2_new_cables() -> list[dict]:
    return [
        {"a": "srv-31:eno1", "b": "leaf-a:swp31", "media": "cat6a"},
        {"a": "srv-31:eno2", "b": "leaf-b:swp31", "media": "cat6a"},
        {"a": "srv-31:bmc", "b": "oob-01:swp31", "media": "cat6a"},
        {"a": "srv-31:PSU1", "b": "pdu-b06-a:Outlet3", "media": "power-c13-c14"},
        {"a": "srv-31:PSU2", "b": "pdu-b06-b:Outlet3", "media": "power-c13-c14"},
    ]


def lab_r2(tmp_path):
    """Revision r2 of the lab hall: srv-30 moves up, srv-31 arrives with five cables, one cable
    goes, the leaf ISL changes media, srv-05 gets its serial."""
    import shutil

    import yaml

    from tests.samples import LAB_HALL

    r2 = tmp_path / "lab-r2"
    shutil.copytree(LAB_HALL, r2)
    elev = yaml.safe_load((r2 / "elevations.yaml").read_text())
    for d in elev["devices"]:
        if d["name"] == "srv-30":
            d["position"] = 20
        if d["name"] == "srv-05":
            d["serial"] = "SN-0005"
    elev["devices"].append(
        {
            "name": "srv-31",
            "device_type": "generic-lab-server-1u",
            "rack": "B06",
            "position": 10,
            "face": "front",
            "role": "server",
            "asset_tag": "LAB-0031",
        }
    )
    conn = yaml.safe_load((r2 / "connections.yaml").read_text())
    cables = [c for c in conn["cables"] if (c["a"], c["b"]) != ("srv-29:eno2", "leaf-b:swp29")]
    for c in cables:
        if (c["a"], c["b"]) == ("leaf-a:swp50", "leaf-b:swp50"):
            c["media"] = "aoc-100g-qsfp28"
    conn["cables"] = cables + lab_r2_new_cables()
    (r2 / "elevations.yaml").write_text(yaml.safe_dump(elev, sort_keys=False))
    (r2 / "connections.yaml").write_text(yaml.safe_dump(conn, sort_keys=False))
    doc = yaml.safe_load((r2 / "design.yaml").read_text())
    doc["revision"] = "r2"
    (r2 / "design.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return r2


@pytest.mark.slow
def test_push_creates_in_bulk_then_updates_r2_instead_of_duplicating(
    tmp_path, capsys, fake_netbox, token_file
):
    from tests.samples import LAB_HALL

    plan = tmp_path / "plan"
    assert run(capsys, "plan", LAB_HALL, "-o", plan)[0] == 0
    # dry run against an empty NetBox: the diff, nothing written
    code, out, err = push(capsys, LAB_HALL, fake_netbox, token_file, "--plan", plan, "--dry-run")
    assert code == 0, err
    assert "create device srv-01 (A01 U10 front, generic-lab-server-1u)" in out
    assert "create device pdu-a01-a (A01 zero-U rear, raritan-px3-5724v)" in out
    assert writes(fake_netbox) == []
    assert out.splitlines()[-1].endswith(
        "to create, 0 to update, 0 to decommission, 0 blocked, 0 unchanged (dry run: nothing written)"
    )
    # the real push: bulk requests (one POST per object kind for a hall this size)
    code, out, err = push(capsys, LAB_HALL, fake_netbox, token_file, "--plan", plan)
    assert code == 0, err
    posts = [(p, n) for m, p, n in writes(fake_netbox) if m == "POST"]
    assert ("/api/dcim/devices/", 58) in posts and ("/api/dcim/cables/", 157) in posts
    assert len(posts) == len({p for p, _ in posts})
    nb = fake_netbox.netbox
    pdu = next(d for d in nb.table("devices").values() if d["name"] == "pdu-a01-a")
    assert (pdu["position"], pdu["face"]) == (None, "rear")
    srv1 = next(d for d in nb.table("devices").values() if d["name"] == "srv-01")
    cord = next(
        c
        for c in nb.table("cables").values()
        if nb.table("power-ports")[c["a_terminations"][0]["object_id"]]["device"] == srv1["id"]
        and nb.table("power-ports")[c["a_terminations"][0]["object_id"]]["name"] == "PSU1"
        if c["a_terminations"][0]["object_type"] == "dcim.powerport"
    )  # side A of srv-01's PSU1 cord is srv-01, as designed (not the PDU outlet)
    assert cord["status"] == "planned" and cord["length_unit"] == "m" and cord["length"] > 0
    # the same design again: nothing to do
    before = len(writes(fake_netbox))
    code, out, err = push(capsys, LAB_HALL, fake_netbox, token_file, "--plan", plan)
    assert code == 0 and len(writes(fake_netbox)) == before
    assert out.splitlines()[-1].endswith(
        "0 created, 0 updated, 0 decommissioned, 0 blocked, 227 unchanged"
    )
    # revision r2 pushes as updates, not duplicates (asset tags are unique in NetBox)
    r2 = lab_r2(tmp_path)
    plan2 = tmp_path / "plan2"
    assert run(capsys, "plan", r2, "-o", plan2)[0] == 0
    code, out, err = push(capsys, r2, fake_netbox, token_file, "--plan", plan2, "--dry-run")
    assert code == 0 and len(writes(fake_netbox)) == before
    isl, gone = cid("leaf-a:swp50", "leaf-b:swp50"), cid("srv-29:eno2", "leaf-b:swp29")
    lines = out.splitlines()[:-1]
    assert sorted(line for line in lines if " device " in line) == [
        "create device srv-31 (B06 U10 front, generic-lab-server-1u)",
        "update device srv-05: serial - -> SN-0005",
        "update device srv-30: position 14 -> 20",
    ]
    assert [line for line in lines if line.startswith("decommission")] == [
        f"decommission cable {gone} (srv-29:eno2 -- leaf-b:swp29, not in the design)"
    ]
    new_cables = {cid(c["a"], c["b"]) for c in lab_r2_new_cables()}
    assert {line.split()[2] for line in lines if line.startswith("create cable")} == new_cables

    # updated cables: the ISL's media, and every cable whose ordered length the re-plan changed
    # (srv-30 moved up six units, so its in-rack runs changed)
    def ordered(folder):
        rows = csv.DictReader(io.StringIO((folder / "cutsheet.csv").read_text()))
        return {r["cable_id"]: int(r["ordered_mm"]) for r in rows}

    old_mm, new_mm = ordered(plan), ordered(plan2)
    relength = {k for k in old_mm.keys() & new_mm.keys() if old_mm[k] != new_mm[k]}
    updated = {line.split()[2].rstrip(":") for line in lines if line.startswith("update cable")}
    assert relength and updated == relength | {isl}
    assert next(line for line in lines if line.startswith(f"update cable {isl}:")).startswith(
        f"update cable {isl}: type smf-os2 -> aoc, description smf-mpo8-apc -> aoc-100g-qsfp28"
    )
    code, out, err = push(capsys, r2, fake_netbox, token_file, "--plan", plan2)
    assert code == 0, err
    unchanged = 12 + 56 + (161 - 5 - len(updated))
    assert out.splitlines()[-1].endswith(
        f"6 created, {2 + len(updated)} updated, 1 decommissioned, 0 blocked, {unchanged} unchanged"
    )
    devices = {d["name"]: d for d in nb.table("devices").values()}
    assert len(devices) == 59 and devices["srv-30"]["position"] == 20
    assert devices["srv-31"]["asset_tag"] == "LAB-0031"
    cables = {c.get("label"): c for c in nb.table("cables").values()}
    assert cables[gone]["status"] == "decommissioning"
    assert (cables[isl]["type"], cables[isl]["description"]) == ("aoc", "aoc-100g-qsfp28")
    assert len(cables) == 157 + 5
    # and r2 again: nothing
    code, out, err = push(capsys, r2, fake_netbox, token_file, "--plan", plan2)
    assert code == 0 and "0 created, 0 updated, 0 decommissioned, 0 blocked" in out

    # what NetBox now holds imports back as r2 and plans the same (the API round trip)
    code, out, err = run(
        capsys,
        "netbox",
        "import",
        "--url",
        fake_netbox.url,
        "--token-file",
        token_file,
        "--site",
        "lab1",
        "--floorplan",
        r2 / "floorplan.yaml",
        "--device-types",
        r2 / "devicetypes",
        "-o",
        tmp_path / "back",
    )
    assert code == 0, err
    before, after = plan_view(r2), plan_view(tmp_path / "back")
    assert differences(before, after) == {k: 0 for k in before}


def test_push_blocks_a_new_cable_on_a_port_another_cable_holds(
    tmp_path, capsys, fake_netbox, token_file, hall
):
    import yaml

    assert push(capsys, hall, fake_netbox, token_file)[0] == 0
    conn = yaml.safe_load((hall / "connections.yaml").read_text())
    conn["cables"][0]["b"] = "sw1:swp3"  # srv1:eth0 now to swp3: a new cable on a held port
    (hall / "connections.yaml").write_text(yaml.safe_dump(conn))
    code, out, err = push(capsys, hall, fake_netbox, token_file)
    old, new = cid("srv1:eth0", "sw1:swp1"), cid("srv1:eth0", "sw1:swp3")
    assert code == 1
    assert f"decommission cable {old} (srv1:eth0 -- sw1:swp1, not in the design)" in out
    assert (
        f"blocked cable {new} (port srv1:eth0 still holds cable {old} (decommissioning: remove it "
        "in NetBox once it is out of the rack, then push again))"
    ) in out


def test_push_refuses_to_take_an_asset_tag_another_site_holds(
    tmp_path, capsys, fake_netbox, token_file, hall
):
    nb = fake_netbox.netbox
    site = nb.add("sites", {"name": "Other", "slug": "other", "status": "active"})
    man = nb.add("manufacturers", {"name": "X", "slug": "x"})
    dt = nb.add(
        "device-types", {"manufacturer": man["id"], "model": "M", "slug": "m", "u_height": 1}
    )
    role = nb.add("device-roles", {"name": "r", "slug": "r", "color": "9e9e9e"})
    nb.add(
        "devices",
        {
            "name": "elsewhere",
            "site": site["id"],
            "device_type": dt["id"],
            "role": role["id"],
            "asset_tag": "LAB-0001",
            "status": "active",
        },
    )
    code, out, err = push(capsys, hall, fake_netbox, token_file)
    assert code == 1
    assert (
        "blocked device srv1 (asset tag LAB-0001 belongs to NetBox device 'elsewhere' in site "
        "other; NetBox's asset tags are unique)"
    ) in out
    assert {d["name"] for d in nb.table("devices").values()} == {"elsewhere", "srv2", "sw1"}


def test_push_bad_token_and_refused_write_are_clear(tmp_path, capsys, fake_netbox, hall):
    bad = tmp_path / "bad"
    bad.write_text("nope\n")
    code, _, err = push(capsys, hall, fake_netbox, bad)
    assert code == 2 and "NetBox answered HTTP 403 (check the token)" in err
    assert writes(fake_netbox) == []


def test_fake_netbox_answers_in_the_recorded_netbox_shapes(fake_netbox, token_file, hall, capsys):
    """The test double stays honest: its objects have the keys a real NetBox 4.x returned."""
    assert push(capsys, hall, fake_netbox, token_file)[0] == 0
    import pynetbox

    api = pynetbox.api(fake_netbox.url, token=(token_file.read_text().strip()))
    for endpoint, recorded in (
        (api.dcim.devices, "dcim_devices_page1.json"),
        (api.dcim.cables, "dcim_cables.json"),
        (api.dcim.racks, "dcim_racks.json"),
    ):
        real = json.loads((DATA / recorded).read_text())["results"][0]
        fake = next(iter(endpoint.all()))
        fake = dict(fake)
        assert list(fake) == list(real)
        for key, value in real.items():
            if isinstance(value, dict) and isinstance(fake[key], dict) and key != "custom_fields":
                assert set(fake[key]) == set(value), key


# ---------------------------------------------------------------- P2P workbook


def test_p2p_workbook_has_nvidia_columns_per_fabric_sheet_and_same_bytes(hall, tmp_path, capsys):
    import openpyxl

    plan = tmp_path / "plan"
    assert run(capsys, "plan", hall, "-o", plan)[0] == 0
    for out in ("nb1", "nb2"):
        assert run(capsys, "netbox", "export", hall, "-o", tmp_path / out, "--plan", plan)[0] == 0
    book = tmp_path / "nb1" / "p2p" / "cable-validation.xlsx"
    assert book.read_bytes() == (tmp_path / "nb2" / "p2p" / "cable-validation.xlsx").read_bytes()
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["in-band"]
    rows = list(wb["in-band"].iter_rows(values_only=True))
    header = list(rows[0])
    # NVIDIA's documented columns, by name (the tool reads them by header)
    for name in ("A-Node Name", "A-Type", "A-Port", "Z-Node Name", "Z-Type", "Z-Port"):
        assert name in header
    keys = ("A-Node Name", "A-Type", "A-Port", "A-Port Name", "A-Rack", "A-U")
    keys += ("Z-Node Name", "Z-Type", "Z-Port", "Z-Port Name", "Z-U")
    got = sorted(tuple(dict(zip(header, r, strict=True))[k] for k in keys) for r in rows[1:])
    # A is the server (the host/HCA side) even where the designer wrote the switch first
    # (sw1:up1 -> srv1:p0); a host port is numbered among its type's ports of that port type
    assert got == [
        ("srv1", "Host", 1, "eth0", "R01", 10, "sw1", "Switch", 1, "swp1", 40),
        ("srv1", "Host", 1, "p0", "R01", 10, "sw1", "Switch", 1, "up1", 40),
        ("srv2", "Host", 1, "eth0", "R03", 10, "sw1", "Switch", 2, "swp2", 40),
    ]
    csv_rows = list(
        csv.DictReader(io.StringIO((tmp_path / "nb1" / "p2p" / "in-band.csv").read_text()))
    )
    assert len(csv_rows) == len(rows) - 1 == 3


def test_p2p_include_must_name_power_or_console(hall, tmp_path, capsys):
    code, _, err = run(
        capsys, "netbox", "export", hall, "-o", tmp_path / "nb", "--p2p-include", "fibre"
    )
    assert code == 2 and "'fibre' is not one of: console, power" in err


def test_export_plan_folder_problems_are_one_clear_line(hall, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "netbox", "export", hall, "-o", tmp_path / "a", "--plan", empty)
    assert code == 2 and "no cutsheet.csv or workorders.json here" in err
    other = tmp_path / "other"
    other.mkdir()
    (other / "workorders.json").write_text(
        '{"schema": "fieldops.workorders/1.0", "design": {"name": "gpu"}}'
    )
    code, _, err = run(capsys, "netbox", "export", hall, "-o", tmp_path / "b", "--plan", other)
    assert code == 2 and "the plan is of design 'gpu', not 'tiny'" in err
    (other / "workorders.json").write_text("{not json")
    code, _, err = run(capsys, "netbox", "export", hall, "-o", tmp_path / "c", "--plan", other)
    assert code == 2 and "workorders.json:1: <root>: not JSON" in err
    assert "Traceback" not in err
