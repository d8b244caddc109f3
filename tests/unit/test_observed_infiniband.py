"""InfiniBand observations: ibnetdiscover and iblinkinfo output (samples written from the
rdma-core infiniband-diags documented formats, in tests/data/observed/) mapped to design ports,
checked against the design, and reconciled.

The hall: tests/samples.py's tiny row with two InfiniBand switches and two GPU nodes::

    [gpu1:cx0] --- [isw1:ib1]   [gpu1:cx1] --- [isw2:ib1]      [isw1:ib8] --- [isw2:ib8]
    [gpu2:cx0] --- [isw1:ib2]   [gpu2:cx1] --- [isw2:ib2]

The switches' ports are typed 400gbase-x-osfp (as the devicetype-library types QM9700s): the
InfiniBand map declares the switch type, port N = ibN (its N-th InfiniBand interface). The GPU
nodes' cx ports are HCA ports because they are cabled to those switches: mlx5_0 = cx0,
mlx5_1 = cx1 by default. In the samples isw1 describes itself the unmanaged way
(``MF0;isw1:MQM9700/U1``) and gpu2 by its FQDN.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldops.adapters.designfile import load_design
from fieldops.adapters.observed import load_ib_map, load_observations
from fieldops.cli import main
from fieldops.core import asbuilt as ab
from fieldops.core.labels import assign_cable_ids
from fieldops.core.observation import INFINIBAND, LLDP, PortClasses
from fieldops.core.problems import DesignError
from fieldops.core.reconcile import build_drift, merge_observed
from tests.samples import SWITCH_TYPE, tiny_floorplan, write_design

DATA = Path(__file__).resolve().parents[1] / "data" / "observed"
IB_SWITCH = {
    "manufacturer": "Generic",
    "model": "Test IB Switch 8",
    "slug": "test-ib-switch-8",
    "u_height": 1,
    "is_full_depth": True,
    "weight": 14,
    "weight_unit": "kg",
    "interfaces": [{"name": "mgmt0", "type": "1000base-t", "mgmt_only": True}]
    + [{"name": f"ib{i}", "type": "400gbase-x-osfp"} for i in range(1, 9)],
    "power-ports": [{"name": "PSU1", "type": "iec-60320-c14", "maximum_draw": 700}],
}
GPU_NODE = {
    "manufacturer": "Generic",
    "model": "Test GPU Node",
    "slug": "test-gpu-node",
    "u_height": 2,
    "is_full_depth": True,
    "weight": 30,
    "weight_unit": "kg",
    "interfaces": [
        {"name": "bmc", "type": "1000base-t", "mgmt_only": True},
        {"name": "eth0", "type": "10gbase-t"},
        {"name": "cx0", "type": "400gbase-x-osfp"},
        {"name": "cx1", "type": "400gbase-x-osfp"},
    ],
    "power-ports": [{"name": "PSU1", "type": "iec-60320-c14", "maximum_draw": 2000}],
}
DEVICES = [
    {"name": "sw1", "device_type": "test-switch-1u", "rack": "R02", "position": 40, "face": "rear"},
    {
        "name": "isw1",
        "device_type": "test-ib-switch-8",
        "rack": "R02",
        "position": 38,
        "face": "rear",
    },
    {
        "name": "isw2",
        "device_type": "test-ib-switch-8",
        "rack": "R02",
        "position": 36,
        "face": "rear",
    },
    {"name": "gpu1", "device_type": "test-gpu-node", "rack": "R01", "position": 10},
    {"name": "gpu2", "device_type": "test-gpu-node", "rack": "R03", "position": 10},
]
IB_CABLES = [
    ("gpu1:cx0", "isw1:ib1"),
    ("gpu2:cx0", "isw1:ib2"),
    ("gpu1:cx1", "isw2:ib1"),
    ("gpu2:cx1", "isw2:ib2"),
    ("isw1:ib8", "isw2:ib8"),
]
ETH_CABLES = [("gpu1:eth0", "sw1:swp1"), ("gpu2:eth0", "sw1:swp2")]
IB_MAP = "switches:\n  test-ib-switch-8: {}\n"


@pytest.fixture(scope="module")
def hall(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ibhall")
    cables = [{"a": a, "b": b, "media": "smf-mpo8-apc"} for a, b in IB_CABLES]
    cables += [{"a": a, "b": b, "media": "cat6a"} for a, b in ETH_CABLES]
    path = write_design(
        root / "hall",
        floorplan=tiny_floorplan(),
        devices=DEVICES,
        cables=cables,
        device_types=[SWITCH_TYPE, IB_SWITCH, GPU_NODE],
    )
    (root / "ib-map.yaml").write_text(IB_MAP)
    return path


@pytest.fixture(scope="module")
def design(hall):
    return load_design(hall).design


@pytest.fixture(scope="module")
def ib_map(hall):
    return load_ib_map(hall.parent / "ib-map.yaml")


def key(a: str, b: str) -> tuple[str, str]:
    return tuple(sorted((a, b)))


def problems_of(design, ib_map, *files) -> list[str]:
    """``file:line: message`` of every problem the files are refused with."""
    with pytest.raises(DesignError) as err:
        load_observations([str(f) for f in files], design, ib_map=ib_map)
    return [f"{p.file}:{p.line}: {p.message}" for p in err.value.problems]


# ---------------------------------------------------------------- what is InfiniBand


def test_switch_ports_and_the_hca_ports_cabled_to_them_are_infiniband(design, ib_map):
    classes = PortClasses(design, ib_map)
    assert {p: classes.source(p) for p in ("isw1:ib1", "gpu1:cx0", "gpu2:cx1")} == dict.fromkeys(
        ("isw1:ib1", "gpu1:cx0", "gpu2:cx1"), INFINIBAND
    )
    assert classes.source("gpu1:eth0") == LLDP and classes.source("isw1:mgmt0") == LLDP
    assert classes.source("gpu1:PSU1") is None  # seen from the PDU's outlet, if at all
    # without the map nothing says the 400G ports are InfiniBand: they are Ethernet
    plain = PortClasses(design, load_ib_map())
    assert plain.source("isw1:ib1") == LLDP and plain.source("gpu1:cx0") == LLDP
    # numbering: port N is the N-th InfiniBand interface; HCA mlx5_N the host's (N+1)-th
    assert classes.switch_port("isw1", 8) == "ib8" and classes.switch_port("isw1", 9) is None
    assert classes.hca_port("gpu2", "mlx5_1", 1) == "cx1"
    assert classes.hca_port("gpu2", "mlx5_2", 1) is None
    assert classes.hca_port("gpu2", "mlx5_0", 2) is None  # a single-port HCA has no port 2


def test_an_infiniband_interface_type_needs_no_map(tmp_path):
    typed = dict(IB_SWITCH, slug="typed-ib", interfaces=IB_SWITCH["interfaces"][:1])
    typed["interfaces"] = typed["interfaces"] + [
        {"name": f"p{i}", "type": "infiniband-ndr"} for i in range(1, 5)
    ]
    devices = [dict(DEVICES[1], device_type="typed-ib"), DEVICES[3]]
    d = load_design(
        write_design(
            tmp_path / "h",
            devices=devices,
            cables=[{"a": "gpu1:cx0", "b": "isw1:p3", "media": "smf-mpo8-apc"}],
            device_types=[typed, GPU_NODE],
        )
    ).design
    classes = PortClasses(d, load_ib_map())
    assert classes.source("isw1:p3") == INFINIBAND and classes.source("gpu1:cx0") == INFINIBAND
    assert classes.switch_port("isw1", 3) == "p3"


# ---------------------------------------------------------------- the formats


@pytest.mark.parametrize(
    "sample", ["ib-tiny.ibnetdiscover.txt", "ib-tiny.iblinkinfo.txt", "ib-tiny.iblinkinfo-l.txt"]
)
def test_every_format_gives_the_designed_links(design, ib_map, sample):
    obs = load_observations([str(DATA / sample)], design, ib_map=ib_map)
    assert set(obs.links) == {key(a, b) for a, b in IB_CABLES}
    assert obs.reporters["infiniband"] == {"isw1", "isw2"}  # switches: every port looked at
    assert obs.looked_at == {"gpu1:cx0", "gpu1:cx1", "gpu2:cx0", "gpu2:cx1"}  # HCAs: their port
    report = build_drift(
        design, merge_observed(ab.AsBuilt("TINY"), obs), scope=obs, devices_recorded=False
    )
    status = {d.designed: d.status for d in report.cables}
    assert {status[key(a, b)] for a, b in IB_CABLES} == {"as_designed"}
    # nobody reported LLDP: the Ethernet cables were not looked at
    assert {status[key(a, b)] for a, b in ETH_CABLES} == {"unobserved"}
    assert report.unobserved_by_source == {"lldp": 2}


def test_a_drifted_fabric_names_the_swap_and_the_missing_link(design, ib_map):
    obs = load_observations([str(DATA / "ib-tiny-drift.ibnetdiscover.txt")], design, ib_map=ib_map)
    report = build_drift(
        design, merge_observed(ab.AsBuilt("TINY"), obs), scope=obs, devices_recorded=False
    )
    ids = assign_cable_ids(design.cables)[0]
    drifted = {(d.cable, d.status) for d in report.drifted()}
    assert drifted == {
        (ids[key("gpu2:cx0", "isw1:ib2")], "swapped"),
        (ids[key("gpu2:cx1", "isw2:ib2")], "swapped"),
        (ids[key("isw1:ib8", "isw2:ib8")], "missing"),
    }
    swap = next(d for d in report.cables if d.status == "swapped")
    assert "gpu2 cx0" in swap.message and "gpu2 cx1" in swap.message  # exchanged at gpu2


def test_an_hca_map_names_hcas_the_way_the_host_numbers_them(design, tmp_path):
    # this host enumerates its HCAs mlx5_4 (cx1) and mlx5_7 (cx0)
    text = (DATA / "ib-tiny.ibnetdiscover.txt").read_text()
    text = text.replace("gpu1 mlx5_0", "gpu1 mlx5_7").replace("gpu1 mlx5_1", "gpu1 mlx5_4")
    (tmp_path / "f.txt").write_text(text)
    (tmp_path / "map.yaml").write_text(
        IB_MAP + "hcas:\n  test-gpu-node: {mlx5_7: cx0, mlx5_4: cx1, mlx5_0: cx0, mlx5_1: cx1}\n"
    )
    obs = load_observations(
        [str(tmp_path / "f.txt")], design, ib_map=load_ib_map(tmp_path / "map.yaml")
    )
    assert set(obs.links) == {key(a, b) for a, b in IB_CABLES}
    # without the HCA map, mlx5_7 is no port of gpu1: refused, naming the map to write
    text = "\n".join(problems_of(design, _switches_only(tmp_path), tmp_path / "f.txt"))
    assert "gpu1 mlx5_7 port 1 is not a design port of gpu1 (test-gpu-node)" in text
    assert "hcas.test-gpu-node" in text


def _switches_only(tmp_path: Path):
    path = tmp_path / "only-switches.yaml"
    path.write_text(IB_MAP)
    return load_ib_map(path)


# ---------------------------------------------------------------- bad input


def test_unknown_nodes_ports_and_a_disagreeing_file_are_refused_with_their_lines(
    design, ib_map, tmp_path
):
    base = (DATA / "ib-tiny.ibnetdiscover.txt").read_text()
    unknown = tmp_path / "unknown.txt"
    unknown.write_text(base.replace('"isw2"', '"isw9"'))
    port9 = tmp_path / "port9.txt"
    # isw1's end of the isl moved to its port 9 (both sides of the file say so)
    port9.write_text(
        base.replace('[8]\t"S-0002c90300a1b3d0"[8]', '[9]\t"S-0002c90300a1b3d0"[8]').replace(
            '[8]\t"S-0002c90300a1b2c0"[8]', '[8]\t"S-0002c90300a1b2c0"[9]'
        )
    )
    both = tmp_path / "both.txt"  # gpu1 mlx5_0 seen on isw1 port 1 and port 3
    both.write_text(
        base.replace(
            '[2]\t"H-0c42a10300c5f010"',
            '[3]\t"H-0c42a10300c5e2a4"[1](c42a10300c5e2a4) \t\t# "gpu1 mlx5_0" lid 3 4xNDR\n[2]\t"H-0c42a10300c5f010"',
        )
    )
    probs = problems_of(design, ib_map, unknown)
    assert any(
        p.startswith(f"{unknown}:19: unknown InfiniBand switch 'isw9': no design device")
        for p in probs
    ), probs
    assert any("--node-name-map" in p for p in probs)
    (p9,) = problems_of(design, ib_map, port9)
    assert p9.startswith(f"{port9}:13: isw1 (test-ib-switch-8) has no port numbered 9")
    (pb,) = problems_of(design, ib_map, both)
    assert pb.startswith(f"{both}:") and "the two sides disagree" in pb and "gpu1 mlx5_0" in pb


def test_truncated_foreign_and_unmappable_files_are_refused(design, ib_map, tmp_path):
    base = (DATA / "ib-tiny.ibnetdiscover.txt").read_text()
    cut = tmp_path / "cut.txt"
    cut.write_text(base[: base.index('"H-0c42a10300c5f010"[1]') + 8])  # stops inside a line
    (p,) = problems_of(design, ib_map, cut)
    assert p.startswith(f"{cut}:12: not ibnetdiscover output: cannot read")
    other = tmp_path / "other-hall.txt"
    other.write_text(
        base.replace("isw1", "xs1")
        .replace("isw2", "xs2")
        .replace("gpu1", "n1")
        .replace("gpu2", "n2")
    )
    (p,) = problems_of(design, ib_map, other)
    assert "none of its 6 InfiniBand nodes is a device of design 'tiny'" in p
    assert "different hall" in p
    # the switch type is not declared InfiniBand: its 400G ports cannot take IB port numbers
    probs = problems_of(design, load_ib_map(), DATA / "ib-tiny.ibnetdiscover.txt")
    assert any(
        ":10: isw1 (test-ib-switch-8) is an InfiniBand switch in this fabric but its device type "
        "has no InfiniBand ports: declare the type under 'switches:'" in p
        for p in probs
    ), probs


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("switches:\n  x: {pattern: '{cage}{nope}'}\n", "use {port}, {cage} and {lane} only"),
        ("switches:\n  x: {lanes: 0}\n", "0 is below the minimum 1"),
        ("switches:\n  x: {ports: {one: a}}\n", "ports maps a port number"),
        ("hcas:\n  x: [mlx5_0]\n", "expected HCA name -> port name"),
        ("switches: [a]\n", "expected a mapping"),
    ],
)
def test_a_bad_ib_map_is_refused_with_file_and_line(tmp_path, text, message):
    path = tmp_path / "map.yaml"
    path.write_text(text)
    with pytest.raises(DesignError) as err:
        load_ib_map(path)
    assert any(message in str(p) and str(p).startswith(str(path)) for p in err.value.problems), [
        str(p) for p in err.value.problems
    ]


# ---------------------------------------------------------------- the command


def test_cli_reads_ibnetdiscover_with_an_ib_map(hall, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "reconcile",
            str(hall),
            "--observed",
            str(DATA / "ib-tiny-drift.ibnetdiscover.txt"),
            "--ib-map",
            str(hall.parent / "ib-map.yaml"),
            "-o",
            str(out),
        ]
    )
    stdout = capsys.readouterr().out
    assert code == 1
    assert "2 cables swapped (ends exchanged)" in stdout and "1 cable missing" in stdout
    assert "2 cables unobserved: Ethernet (give lldpctl -f json from the devices)" in stdout
    drift = json.loads((out / "drift.json").read_text())
    assert [i["status"] for i in drift["items"]] == ["swapped", "swapped", "missing"]
    assert drift["unobserved"] == {"lldp": 2}
    steps = json.loads((out / "fixups.json").read_text())["steps"]
    assert {i["fixup"] for i in drift["items"]} == {s["id"] for s in steps}
