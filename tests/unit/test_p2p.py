"""P2P sheets for NVIDIA's UFM Cable Validation Tool: fabric per cable, host (HCA) side as A,
port numbers from the device type."""

from __future__ import annotations

import functools

from fieldops.adapters.designfile import load_design
from fieldops.core.labels import assign_cable_ids
from fieldops.core.p2p import build_p2p, fabric_of, hca_mapping, port_number
from tests.samples import GPU_HALL, LAB_HALL


@functools.cache
def gpu():
    d = load_design(GPU_HALL).design
    return d, assign_cable_ids(d.cables)[0]


def link(links, a_node, a_port_name):
    return next(x for x in links if x.a.node == a_node and x.a.port_name == a_port_name)


def test_gpu_hall_fabrics_hosts_on_a_and_nvidia_port_numbers():
    design, ids = gpu()
    links = build_p2p(design, ids)
    by = {}
    for x in links:
        by.setdefault(x.fabric, []).append(x)
    assert list(by) == ["compute", "storage", "in-band", "oob"]  # no power, no console
    rail = link(links, "dgx-su01-01", "ib0")
    assert (rail.fabric, rail.a.type, rail.a.port, rail.a.rack, rail.a.u) == (
        "compute",
        "Host",
        "1",
        "A06",
        3,
    )
    assert (rail.z.node, rail.z.type, rail.z.port_name, rail.z.port) == (
        "leaf-su01-r1",
        "Switch",
        "P0.0",
        "1/1",
    )
    assert link(links, "dgx-su01-01", "ib7").a.port == "8"
    store = link(links, "dgx-su01-01", "slot2-p1")
    assert (store.fabric, store.a.port, store.z.node) == ("storage", "3", "st-leaf-su01-2")
    inband = link(links, "dgx-su01-01", "slot1-p2")
    assert (inband.fabric, inband.a.port, inband.z.port_name, inband.z.port) == (
        "in-band",
        "2",
        "swp1",
        "1",
    )
    bmc = link(links, "dgx-su01-01", "bmc")
    assert bmc.fabric == "oob" and bmc.z.type == "Switch"
    # every cable whose designer's a end is a switch but whose other end is a host is turned round
    assert all(not (x.a.type == "Switch" and x.z.type == "Host") for x in links)
    # the host's HCA ports map back to the device type's names, one name per number
    mapping, conflicts = hca_mapping(by["compute"])
    assert mapping == [(str(i + 1), f"ib{i}") for i in range(8)] and conflicts == []
    assert len(links) == sum(
        1 for c in design.cables if fabric_of(design, c) not in ("power", "console")
    )


def test_power_and_console_only_when_asked_and_keep_port_names():
    design, ids = gpu()
    links = build_p2p(design, ids, include=("power", "console"))
    fabrics = {x.fabric for x in links}
    assert {"power", "console"} <= fabrics
    cord = next(x for x in links if x.fabric == "power")
    assert cord.a.port == cord.a.port_name  # cords keep the device type's port names
    assert len(links) == len(design.cables)


def test_port_number_rules():
    design, _ = gpu()
    qm = design.device_types["nvidia-qm9700-64p"]
    assert port_number(qm, "P31.1") == "32/2"
    sn = design.device_types["mellanox-sn2201"]
    assert port_number(sn, "swp59") == "59" and port_number(sn, "swp1") == "1"


def test_lab_hall_management_goes_to_oob_and_server_links_to_in_band():
    design = load_design(LAB_HALL).design
    ids = assign_cable_ids(design.cables)[0]
    links = build_p2p(design, ids, ports="names")
    srv = [x for x in links if x.a.node == "srv-01"]
    assert sorted((x.fabric, x.a.port, x.z.node, x.z.port) for x in srv) == [
        ("in-band", "eno1", "leaf-a", "swp1"),
        ("in-band", "eno2", "leaf-b", "swp1"),
        ("oob", "bmc", "oob-01", "swp1"),
    ]
