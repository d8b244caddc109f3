"""Canonical sample halls and designs reused by every test (shapely's tests/common.py habit).

``write_design`` turns plain dicts into a design directory on disk, so a test states exactly
the hall it needs; ``tiny_*`` return the dicts of a small, valid hall to start from.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
LAB_HALL = REPO / "floorplans" / "lab-hall"
GPU_HALL = REPO / "floorplans" / "gpu-hall"

SERVER_TYPE = {
    "manufacturer": "Generic",
    "model": "Test Server 1U",
    "slug": "test-server-1u",
    "u_height": 1,
    "is_full_depth": True,
    "weight": 15,
    "weight_unit": "kg",
    "airflow": "front-to-rear",
    "interfaces": [
        {"name": "bmc", "type": "1000base-t", "mgmt_only": True},
        {"name": "eth0", "type": "10gbase-t"},
        {"name": "p0", "type": "100gbase-x-qsfp28"},
    ],
    "power-ports": [{"name": "PSU1", "type": "iec-60320-c14", "maximum_draw": 500}],
}

SWITCH_TYPE = {
    "manufacturer": "Generic",
    "model": "Test Switch 1U",
    "slug": "test-switch-1u",
    "u_height": 1,
    "is_full_depth": False,
    "weight": 8,
    "weight_unit": "kg",
    "interfaces": [{"name": f"swp{i}", "type": "10gbase-t"} for i in range(1, 17)]
    + [{"name": f"up{i}", "type": "100gbase-x-qsfp28"} for i in range(1, 5)],
    "power-ports": [{"name": "PSU1", "type": "iec-60320-c14", "maximum_draw": 150}],
}


def tiny_floorplan() -> dict:
    """One row of 3 racks (fronts face -y) in a 6 m x 6 m hall, a tray above the row.

    Rack centres: R01 (1800, 3000), R02 (2400, 3000), R03 (3000, 3000); 600 x 1200 mm.
    """
    return {
        "hall": "TINY",
        "outline": [[0, 0], [6000, 0], [6000, 6000], [0, 6000]],
        "grid": {"pitch_mm": 600, "prefix": "1A"},
        "waypoints": [{"name": "DOOR", "kind": "door", "position": [300, 300]}],
        "trays": [
            {
                "name": "T1",
                "media": ["copper", "fibre"],
                "elevation_mm": 2500,
                "width_mm": 300,
                "points": [[1200, 3000], [3600, 3000]],
            }
        ],
        "rack_types": [
            {
                "slug": "r42",
                "width_mm": 600,
                "depth_mm": 1200,
                "u_height": 42,
                "max_kw": 10,
                "max_kg": 800,
            }
        ],
        "racks": [
            {"name": "R01", "rack_type": "r42", "position": [1800, 3000]},
            {"name": "R02", "rack_type": "r42", "position": [2400, 3000]},
            {"name": "R03", "rack_type": "r42", "position": [3000, 3000]},
        ],
    }


def tiny_devices() -> list[dict]:
    return [
        {
            "name": "sw1",
            "device_type": "test-switch-1u",
            "rack": "R02",
            "position": 40,
            "face": "rear",
        },
        {"name": "srv1", "device_type": "test-server-1u", "rack": "R01", "position": 10},
        {"name": "srv2", "device_type": "test-server-1u", "rack": "R03", "position": 10},
    ]


def tiny_cables() -> list[dict]:
    return [
        {"a": "srv1:eth0", "b": "sw1:swp1", "media": "cat6a"},
        {"a": "srv2:eth0", "b": "sw1:swp2", "media": "cat6a"},
    ]


def write_design(
    root: Path,
    floorplan: dict | None = None,
    devices: list[dict] | None = None,
    cables: list[dict] | None = None,
    device_types: list[dict] | None = None,
    design_extra: dict | None = None,
) -> Path:
    """Write a design directory under ``root`` and return it."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "types").mkdir(exist_ok=True)
    for dt in device_types if device_types is not None else [SERVER_TYPE, SWITCH_TYPE]:
        (root / "types" / f"{dt['slug']}.yaml").write_text(yaml.safe_dump(dt, sort_keys=False))
    (root / "floorplan.yaml").write_text(
        yaml.safe_dump(floorplan if floorplan is not None else tiny_floorplan(), sort_keys=False)
    )
    (root / "elevations.yaml").write_text(
        yaml.safe_dump(
            {"devices": devices if devices is not None else tiny_devices()}, sort_keys=False
        )
    )
    (root / "connections.yaml").write_text(
        yaml.safe_dump({"cables": cables if cables is not None else tiny_cables()}, sort_keys=False)
    )
    design = {
        "name": "tiny",
        "revision": "1",
        "floorplan": "floorplan.yaml",
        "device_types": ["types"],
        "elevations": "elevations.yaml",
        "connections": "connections.yaml",
    }
    design.update(design_extra or {})
    (root / "design.yaml").write_text(yaml.safe_dump(design, sort_keys=False))
    return root


def copy_dicts(x):
    return copy.deepcopy(x)
