"""Benchmark: work-order planning for a big synthetic hall (built in memory).

Run: ``.venv/bin/python benchmarks/bench_workplan.py [--racks 1000] [--cables 100000]
[--crew 20] [--robots 10]``. Prints wall time and memory per stage of ``build_work_plan``
(taken from its progress callback), plus writing ``workorders.json``/``schedule.csv``.
Target (issue 4): 1,000 racks, 100,000 data cables, all phases, a crew of 20 and 10 robots in
under 30 s and under 2 GB.

Per rack: two zero-U PDUs (A and B feed), an 8U 75 kg GPU server at U2 (over a technician's
23 kg: the lift robots mount it), 16 1U servers at U12-U27, a leaf switch at U42; two power
cords per device. Data cables: every server port to its rack's leaf, the rest leaf-to-leaf
across the hall. Memory: the process's peak RSS after each stage (``ru_maxrss``) and the
Python heap's peak per stage (tracemalloc, in a second, slower run with ``--heap``).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import load_note, rss_mb  # noqa: E402
from fieldops.core.model import (  # noqa: E402
    FRONT,
    REAR,
    Cable,
    Design,
    Device,
    DeviceType,
    Media,
    PortTemplate,
    RobotProfile,
    Termination,
    frozen_map,
)
from fieldops.core.workorder import KINDS  # noqa: E402
from tests.samples_routing import ROW_AOC, cross_hall_cables, row_dac, row_floorplan  # noqa: E402


def big_design(n_racks: int = 1000, n_cables: int = 100_000, seed: int = 11) -> Design:
    """The ROW hall of tests/samples_routing.py with power trays and a staging area, equipped
    as the module docstring says."""
    rng = random.Random(seed)
    fp = row_floorplan(n_racks, rack_weight_kg=60, power_trays=True, staging=True)
    racks = fp.racks
    psu = (
        PortTemplate("PSU1", "power-port", "iec-60320-c14", maximum_draw_w=400),
        PortTemplate("PSU2", "power-port", "iec-60320-c14", maximum_draw_w=400),
    )
    server = DeviceType(
        "Gen",
        "Server 1U",
        "srv",
        1,
        True,
        20,
        "front-to-rear",
        (
            PortTemplate("bmc", "interface", "1000base-t", True),
            *(PortTemplate(f"p{i}", "interface", "100gbase-x-qsfp28") for i in range(3)),
            *psu,
        ),
    )
    gpu = DeviceType(
        "Gen",
        "GPU 8U",
        "gpu",
        8,
        True,
        75,
        "front-to-rear",
        (
            PortTemplate("bmc", "interface", "1000base-t", True),
            *(PortTemplate(f"p{i}", "interface", "100gbase-x-qsfp28") for i in range(3)),
            *psu,
        ),
    )
    switch = DeviceType(
        "Gen",
        "Leaf",
        "sw",
        1,
        True,
        10,
        "front-to-rear",
        (*(PortTemplate(f"s{i}", "interface", "100gbase-x-qsfp28") for i in range(400)), *psu),
    )
    pdu = DeviceType(
        "Gen",
        "PDU",
        "pdu",
        0,
        True,
        12,
        "",
        (
            PortTemplate("Inlet", "power-port", "iec-60309"),
            *(
                PortTemplate(f"Outlet{i}", "power-outlet", "iec-60320-c13", feed_leg="ABC"[i % 3])
                for i in range(1, 37)
            ),
        ),
    )
    devices, cables = [], []
    used_sw = {r.name: 0 for r in racks}
    data = 0
    for rack in racks:
        n = rack.name
        devices += [
            Device(f"{n}-pdu-a", "pdu", n, None, REAR, "pdu"),
            Device(f"{n}-pdu-b", "pdu", n, None, REAR, "pdu"),
        ]
        devices.append(Device(f"{n}-gpu", "gpu", n, 2, FRONT, "gpu-server", f"GPU-{n}"))
        devices += [
            Device(f"{n}-s{s:02d}", "srv", n, 12 + s, FRONT, "server", f"SRV-{n}-{s:02d}")
            for s in range(16)
        ]
        devices.append(Device(f"{n}-leaf", "sw", n, 42, REAR, "leaf"))
        outlet = 1
        for d in (f"{n}-gpu", *(f"{n}-s{s:02d}" for s in range(16)), f"{n}-leaf"):
            for psu_name, feed in (("PSU1", "a"), ("PSU2", "b")):
                cables.append(
                    Cable(
                        Termination(d, psu_name),
                        Termination(f"{n}-pdu-{feed}", f"Outlet{outlet}"),
                        "cord",
                    )
                )
            outlet += 1
        for d in (f"{n}-gpu", *(f"{n}-s{s:02d}" for s in range(16))):
            for port in ("bmc", "p0", "p1", "p2"):
                if data >= n_cables:
                    break
                cables.append(
                    Cable(Termination(d, port), Termination(f"{n}-leaf", f"s{used_sw[n]}"), "dac")
                )
                used_sw[n] += 1
                data += 1
    cables += cross_hall_cables(rng, racks, used_sw, n_cables - data, "-leaf")
    media = {
        "dac": row_dac("dac"),
        "aoc": ROW_AOC,
        "cord": Media(
            "cord",
            "Power cord C13/C14",
            "power",
            "power",
            (1000, 1500, 2000, 3000),
            "PWR-{length_m}M",
            30,
            100,
            0,
        ),
    }
    types = {"srv": server, "gpu": gpu, "sw": switch, "pdu": pdu}
    return Design(
        "big", "1", fp, frozen_map(types), tuple(devices), tuple(cables), frozen_map(media)
    )


def team_of(crew: int, robots: int) -> list[RobotProfile]:
    tech = RobotProfile(
        "technician",
        "technician",
        actions=KINDS,  # a technician can do every kind of step
        payload_kg=23,
        u_min=1,
        u_max=42,
        speed_m_s=1.0,
        action_time_s=frozen_map(
            {
                "place_rack": 1800,
                "install_rails": 300,
                "mount_device": 600,
                "connect_power": 120,
                "run_cable": 240,
                "burnin_check": 900,
                "verify_rack": 600,
            }
        ),
    )
    lift = RobotProfile(
        "lift-robot",
        "robot",
        "FieldBotics",
        "LIFT",
        ("mount_device",),
        120,
        1,
        44,
        0.8,
        900,
        frozen_map({"mount_device": 420}),
    )
    cabler = RobotProfile(
        "cabling-robot",
        "robot",
        "FieldBotics",
        "CABLE",
        ("run_cable", "connect_power"),
        10,
        1,
        42,
        0.6,
        700,
        frozen_map({"run_cable": 180, "connect_power": 90}),
    )
    return [
        replace(tech, count=crew),
        replace(lift, count=robots - robots // 2),
        replace(cabler, count=robots // 2),
    ]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--racks", type=int, default=1000)
    ap.add_argument(
        "--cables", type=int, default=100_000, help="data cables (power cords come on top)"
    )
    ap.add_argument("--crew", type=int, default=20)
    ap.add_argument("--robots", type=int, default=10)
    ap.add_argument("--heap", action="store_true", help="also trace the Python heap (slower)")
    args = ap.parse_args(argv)

    from fieldops.adapters.workfiles import write_work_files
    from fieldops.core.routing import build_cable_plan
    from fieldops.core.walking import WalkGraph
    from fieldops.core.workplan import build_work_plan

    t = time.perf_counter()
    design = big_design(args.racks, args.cables)
    print(
        f"synthetic hall: {len(design.floorplan.racks):,} racks, {len(design.devices):,} devices, {len(design.cables):,} cables ({time.perf_counter() - t:.1f} s)",
        flush=True,
    )
    t = time.perf_counter()
    plan = build_cable_plan(design)
    walk = WalkGraph(design)
    print(
        f"inputs: cable plan ({len(plan.runs):,} runs) + walking graph in {time.perf_counter() - t:.1f} s (issue 3's stages, not counted below)",
        flush=True,
    )
    team = team_of(args.crew, args.robots)

    def run(trace: bool):
        marks: list[
            tuple[str, float, float, float, float]
        ] = []  # (stage, wall, rss, heap peak, cpu)

        def mark(msg: str) -> None:
            if msg.startswith("scheduling:"):
                return
            heap = 0.0
            if trace:
                heap = tracemalloc.get_traced_memory()[1] / 1e6
                tracemalloc.reset_peak()
            marks.append(
                (
                    msg.removeprefix("work orders: "),
                    time.perf_counter(),
                    rss_mb(),
                    heap,
                    time.process_time(),
                )
            )

        if trace:
            tracemalloc.start()
        t0 = time.perf_counter()
        work = build_work_plan(design, plan, team, walk, progress=mark)
        mark("write workorders.json + schedule.csv")
        with tempfile.TemporaryDirectory() as tmp:
            files = write_work_files(design, work, tmp)
            sizes = {f.name: f.stat().st_size for f in files}
        mark("done")
        if trace:
            tracemalloc.stop()
        return work, marks, time.perf_counter() - t0, sizes

    work, marks, total, sizes = run(False)
    heaps = run(True)[1] if args.heap else None
    print(f"\n{load_note()} (wall time suffers when others run; CPU time less so)")
    print(
        f"{'stage':62} {'wall s':>7} {'CPU s':>7} {'peak RSS MB':>12}"
        + (f" {'heap peak MB':>13}" if heaps else "")
    )
    for k in range(len(marks) - 1):
        name, t0, _, _, c0 = marks[k]
        _, t1, rss, _, c1 = marks[k + 1]
        extra = f" {heaps[k + 1][3]:13.0f}" if heaps else ""
        print(f"{name[:62]:62} {t1 - t0:7.2f} {c1 - c0:7.2f} {rss:12.0f}{extra}")
    print(
        f"{'total (build_work_plan + files)':62} {total:7.2f} {marks[-1][4] - marks[0][4]:7.2f} {rss_mb():12.0f}"
    )
    print(
        f"\n{len(work.steps):,} steps, {len(work.workorders):,} work orders, {sizes.get('workorders.json', 0) / 1e6:,.0f} MB workorders.json"
    )
    print("\n".join(work.summary_lines()[:1] + work.summary_lines()[-3:]))
    by_kind: dict[str, int] = {}
    for m in work.team:
        by_kind[m.profile] = by_kind.get(m.profile, 0) + 1
    busy: dict[str, float] = {}
    for s in work.steps:
        busy[s.assignee.rsplit("-", 1)[0]] = busy.get(s.assignee.rsplit("-", 1)[0], 0.0) + (
            s.end_s - s.start_s
        )
    print(
        "busy hours per profile: "
        + ", ".join(
            f"{p} {busy.get(p, 0) / 3600:,.0f} h over {n}" for p, n in sorted(by_kind.items())
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
