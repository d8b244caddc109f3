"""Plans do not depend on declaration order: the same design with its devices, cables and racks
in another order (a NetBox export sorted by name, a file someone re-ordered) gives the same work
orders, steps and cable IDs."""

from __future__ import annotations

import dataclasses
import functools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldops import services
from fieldops.adapters.designfile import load_design
from fieldops.core.model import canonical
from fieldops.core.workorder import step_to_dict
from tests.samples import LAB_HALL


@functools.cache
def lab_hall():
    return load_design(LAB_HALL)


def plan_of(design) -> dict:
    """Everything a person sees of a plan: work orders, every step, every cable's ID and length."""
    plan = services.build_plan(dataclasses.replace(lab_hall(), design=design))
    return {
        "workorders": [
            (wo.id, wo.assignee, wo.area, wo.steps, wo.walking_m) for wo in plan.work.workorders
        ],
        "steps": [step_to_dict(s) for s in plan.work.steps],
        "cables": sorted(
            (r.id, r.a.device, r.a.port, r.a.label, r.b.label, r.ordered_mm)
            for r in plan.cable_plan.runs
        ),
    }


@functools.cache
def declared_plan() -> dict:
    return plan_of(lab_hall().design)


def test_canonical_sorts_racks_devices_and_cables_and_changes_nothing_else():
    design = lab_hall().design
    shuffled = dataclasses.replace(
        design,
        devices=design.devices[::-1],
        cables=design.cables[::-1],
        floorplan=dataclasses.replace(design.floorplan, racks=design.floorplan.racks[::-1]),
    )
    c = canonical(shuffled)
    assert [d.name for d in c.devices] == sorted(d.name for d in design.devices)
    assert [r.name for r in c.floorplan.racks] == sorted(r.name for r in design.floorplan.racks)
    assert [x.key for x in c.cables] == sorted(x.key for x in design.cables)
    assert set(c.devices) == set(design.devices) and set(c.cables) == set(design.cables)
    assert canonical(c) == c  # idempotent


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_shuffled_design_gives_identical_work_orders_steps_and_cable_ids(data):
    design = lab_hall().design
    devices = data.draw(st.permutations(design.devices), label="devices")
    cables = data.draw(st.permutations(design.cables), label="cables")
    racks = data.draw(st.permutations(design.floorplan.racks), label="racks")
    shuffled = dataclasses.replace(
        design,
        devices=tuple(devices),
        cables=tuple(cables),
        floorplan=dataclasses.replace(design.floorplan, racks=tuple(racks)),
    )
    got = plan_of(shuffled)
    want = declared_plan()
    assert len(got["workorders"]) == len(want["workorders"])
    assert got["workorders"] == want["workorders"]
    assert got["steps"] == want["steps"]
    assert got["cables"] == want["cables"]
