"""Cable IDs are decided once, for the whole design, by ``assign_cable_ids``: routing, reconcile,
revisions and the NetBox export take them from there and never route a design to learn one."""

from __future__ import annotations

import pytest

from fieldops import services
from fieldops.cli import main
from fieldops.core import routing
from fieldops.core.labels import assign_cable_ids
from fieldops.core.model import Cable, Termination
from tests.samples import GPU_HALL, LAB_HALL


@pytest.mark.parametrize("hall", [LAB_HALL, GPU_HALL], ids=["lab-hall", "gpu-hall"])
def test_the_routed_plan_carries_the_ids_assign_cable_ids_decided(hall):
    design = services.load_valid_design(hall).design
    ids, warnings = assign_cable_ids(design.cables)
    plan = routing.build_cable_plan(design)
    routed = {
        tuple(sorted((f"{r.a.device}:{r.a.port}", f"{r.b.device}:{r.b.port}"))): r.id
        for r in plan.runs
    }
    assert routed == ids
    assert warnings == []


def test_an_unroutable_cable_takes_part_in_collisions_like_any_other():
    """Same IDs whether or not a cable routes: the set decides, not the router."""
    a = Cable(Termination("srv-01", "eno1"), Termination("leaf-a", "swp1"), "dac", label="X")
    b = Cable(Termination("srv-02", "eno1"), Termination("leaf-a", "swp2"), "dac", label="X")
    ids, warnings = assign_cable_ids([a, b])
    assert len(set(ids.values())) == 2 and len(warnings) == 1
    assert assign_cable_ids([b, a])[0] == ids  # declaration order does not matter


def test_reconcile_does_not_route_the_design(tmp_path, monkeypatch, capsys):
    def refuse(*_a, **_k):
        raise AssertionError("routed the design to learn cable IDs")  # pragma: no cover

    monkeypatch.setattr(routing, "build_cable_plan", refuse)
    observed = tmp_path / "links.csv"
    observed.write_text("device,port,neighbour_device,neighbour_port\n")
    code = main(
        ["reconcile", str(LAB_HALL), "--observed", str(observed), "-o", str(tmp_path / "r")]
    )
    assert code in (0, 1), capsys.readouterr().err
