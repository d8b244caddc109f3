"""Observed neighbours: lldpctl JSON (both shapes lldpd writes, json0, bundles) and the CSV,
checked against the design; bad input is reported clearly and nothing is applied half-way."""

from __future__ import annotations

import json

import pytest

from fieldops.adapters.designfile import load_design
from fieldops.adapters.observed import load_observations
from fieldops.cli import main
from fieldops.core.problems import DesignError
from tests.samples import write_design

CABLES = [
    {"a": "srv1:eth0", "b": "sw1:swp1", "media": "cat6a"},
    {"a": "srv2:eth0", "b": "sw1:swp2", "media": "cat6a"},
]


def neighbour(sysname: str, port: str, *, mac: str = "0c:42:a1:00:00:01") -> dict:
    """One interface body as lldpd 1.0 writes it with ``lldpctl -f json``."""
    return {
        "via": "LLDP",
        "rid": "1",
        "age": "0 day, 00:03:12",
        "chassis": {
            sysname: {
                "id": {"type": "mac", "value": mac},
                "descr": "Cumulus Linux version 5.4.0 running on Mellanox Technologies Ltd. MSN2201",
                "mgmt-ip": "192.0.2.11",
                "capability": [
                    {"type": "Bridge", "enabled": True},
                    {"type": "Router", "enabled": True},
                ],
            }
        },
        "port": {"id": {"type": "ifname", "value": port}, "descr": port, "ttl": "120"},
    }


@pytest.fixture
def hall(tmp_path):
    return write_design(tmp_path / "hall", cables=CABLES)


@pytest.fixture
def design(hall):
    return load_design(hall).design


def test_single_interface_shape(design, tmp_path):
    path = tmp_path / "srv1.json"  # the file name says which device it was taken on
    path.write_text(json.dumps({"lldp": {"interface": {"eth0": neighbour("sw1", "swp1")}}}))
    obs = load_observations([str(path)], design)
    assert obs.links == (("srv1:eth0", "sw1:swp1"),) and obs.reporters["lldp"] == {"srv1"}


def test_list_shape_with_fqdn_and_port_described_by_mac(design, tmp_path):
    second = neighbour("sw1.lab.example.com", "swp2")
    second["port"] = {
        "id": {"type": "mac", "value": "0c:42:a1:00:00:02"},
        "descr": "swp2",
        "ttl": "120",
    }
    doc = {"lldp": {"interface": [{"eth0": neighbour("sw1", "swp1")}]}}
    (tmp_path / "a.json").write_text(json.dumps(doc))
    doc2 = {"lldp": {"interface": [{"eth0": second}]}}
    (tmp_path / "b.json").write_text(json.dumps(doc2))
    obs = load_observations([f"srv1={tmp_path / 'a.json'}", f"srv2={tmp_path / 'b.json'}"], design)
    assert obs.links == (("srv1:eth0", "sw1:swp1"), ("srv2:eth0", "sw1:swp2"))
    assert obs.reporters["lldp"] == {"srv1", "srv2"}


def test_json0_shape_and_no_neighbours(design, tmp_path):
    doc = {
        "lldp": [
            {
                "interface": [
                    {
                        "name": "swp2",
                        "via": "LLDP",
                        "chassis": [
                            {
                                "id": [{"type": "mac", "value": "aa:bb:cc:00:00:02"}],
                                "name": [{"value": "srv2"}],
                            }
                        ],
                        "port": [
                            {
                                "id": [{"type": "mac", "value": "aa:bb:cc:00:00:02"}],
                                "descr": [{"value": "eth0"}],
                            }
                        ],
                    }
                ]
            }
        ]
    }
    (tmp_path / "sw1.json").write_text(json.dumps(doc))
    (tmp_path / "srv1.json").write_text(json.dumps({"lldp": {}}))
    obs = load_observations([str(tmp_path / "sw1.json"), str(tmp_path / "srv1.json")], design)
    assert obs.links == (("srv2:eth0", "sw1:swp2"),) and obs.reporters["lldp"] == {"sw1", "srv1"}


def test_bundle_and_both_sides_agreeing(design, tmp_path):
    doc = {
        "hall": "TINY",
        "devices": {
            "sw1": {
                "lldp": {
                    "interface": [
                        {"swp1": neighbour("srv1", "eth0")},
                        {"swp2": neighbour("srv2", "eth0")},
                    ]
                }
            },
            "srv1": {"lldp": {"interface": {"eth0": neighbour("sw1", "swp1")}}},
        },
    }
    (tmp_path / "bundle.json").write_text(json.dumps(doc))
    obs = load_observations([str(tmp_path / "bundle.json")], design)
    assert obs.links == (("srv1:eth0", "sw1:swp1"), ("srv2:eth0", "sw1:swp2"))


def test_csv_with_hall_column_and_comments(design, tmp_path):
    path = tmp_path / "n.csv"
    path.write_text(
        "# taken 2026-11-20\nhall,device,port,neighbor_device,neighbor_port\nTINY,sw1,swp1,srv1,eth0\n"
    )
    obs = load_observations([str(path)], design)
    assert obs.links == (("srv1:eth0", "sw1:swp1"),) and obs.hall == "TINY"


def problems_of(design, specs) -> list[str]:
    with pytest.raises(DesignError) as exc:
        load_observations(specs, design)
    return [str(p) for p in exc.value.problems]


def test_unknown_devices_and_ports(design, tmp_path):
    path = tmp_path / "n.csv"
    path.write_text(
        "device,port,neighbour_device,neighbour_port\nsw1,swp1,srv9,eth0\nsw1,swp99,srv1,eth0\nghost,eth0,sw1,swp3\n"
    )
    got = problems_of(design, [str(path)])
    assert (
        f"{path}:2: sw1:swp1: unknown neighbour device 'srv9': not in design 'tiny' (hall 'TINY')"
        in got
    )
    assert f"{path}:3: sw1:swp99: device 'sw1' (test-switch-1u) has no port 'swp99'" in got
    assert f"{path}: <root>: unknown device 'ghost': not in design 'tiny' (hall 'TINY')" in got


def test_duplicate_neighbours(design, tmp_path):
    path = tmp_path / "n.csv"
    path.write_text(
        "device,port,neighbour_device,neighbour_port\nsw1,swp1,srv1,eth0\nsw1,swp1,srv2,eth0\nsw1,swp2,srv1,eth0\n"
    )
    got = problems_of(design, [str(path)])
    assert any(
        p.startswith(
            f"{path}:3: sw1:swp1: duplicate neighbour: sw1:swp1 is seen linked to srv2:eth0 here and to srv1:eth0 in {path}:2"
        )
        for p in got
    )
    assert any(
        p.startswith(
            f"{path}:4: sw1:swp2: duplicate neighbour: srv1:eth0 is seen linked to sw1:swp2"
        )
        for p in got
    )


def test_the_two_sides_disagree(design, tmp_path):
    (tmp_path / "sw1.json").write_text(
        json.dumps({"lldp": {"interface": {"swp1": neighbour("srv1", "eth0")}}})
    )
    (tmp_path / "srv1.json").write_text(
        json.dumps({"lldp": {"interface": {"eth0": neighbour("sw1", "swp7")}}})
    )
    got = problems_of(design, [str(tmp_path / "sw1.json"), str(tmp_path / "srv1.json")])
    assert len(got) >= 1 and all("duplicate neighbour" in p for p in got)


def test_truncated_json(design, tmp_path):
    text = json.dumps({"lldp": {"interface": [{"swp1": neighbour("srv1", "eth0")}]}}, indent=1)
    path = tmp_path / "sw1.json"
    path.write_text(text[: len(text) // 2])
    (got,) = problems_of(design, [str(path)])
    assert "truncated JSON (the file ends in the middle of a value)" in got and got.startswith(
        f"{path}:"
    )


def test_a_different_hall(design, tmp_path):
    declared = tmp_path / "declared.csv"
    declared.write_text(
        "hall,device,port,neighbour_device,neighbour_port\nLAB1,leaf-a,swp1,srv-01,eno1\n"
    )
    strangers = tmp_path / "leaf-a.json"
    strangers.write_text(json.dumps({"lldp": {"interface": {"swp1": neighbour("srv-01", "eno1")}}}))
    got = problems_of(design, [str(declared), str(strangers)])
    assert len(got) == 2  # one clear message per file, not one per unknown device
    assert f"{declared}: hall: observations are from hall 'LAB1', the design is hall 'TINY'" in got
    assert (
        f"{strangers}: <root>: none of its 2 devices is in the design (hall 'TINY'): is it from a different hall?"
        in got
    )


def test_not_lldp_and_binary(design, tmp_path):
    (tmp_path / "x.json").write_text('{"neighbours": []}')
    (tmp_path / "y.csv").write_bytes(b"device,port\x00\n")
    got = problems_of(design, [str(tmp_path / "x.json"), str(tmp_path / "y.csv")])
    assert any("not lldpctl JSON" in p for p in got) and any("NUL" in p for p in got)


# ---------------------------------------------------------------- the command


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_exit_codes_and_files(hall, tmp_path, capsys):
    good = tmp_path / "good.csv"
    good.write_text(
        "device,port,neighbour_device,neighbour_port\nsw1,swp1,srv1,eth0\nsw1,swp2,srv2,eth0\n"
    )
    code, out, _ = run_cli(
        capsys, "reconcile", str(hall), "--observed", str(good), "-o", str(tmp_path / "ok")
    )
    assert code == 0 and "as designed" in out
    assert json.loads((tmp_path / "ok" / "fixups.json").read_text())["steps"] == []

    bad = tmp_path / "swapped.csv"
    bad.write_text(
        "device,port,neighbour_device,neighbour_port\nsw1,swp1,srv2,eth0\nsw1,swp2,srv1,eth0\n"
    )
    code, out, _ = run_cli(
        capsys, "reconcile", str(hall), "--observed", str(bad), "-o", str(tmp_path / "drift")
    )
    assert code == 1 and "swapped 2" in out
    drift = json.loads((tmp_path / "drift" / "drift.json").read_text())
    assert drift["schema"] == "fieldops.drift/1.1" and drift["counts"]["cables"]["swapped"] == 2
    fix = json.loads((tmp_path / "drift" / "fixups.json").read_text())
    assert fix["schema"] == "fieldops.workorders/2.0" and len(fix["steps"]) == 1
    from fieldops.adapters.workfiles import read_work_file

    read_work_file(tmp_path / "drift" / "fixups.json")  # loadable like any plan
    assert fix["steps"][0]["phase"] == "fixup" and fix["workorders"][0]["steps"] == [
        fix["steps"][0]["id"]
    ]

    trunc = tmp_path / "sw1.json"
    trunc.write_text('{"lldp": {"interface": {"swp1": {"chassis": {"srv1"')
    out_dir = tmp_path / "never"
    code, _, err = run_cli(
        capsys, "reconcile", str(hall), "--observed", str(trunc), "-o", str(out_dir)
    )
    assert code == 2 and "truncated JSON" in err and "nothing was written" in err
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_cli_asbuilt_record_of_another_hall(hall, tmp_path, capsys):
    rec = tmp_path / "asbuilt.json"
    rec.write_text(
        json.dumps({"schema": "fieldops.asbuilt/1.0", "hall": "LAB1", "devices": [], "cables": []})
    )
    code, _, err = run_cli(
        capsys, "reconcile", str(hall), "--asbuilt", str(rec), "-o", str(tmp_path / "o")
    )
    assert code == 2 and "as-built record is for hall 'LAB1', the design is hall 'TINY'" in err


def test_cli_asbuilt_event_log_wrong_u(hall, tmp_path, capsys):
    events = [
        {"event": "device_mounted", "device": "sw1", "rack": "R02", "position": 40, "face": "rear"},
        {
            "event": "device_mounted",
            "device": "srv1",
            "rack": "R01",
            "position": 11,
            "face": "front",
            "serial": "SN-1",
        },
        {
            "event": "device_mounted",
            "device": "srv2",
            "rack": "R03",
            "position": 10,
            "face": "front",
        },
    ]
    rec = tmp_path / "log.json"
    rec.write_text(json.dumps({"hall": "TINY", "events": events}))
    obs = tmp_path / "n.csv"
    obs.write_text(
        "device,port,neighbour_device,neighbour_port\nsw1,swp1,srv1,eth0\nsw1,swp2,srv2,eth0\n"
    )
    code, out, _ = run_cli(
        capsys,
        "reconcile",
        str(hall),
        "--observed",
        str(obs),
        "--asbuilt",
        str(rec),
        "-o",
        str(tmp_path / "o"),
    )
    assert code == 1 and "wrong u 1" in out
    fix = json.loads((tmp_path / "o" / "fixups.json").read_text())
    assert [s["title"] for s in fix["steps"]] == ["Move srv1 to R01 U10 front"]
    rec2 = json.loads((tmp_path / "o" / "asbuilt.json").read_text())
    assert {d["name"]: d["serial"] for d in rec2["devices"]}["srv1"] == "SN-1"
