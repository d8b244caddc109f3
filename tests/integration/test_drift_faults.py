"""Faults injected at random into complete observation sets are all named, with the right
category, and nothing else is: issue 23's acceptance test.

For both sample halls and for halls fieldops has never seen (expanded from the built-in
blueprints with other parameters), and for a fixed set of seeds: build the world as designed,
let technicians get some of it wrong (:func:`tests.observations.inject`: cables left out, two
ends swapped, an end in a wrong port or device, a cable nobody designed; Ethernet and
InfiniBand), collect what the floor can observe (``lldpctl -f json`` from every device with
Ethernet ports, in per-device files and per-rack bundles; ``ibnetdiscover`` or ``iblinkinfo``
per InfiniBand fabric), run ``fieldops reconcile`` on those files and check:

* every injected fault is named, with its category, on exactly the cables it touched;
* no other drift item (0 on cables nobody touched: they are as designed, and the ones no source
  can see, power cords and console cables, are unobserved, never missing);
* the fix-up steps, applied to the as-built record, leave no drift.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from fieldops.adapters.blueprintfile import load_blueprint, write_design
from fieldops.adapters.designfile import load_design
from fieldops.cli import main
from fieldops.core import asbuilt as ab
from fieldops.core.blueprint import expand_blueprint, resolve_params
from tests.observations import (
    ETHERNET,
    INFINIBAND,
    World,
    inject,
    write_infiniband,
    write_lldp,
)
from tests.samples import GPU_HALL, LAB_HALL

SEEDS = (11, 23, 37)
# gpu-hall's DGX H100s number their HCAs as the hosts enumerate them by PCI address, not in
# port order: the map (a side file, as a site would write it) is what makes ib3 mlx5_5
DGX_HCAS = {
    "ib0": "mlx5_0",
    "ib1": "mlx5_3",
    "ib2": "mlx5_4",
    "ib3": "mlx5_5",
    "ib4": "mlx5_6",
    "ib5": "mlx5_9",
    "ib6": "mlx5_10",
    "ib7": "mlx5_11",
    "slot1-p1": "mlx5_1",
    "slot2-p1": "mlx5_7",
}
UNSEEN = {  # blueprint -> parameters fieldops' own samples do not use
    "lab-ethernet": {"racks": 3, "servers_per_rack": 5, "racks_per_row": 4},
    "dgx-h100-superpod": {"su_count": 1, "units_per_row": 1},
    "gb200-nvl72": {"su_count": 1, "units_per_row": 1},
}


@pytest.fixture(scope="module")
def halls(tmp_path_factory) -> dict[str, tuple[Path, Path | None, dict]]:
    """name -> (design folder, InfiniBand map file or None, HCA names by device type)."""
    root = tmp_path_factory.mktemp("halls")
    out = {"lab-hall": (LAB_HALL, None, {}), "gpu-hall": (GPU_HALL, None, {})}
    ib_map = root / "gpu-hall-ib-map.yaml"
    ib_map.write_text(
        "hcas:\n  nvidia-dgx-h100:\n"
        + "".join(f"    {hca}: {port}\n" for port, hca in sorted(DGX_HCAS.items()))
    )
    out["gpu-hall"] = (GPU_HALL, ib_map, {"nvidia-dgx-h100": DGX_HCAS})
    for name, params in UNSEEN.items():
        lb = load_blueprint(name)
        exp = expand_blueprint(lb.blueprint, resolve_params(lb.blueprint, params), lb.device_types)
        write_design(lb, exp, root / name, force=True)
        out[f"unseen-{name}"] = (root / name, None, {})
    return out


def fault_plan(rng: random.Random) -> dict:
    def kinds() -> dict:
        return {
            "missing": rng.randint(1, 3),
            "swapped": rng.randint(1, 2),
            "wrong_port": rng.randint(1, 2),
            "unexpected": rng.randint(0, 1),
        }

    return {ETHERNET: kinds(), INFINIBAND: kinds()}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    "hall",
    [
        "lab-hall",
        "gpu-hall",
        "unseen-lab-ethernet",
        "unseen-dgx-h100-superpod",
        "unseen-gb200-nvl72",
    ],
)
def test_injected_faults_are_named_and_nothing_else(halls, hall, seed, tmp_path, capsys):
    folder, ib_map, hca_names = halls[hall]
    design = load_design(folder).design
    rng = random.Random(seed)
    world = World(design, hca_names={k: dict(v) for k, v in hca_names.items()})
    faults = inject(world, rng, fault_plan(rng))
    assert faults, "the hall left room for no fault at all"
    files = write_lldp(world, tmp_path / "lldp", rng) + write_infiniband(
        world, tmp_path / "ib", rng
    )
    out = tmp_path / "out"
    argv = ["reconcile", str(folder), "--observed", *files, "-o", str(out), "--format", "json"]
    if ib_map is not None:
        argv += ["--ib-map", str(ib_map)]
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 1, captured.err
    drift = json.loads((out / "drift.json").read_text())
    by_id = {c["cable"]: c for c in drift["cables"]}

    expected: dict[str, str] = {}
    for f in faults:
        if f.kind == "unexpected":
            ref = ab.unknown_ref(*f.link)
            assert by_id[ref]["status"] == "unexpected", (f, by_id.get(ref))
            assert by_id[ref]["observed"] == list(f.link)
            expected[ref] = "unexpected"
            continue
        for cid in f.cables:
            assert by_id[cid]["status"] == f.kind, (hall, seed, f, by_id[cid])
            expected[cid] = f.kind
        if f.kind == "swapped":
            a, b = f.cables
            assert by_id[a]["partner"] == b and by_id[b]["partner"] == a
    # nothing but the injected faults is drift ...
    named = {i["id"]: i["status"] for i in drift["items"]}
    assert named == expected
    # ... the cables nobody touched are as designed where a source looks, unobserved elsewhere
    touched = set(expected)
    for cable in design.cables:
        cid = world.ids[cable.key]
        if cid in touched:
            continue
        want = "as_designed" if world.cable_cls(cable) in (ETHERNET, INFINIBAND) else "unobserved"
        assert by_id[cid]["status"] == want, (hall, seed, by_id[cid])
    assert drift["counts"]["cables"]["missing"] == sum(
        1 for s in expected.values() if s == "missing"
    )

    # the fix-up steps put it right: the record they leave has no drift
    fixups = json.loads((out / "fixups.json").read_text())["steps"]
    record = ab.from_dict(json.loads((out / "asbuilt.json").read_text()))
    fixed = ab.apply_all(record, [ab.StepDone(s["id"], s["action"]) for s in fixups])
    keys = {tuple(sorted((str(c.a), str(c.b)))) for c in design.cables}
    assert {tuple(ends) for ends in fixed.cables.values() if len(ends) == 2} <= keys
    seen_before = {c["cable"] for c in drift["cables"] if c["status"] != "unobserved"}
    assert {world.ids[k] for k in keys if world.ids[k] in seen_before} <= {
        ref for ref, ends in fixed.cables.items() if len(ends) == 2
    }
