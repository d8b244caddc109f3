"""Delivery from the dock (fieldops.core.delivery) on a hall small enough to check by hand.

    y=6000 +-----------------------------------------------+
           |                                     DOCK x    |   DOCK (8000, 5000)
           |        . turn-in (3000, 2971)                 |
           |      [R1]  front faces +y (rotation 180)      |   R1 600 x 1200 at (3000, 1600):
    y=0    +-----------------------------------------------+   y 1000..2200, front at y 2200
          x=0                                          x=10000

A 600 x 1200 rack pivots in a circle of hypot(600, 1200) + 2 x 100 = 1,542 mm, so its centre
turns 771 mm out from its front (y 2,971); it travels in an 800 mm lane (600 + 2 x 100).
"""

from __future__ import annotations

import math

import pytest

from fieldops.core.delivery import Deliveries, check_floor_load
from fieldops.core.model import (
    Design,
    Device,
    DeviceType,
    FloorPlan,
    Obstacle,
    Rack,
    RackType,
    Source,
    Waypoint,
)

RT = RackType("r48", width_mm=600, depth_mm=1200, u_height=48, weight_kg=250)
RACK = Rack("R1", "r48", (3000, 1600), rotation_deg=180, source=Source("floorplan.yaml", 20))
DOCK = Waypoint("DOCK", "dock", (8000, 5000))


def _design(*, obstacles=(), waypoints=(DOCK,), floor_load=0.0, devices=()) -> Design:
    fp = FloorPlan(
        "H",
        ((0, 0), (10000, 0), (10000, 6000), (0, 6000)),
        obstacles=tuple(obstacles),
        waypoints=tuple(waypoints),
        rack_types={"r48": RT},
        racks=(RACK,),
        floor_load_kg_m2=floor_load,
    )
    heavy = DeviceType("Generic", "cdu", "cdu", u_height=42, weight_kg=900)
    return Design("d", "r1", fp, {"cdu": heavy}, tuple(devices), (), {})


def _wall_with_gap(gap_mm: int) -> tuple[Obstacle, Obstacle]:
    """A wall at x 5000-5200 from floor to ceiling, open between y 2000 and 2000 + gap."""
    return (
        Obstacle("wall-s", "keepout", ((5000, 0), (5200, 0), (5200, 2000), (5000, 2000))),
        Obstacle(
            "wall-n",
            "keepout",
            ((5000, 2000 + gap_mm), (5200, 2000 + gap_mm), (5200, 6000), (5000, 6000)),
        ),
    )


def test_an_open_hall_gives_the_straight_way_to_the_turning_place():
    d = Deliveries(_design()).rack(RACK, 250)
    assert d.problems == ()
    assert d.path[0] == (8000, 5000) and d.path[-1] == pytest.approx((3000, 2971), abs=0.1)
    assert len(d.path) == 2 and d.length_mm == pytest.approx(math.hypot(5000, 2029), abs=0.2)
    assert d.action()["path"] == [[8000, 5000], [3000, 2971]]


def test_a_gap_narrower_than_the_load_lane_is_no_way_and_says_how_wide_it_must_be():
    d = Deliveries(_design(obstacles=_wall_with_gap(700))).rack(RACK, 250)
    assert d.path == () and d.problems == (
        "rack 'R1' cannot be brought from DOCK to rack 'R1': no aisle at least 800 mm wide "
        "(600 mm + 2 x 100 mm) reaches its front",
    )
    wider = Deliveries(_design(obstacles=_wall_with_gap(900))).rack(RACK, 250)
    assert wider.problems == () and len(wider.path) > 2  # through the gap


def test_a_door_on_the_way_must_let_the_load_through():
    door = Waypoint("DOOR-2", "door", (5100, 2450), width_mm=650, height_mm=2300)
    design = _design(obstacles=_wall_with_gap(900), waypoints=(DOCK, door))
    assert Deliveries(design).rack(RACK, 250).problems == (
        "rack 'R1' (600 mm wide) does not pass door 'DOOR-2' on its way: 650 mm clear "
        "opening, 700 mm needed",
        "rack 'R1' (2,334 mm tall, 2,434 mm on its mover) does not pass under door 'DOOR-2' "
        "(2,300 mm)",
    )
    far = Waypoint("DOOR-9", "door", (9500, 500), width_mm=500)  # not on the way
    assert Deliveries(_design(waypoints=(DOCK, far))).rack(RACK, 250).problems == ()


def test_no_room_to_turn_in_front_of_the_rack_is_named():
    column = Obstacle("C1", "column", ((2700, 2700), (3300, 2700), (3300, 3100), (2700, 3100)))
    (msg,) = Deliveries(_design(obstacles=(column,))).rack(RACK, 250).problems
    assert msg == (
        "rack 'R1' cannot be turned into its slot: it pivots in a 1,542 mm circle (its "
        "diagonal + 2 x 100 mm) and the aisle in front of rack 'R1' has no such clear place"
    )


def test_a_heavy_load_over_the_floor_rating_names_the_first_segment():
    # 900 kg over 0.6 x 1.2 = 0.72 m2 is 1,250 kg/m2
    d = Deliveries(_design(floor_load=1000)).rack(RACK, 900, item="cdu-1")
    assert d.item == "cdu-1" and d.problems == (
        "'cdu-1' in transit: 900 kg over its 0.72 m2 footprint is 1,250 kg/m2, over the "
        "floor's 1,000 kg/m2 from the first segment (1A-N09 -> 1A-F05) on; use "
        "load-spreading plates along the way",
    )
    assert Deliveries(_design(floor_load=1300)).rack(RACK, 900).problems == ()


def test_a_rack_installed_over_the_floor_rating_is_an_error_at_its_line():
    cdu = Device("cdu-1", "cdu", "R1", 1)
    assert check_floor_load(_design(floor_load=2000, devices=(cdu,))) == []
    (p,) = check_floor_load(_design(floor_load=1500, devices=(cdu,)))
    assert (p.file, p.line, p.severity, p.rule) == ("floorplan.yaml", 20, "error", "floor-load")
    # 250 kg frame + 900 kg = 1,150 kg over 0.72 m2
    assert p.message.startswith("rack 'R1' installed: 1,150 kg over 0.72 m2 is 1,597 kg/m2")


def test_without_a_dock_nothing_is_claimed():
    assert Deliveries(_design(waypoints=())).rack(RACK, 250) is None
