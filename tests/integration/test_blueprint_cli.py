"""`fieldops blueprint`: built-in blueprints expand into designs that validate, with the switch and
cable counts their published figures give; output is byte-identical run to run; bad input exits 2
and writes nothing; the committed GPU hall sample is exactly what its blueprint produces."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from fieldops import services
from fieldops.adapters.designfile import load_design
from fieldops.cli import main
from fieldops.core.problems import ERROR

REPO = Path(__file__).resolve().parents[2]
GPU_HALL = REPO / "floorplans" / "gpu-hall"


def run(capsys, *argv):
    code = main(["blueprint", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def expand_to(capsys, tmp_path, name, **params):
    out = tmp_path / f"{name}-{'-'.join(f'{k}{v}' for k, v in sorted(params.items()))}"
    args = [name, "-o", str(out)]
    for k, v in params.items():
        args += ["--param", f"{k}={v}"]
    code, stdout, stderr = run(capsys, *args)
    assert code == 0, stderr
    return out, stdout


def design_counts(path: Path):
    loaded = load_design(path)
    d = loaded.design
    report = services.check_loaded(loaded)
    errors = [p for p in report.problems if p.severity == ERROR]
    roles = Counter(dev.role for dev in d.devices)
    role_of = {dev.name: dev.role for dev in d.devices}
    pairs = Counter(tuple(sorted((role_of[c.a.device], role_of[c.b.device]))) for c in d.cables)
    return d, errors, roles, pairs


# ---------------------------------------------------------------- SuperPOD-style: published figures


def test_superpod_1_su_matches_the_reference_architecture(capsys, tmp_path):
    """1 SU: 32 nodes (256 GPUs), 8 rail leaves and 4 spines, 256 node links, 256 leaf-spine links."""
    out, _ = expand_to(capsys, tmp_path, "dgx-h100-superpod", su_count=1)
    d, errors, roles, pairs = design_counts(out)
    assert errors == []
    assert roles["gpu-node"] == 32 and roles["compute-leaf"] == 8 and roles["compute-spine"] == 4
    assert roles["pdu"] == 3 * 8  # 3 PDUs per compute rack
    assert pairs[("compute-leaf", "gpu-node")] == 32 * 8
    assert pairs[("compute-leaf", "compute-spine")] == 8 * 32
    # rail-optimised: every node's NIC k lands on leaf k of its SU
    for c in d.cables:
        if c.a.port.startswith("ib"):
            assert c.b.device == f"leaf-su01-r{int(c.a.port[2:]) + 1}", c
    # every spine takes 8 links from each of the 8 leaves: all 64 ports, balanced
    per_spine = Counter(
        (c.a.device, c.b.device) for c in d.cables if c.b.device.startswith("spine-")
    )
    assert set(per_spine.values()) == {8} and len(per_spine) == 8 * 4


def test_superpod_4_su_matches_the_reference_architecture(capsys, tmp_path):
    """4 SU: 32 leaf + 16 spine, 1,024 node-leaf links and 1,024 leaf-spine links."""
    out, stdout = expand_to(capsys, tmp_path, "dgx-h100-superpod", su_count=4)
    d, errors, roles, pairs = design_counts(out)
    assert errors == []
    assert (roles["compute-leaf"], roles["compute-spine"], roles["gpu-node"]) == (32, 16, 128)
    assert pairs[("compute-leaf", "gpu-node")] == 1024
    assert pairs[("compute-leaf", "compute-spine")] == 1024
    assert "compute-core" not in roles  # still two tiers
    compute_racks = [r for r in d.floorplan.racks if r.rack_type == "spod-compute-48u"]
    assert len(compute_racks) == 4 * 8
    assert "compute rails 1,024, leaf-spine 1,024" in stdout


def test_superpod_power_and_weight_budgets_hold(capsys, tmp_path):
    out, _ = expand_to(capsys, tmp_path, "dgx-h100-superpod", su_count=1)
    d = load_design(out).design
    types = d.device_types
    rack = next(r for r in d.floorplan.racks if r.rack_type == "spod-compute-48u")
    devs = [x for x in d.devices if x.rack == rack.name]
    nodes = [x for x in devs if x.role == "gpu-node"]
    assert len(nodes) == 4
    # 4 x 6 PSUs x 1,700 W allocated = 40.8 kW (the DGX H100's 10.2 kW each), under 45 kW
    assert sum(types[x.device_type].max_draw_w for x in nodes) == 40_800
    assert sum(types[x.device_type].weight_kg for x in nodes) == pytest.approx(521.8)
    # each PSU is corded to one of the rack's 3 PDUs; each PDU gets 8 cords
    feeds = Counter(
        c.b.device
        for c in d.cables
        if c.media == "power-c19-c20" and c.a.device in {n.name for n in nodes}
    )
    assert sorted(feeds.values()) == [8, 8, 8]


def test_superpod_three_tier_beyond_4_su(capsys, tmp_path):
    out, _ = expand_to(capsys, tmp_path, "dgx-h100-superpod", su_count=5, units_per_row=3)
    d, errors, roles, pairs = design_counts(out)
    assert errors == []
    # pods of 4 SU with 32 spines each (2 pods), 16 cores per pod
    assert (roles["compute-leaf"], roles["compute-spine"], roles["compute-core"]) == (40, 64, 32)
    assert pairs[("compute-leaf", "compute-spine")] == 40 * 32
    assert pairs[("compute-core", "compute-spine")] == 64 * 32


# ---------------------------------------------------------------- other built-ins


def test_gb200_nvl72_one_su(capsys, tmp_path):
    out, _ = expand_to(capsys, tmp_path, "gb200-nvl72", su_count=1)
    d, errors, roles, pairs = design_counts(out)
    assert errors == []
    nvl = [r for r in d.floorplan.racks if r.rack_type == "nvl72-48u"]
    assert len(nvl) == 8
    assert roles["gpu-tray"] == 8 * 18 and roles["nvlink-tray"] == 8 * 9  # 72 GPUs per rack
    assert pairs[("compute-leaf", "gpu-tray")] == 8 * 72  # one NIC per GPU
    load = {
        r.name: sum(
            d.device_types[x.device_type].max_draw_w or 0
            for x in d.devices
            if x.rack == r.name and x.role in ("gpu-tray", "nvlink-tray")
        )
        for r in nvl
    }
    assert set(load.values()) == {18 * 6500 + 9 * 1600}  # 131.4 kW per rack
    assert sum(load.values()) == 1_051_200  # ~1.05 MW rack load per SU


def test_lab_ethernet_defaults(capsys, tmp_path):
    out, _ = expand_to(capsys, tmp_path, "lab-ethernet")
    d, errors, roles, pairs = design_counts(out)
    assert errors == []
    assert roles["server"] == 48 and roles["leaf"] == 6 and roles["spine"] == 2
    assert pairs[("leaf", "server")] == 96 and pairs[("leaf", "spine")] == 24


def test_list_names_every_builtin(capsys):
    code, out, _ = run(capsys, "--list")
    assert code == 0
    for name in ("dgx-h100-superpod", "gb200-nvl72", "lab-ethernet"):
        assert f"{name}:" in out
    assert "--param su_count=1" in out


# ---------------------------------------------------------------- determinism and the committed sample


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_expansion_is_byte_identical(capsys, tmp_path):
    a, _ = expand_to(capsys, tmp_path / "a", "dgx-h100-superpod", su_count=2)
    b, _ = expand_to(capsys, tmp_path / "b", "dgx-h100-superpod", su_count=2)
    fa, fb = _files(a), _files(b)
    assert fa == fb and len(fa) >= 6


def test_committed_gpu_hall_is_what_the_blueprint_writes(capsys, tmp_path):
    out, _ = expand_to(capsys, tmp_path, "dgx-h100-superpod", su_count=2)
    assert _files(out) == _files(GPU_HALL)
    report = services.validate_design(GPU_HALL)
    assert report.ok, [str(p) for p in report.problems if p.severity == ERROR][:5]
    d = load_design(GPU_HALL).design
    gpu_racks = {x.rack for x in d.devices if x.device_type == "nvidia-dgx-h100"}
    assert len(gpu_racks) >= 16 and len(d.cables) >= 1000
    roles = Counter(x.role for x in d.devices)
    assert roles["compute-leaf"] and roles["compute-spine"] and roles["pdu"] and roles["oob-switch"]


# ---------------------------------------------------------------- bad input: exit 2, nothing written


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["nope"], "no blueprint 'nope'"),
        (["dgx-h100-superpod", "--param", "sucount=2"], "unknown parameter 'sucount'"),
        (["dgx-h100-superpod", "--param", "su_count=-1"], "-1 is below the minimum 1"),
        (["dgx-h100-superpod", "--param", "su_count=0"], "0 is below the minimum 1"),
        (["dgx-h100-superpod", "--param", "su_count=100000"], "above the maximum 64"),
        (["dgx-h100-superpod", "--param", "su_count=two"], "'two' is not a whole number"),
        (["dgx-h100-superpod", "--param", "su_count"], "expected NAME=VALUE"),
        (["dgx-h100-superpod", "--param", "su_count=1", "--param", "su_count=2"], "given twice"),
        (["lab-ethernet", "--param", "racks=17"], "above the maximum 16"),
    ],
)
def test_bad_parameters_exit_2_and_write_nothing(capsys, tmp_path, args, fragment):
    out = tmp_path / "design"
    code, _, err = run(capsys, *args, "-o", str(out))
    assert code == 2
    assert fragment in err and "Traceback" not in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no staging left behind


def test_missing_out_or_name_exits_2(capsys):
    assert run(capsys, "lab-ethernet")[0] == 2
    assert run(capsys)[0] == 2


def test_non_empty_directory_needs_force(capsys, tmp_path):
    out = tmp_path / "d"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    code, _, err = run(capsys, "lab-ethernet", "-o", str(out))
    assert code == 2 and "--force" in err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    code, _, err = run(capsys, "lab-ethernet", "-o", str(out), "--force")
    assert code == 0, err
    assert (out / "notes.txt").read_text() == "keep me"
    assert services.validate_design(out).ok


BROKEN = """\
blueprint: broken
layout:
  rack_types: [{slug: r, u_height: 42}]
racks:
  - group: su
    rack_type: r
    devices:
      - {role: srv, name: "srv-{g}", device_type: generic-lab-server-1u, position: 2, step: 2, count: 3}
      - {role: tor, name: "tor-{unit}", device_type: mellanox-sn2201, position: 42}
connections:
  - name: data
    a: {role: srv, ports: [eno1, eno9]}
    b: {role: tor, ports: "swp{1..48}"}
    media: cat6a
"""


def _blueprint_dir(tmp_path: Path, text: str) -> Path:
    src = REPO / "fieldops" / "blueprints" / "lab-ethernet" / "devicetypes"
    root = tmp_path / "bp"
    (root / "types").mkdir(parents=True)
    (root / "types" / "server.yaml").write_text((src / "generic-lab-server-1u.yaml").read_text())
    (root / "blueprint.yaml").write_text("device_types: [types]\n" + text)
    return root


def test_blueprint_file_problems_are_line_numbered(capsys, tmp_path):
    root = _blueprint_dir(tmp_path, BROKEN)
    code, _, err = run(capsys, str(root), "-o", str(tmp_path / "out"))
    assert code == 2
    # line 12 of the file (the device_types line is prepended): the rule
    assert (
        "blueprint.yaml:12: connections[0].a.ports: rule 'data': device type 'generic-lab-server-1u' has no port 'eno9'"
        in err
    )
    assert not (tmp_path / "out").exists()


def test_schema_errors_and_hostile_values(capsys, tmp_path):
    text = BROKEN.replace("count: 3}", "count: 3, colour: red}").replace(
        "rack_type: r\n", "rack_type: r\n    count: '__import__(\"os\")'\n"
    )
    root = _blueprint_dir(tmp_path, text)
    code, _, err = run(capsys, str(root), "-o", str(tmp_path / "out"))
    assert code == 2 and "Traceback" not in err
    assert "rack group 'su' count" in err and "only numbers" in err


def test_generated_names_that_need_quoting_round_trip(capsys, tmp_path):
    text = (
        BROKEN.replace('"srv-{g}"', '"yes {g}"')
        .replace('"tor-{unit}"', '"0{unit}"')
        .replace("eno9", "eno2")
    )
    root = _blueprint_dir(tmp_path, text)
    code, _, err = run(capsys, str(root), "-o", str(tmp_path / "out"))
    assert code == 0, err
    d = load_design(tmp_path / "out").design
    assert {x.name for x in d.devices} == {"yes 1", "yes 2", "yes 3", "01"}
    assert {str(c.a) for c in d.cables} == {f"yes {i}:eno{k}" for i in (1, 2, 3) for k in (1, 2)}
    assert {c.b.device for c in d.cables} == {"01"}


@pytest.mark.parametrize("name", ["dgx-h100-superpod", "gb200-nvl72", "lab-ethernet"])
def test_every_bundled_blueprint_plans_with_the_default_team(capsys, tmp_path, name):
    """What the blueprint calls valid, validate and plan accept with the bundled profiles
    (the gb200-nvl72 CDU of 900 kg goes to the rigging crew)."""
    out, _ = expand_to(capsys, tmp_path, name)
    assert main(["validate", str(out)]) == 0, capsys.readouterr().out
    assert main(["plan", str(out), "-o", str(tmp_path / "plan"), "-q"]) == 0
    assert (tmp_path / "plan" / "workorders.json").is_file()
