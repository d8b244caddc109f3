"""How `fieldops validate` scales: load + validate synthetic halls up to 2,000 racks / 100,000 cables.

Run: .venv/bin/python benchmarks/bench_validate.py [--max-racks 2000]

Each size is a hall of rows of 42U racks (hot aisles between row pairs, trays over the rows),
4 x 2U GPU servers, a leaf switch and 2 zero-U PDUs per rack, 50 cables per rack (server NICs to
the rack's leaf, leaf uplinks to the next rack's leaf, PSUs to PDUs), written as YAML files and
validated through services.validate_design. Prints one table row per size: seconds to load,
seconds to validate, and microseconds per cable, so linear scaling shows as a flat last column.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fieldops.adapters.designfile import load_design  # noqa: E402
from fieldops.core.validate import validate  # noqa: E402

RACKS_PER_ROW = 20
RACK_W, RACK_D, AISLE = 600, 1200, 1200

SERVER = """\
manufacturer: Bench
model: GPU 2U
slug: bench-gpu-2u
u_height: 2
is_full_depth: true
weight: 40
weight_unit: kg
interfaces:
{nics}
power-ports:
  - {{name: PSU1, type: iec-60320-c14, maximum_draw: 1200}}
  - {{name: PSU2, type: iec-60320-c14, maximum_draw: 1200}}
"""
LEAF = """\
manufacturer: Bench
model: Leaf 1U
slug: bench-leaf-1u
u_height: 1
is_full_depth: false
weight: 10
weight_unit: kg
interfaces:
{ports}
power-ports:
  - {{name: PSU1, type: iec-60320-c14, maximum_draw: 300}}
"""
PDU = """\
manufacturer: Bench
model: PDU 0U
slug: bench-pdu-0u
u_height: 0
is_full_depth: false
weight: 8
weight_unit: kg
power-ports:
  - {name: INLET, type: iec-60309-p-n-e-6h, maximum_draw: 17000}
power-outlets:
""" + "".join(f"  - {{name: O{i}, type: iec-60320-c13}}\n" for i in range(1, 25))


def write_hall(root: Path, n_racks: int) -> int:
    rows = (n_racks + RACKS_PER_ROW - 1) // RACKS_PER_ROW
    pitch_y = RACK_D + AISLE
    width = 2000 + RACKS_PER_ROW * RACK_W + 2000
    depth = 2000 + rows * pitch_y + 2000
    (root / "types").mkdir(parents=True)
    (root / "types" / "server.yaml").write_text(
        SERVER.format(nics="\n".join(f"  - {{name: nic{i}, type: 10gbase-t}}" for i in range(10)))
    )
    (root / "types" / "leaf.yaml").write_text(
        LEAF.format(ports="\n".join(f"  - {{name: swp{i}, type: 10gbase-t}}" for i in range(1, 49)))
    )
    (root / "types" / "pdu.yaml").write_text(PDU)
    fp = [
        "hall: BENCH",
        f"outline: [[0, 0], [{width}, 0], [{width}, {depth}], [0, {depth}]]",
        "rack_types: [{slug: r42, width_mm: 600, depth_mm: 1200, u_height: 42, max_kw: 15, max_kg: 1000}]",
        "trays:",
    ]
    fp += [
        f"  - {{name: T{r}, media: [copper, fibre], points: [[1700, {2000 + r * pitch_y + RACK_D // 2}], [{2300 + RACKS_PER_ROW * RACK_W}, {2000 + r * pitch_y + RACK_D // 2}]]}}"
        for r in range(rows)
    ]
    fp.append("rows:")
    for r in range(rows):
        count = min(RACKS_PER_ROW, n_racks - r * RACKS_PER_ROW)
        # rotation 180 rows run towards -x: start them at the east end
        x0 = 2000 + RACK_W // 2 + (0 if r % 2 == 0 else (count - 1) * RACK_W)
        fp.append(
            f"  - {{name: R{r:03d}-, rack_type: r42, count: {count}, first: [{x0}, {2000 + r * pitch_y + RACK_D // 2}], rotation_deg: {0 if r % 2 == 0 else 180}}}"
        )
    (root / "floorplan.yaml").write_text("\n".join(fp) + "\n")
    names = [f"R{r:03d}-{i:02d}" for r in range(rows) for i in range(1, RACKS_PER_ROW + 1)][
        :n_racks
    ]
    devices, cables = ["devices:"], ["cables:"]
    for k, rack in enumerate(names):
        devices.append(
            f"  - {{name: {rack}-leaf, device_type: bench-leaf-1u, rack: {rack}, position: 40, face: rear}}"
        )
        for side in "ab":
            devices.append(
                f"  - {{name: {rack}-pdu{side}, device_type: bench-pdu-0u, rack: {rack}}}"
            )
        devices.append(
            f"  - {{name: {rack}-leaf2, device_type: bench-leaf-1u, rack: {rack}, position: 39, face: rear}}"
        )
        port = 1
        for s in range(4):
            srv = f"{rack}-gpu{s}"
            devices.append(
                f"  - {{name: {srv}, device_type: bench-gpu-2u, rack: {rack}, position: {2 + 2 * s}}}"
            )
            for nic in range(10):
                target = f"{rack}-leaf:swp{port}" if port <= 48 else f"{rack}-leaf2:swp{port - 48}"
                cables.append(f"  - {{a: '{srv}:nic{nic}', b: '{target}', media: cat6a}}")
                port += 1
            cables.append(
                f"  - {{a: '{srv}:PSU1', b: '{rack}-pdua:O{s + 1}', media: power-c13-c14}}"
            )
            cables.append(
                f"  - {{a: '{srv}:PSU2', b: '{rack}-pdub:O{s + 1}', media: power-c13-c14}}"
            )
        nxt = names[(k + 1) % len(names)]
        for u in range(1, 3):
            cables.append(
                f"  - {{a: '{rack}-leaf2:swp{40 + u}', b: '{nxt}-leaf2:swp{44 + u}', media: cat6a}}"
            )
    (root / "elevations.yaml").write_text("\n".join(devices) + "\n")
    (root / "connections.yaml").write_text("\n".join(cables) + "\n")
    (root / "design.yaml").write_text(
        "name: bench\nfloorplan: floorplan.yaml\ndevice_types: [types]\nelevations: elevations.yaml\nconnections: connections.yaml\n"
    )
    return len(cables) - 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-racks", type=int, default=2000)
    args = ap.parse_args()
    sizes = [s for s in (125, 250, 500, 1000, 2000) if s <= args.max_racks]
    print(
        f"{'racks':>6} {'devices':>8} {'cables':>8} {'MB':>6} {'load s':>8} {'validate s':>11} {'total s':>8} {'µs/cable':>9} {'errors':>7}"
    )
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            n_cables = write_hall(root, n)
            mb = sum(p.stat().st_size for p in root.rglob("*.yaml")) / 1e6
            t0 = time.perf_counter()
            loaded = load_design(root)
            t1 = time.perf_counter()
            problems = validate(loaded.design)
            t2 = time.perf_counter()
            errs = [p for p in loaded.problems + problems if p.severity == "error"]
            d = loaded.design
            print(
                f"{len(d.floorplan.racks):>6} {len(d.devices):>8} {len(d.cables):>8} {mb:>6.1f} {t1 - t0:>8.2f} {t2 - t1:>11.2f} {t2 - t0:>8.2f} "
                f"{(t2 - t0) / n_cables * 1e6:>9.1f} {len(errs):>7}"
            )
            if errs:
                print("   first error:", errs[0])


if __name__ == "__main__":
    main()
