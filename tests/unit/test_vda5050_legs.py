"""Robot legs that fit the robot, on both sample halls.

Every leg of every robot's route (from the staging area through all its stops) is planned on
the walking graph of the robot's own footprint: it keeps half the robot's width from every
rack footprint and obstacle. The technicians' 600 mm graph does not (the control): on the
GPU hall its paths pass closer than the lift robot's half-width.
"""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import LineString, Polygon

from fieldops import services
from fieldops.core import vda5050 as v
from fieldops.core.walking import ROBOT_MARGIN_MM, FootprintWalks, WalkGraph, robot_leg
from tests.fixtures_mqtt import sample_profiles

TOLERANCE_MM = 1.5  # the walking graph grazes its boundary by at most 1 mm


@pytest.fixture(scope="module", params=["lab-hall", "gpu-hall"])
def hall(request):
    from tests.fixtures_web import REPO

    plan = services.build_plan(
        services.load_valid_design(REPO / "floorplans" / request.param),
        crew=None,
        robots=None,
        profiles_dir=None,
    )
    return request.param, plan


def blockers(design) -> shapely.Geometry:
    fp = design.floorplan
    shapes = [Polygon(r.footprint(fp.rack_types[r.rack_type])) for r in fp.racks]
    shapes += [Polygon(o.polygon) for o in fp.obstacles if len(o.polygon) >= 3]
    return shapely.union_all(shapes)


def robot_routes(plan, walk_for):
    """(profile, route) for each robot of the plan, its stops in its order."""
    profiles = sample_profiles()
    team = {a.name: a for a in plan.work.team if a.kind == "robot"}
    design = plan.loaded.design
    staging = next(w for w in design.floorplan.waypoints if w.kind in ("staging", "door"))
    for name, member in sorted(team.items()):
        profile = profiles[member.profile]
        steps = sorted(
            (s for s in plan.work.steps if s.assignee == name),
            key=lambda s: s.start_s if s.start_s is not None else float("inf"),
        )
        start = v.Pose("start", int(staging.position[0]), int(staging.position[1]))
        yield profile, v.build_route(steps, start=start, walk=walk_for(profile))


def test_every_robot_leg_keeps_the_robots_half_width_from_racks_and_obstacles(hall):
    name, plan = hall
    design = plan.loaded.design
    walks = FootprintWalks(design)
    blocked = blockers(design)
    legs = 0
    for profile, route in robot_routes(
        plan, lambda p: lambda a, b, w=p.width_mm: walks.leg(w, a, b)
    ):
        assert route.refused == {}, f"{name}: {profile.name}: {list(route.refused.values())[:2]}"
        half = profile.width_mm / 2
        for i, stop in enumerate(route.stops[1:], start=1):
            assert stop.path_mm, f"{name}: {profile.name}: stop {i} has no path"
            path = stop.path_mm if i > 1 else stop.path_mm[1:]  # the staging point may sit close
            if len(path) < 2 or path[0] == path[-1]:
                continue
            gap = LineString(path).distance(blocked)
            assert gap >= half + ROBOT_MARGIN_MM - TOLERANCE_MM, (
                f"{name}: {profile.name} leg to {stop.pose.node_id} passes {gap:.0f} mm from a "
                f"rack or obstacle; the robot is {profile.width_mm} mm wide"
            )
            legs += 1
    assert legs > 20, legs


def test_the_technicians_graph_would_not_have_kept_the_lift_robot_clear(hall):
    """The control: the same stops joined on the 600 mm walkers' graph pass closer to racks
    than the robots' half-width in both halls (so the test above can fail)."""
    name, plan = hall
    design = plan.loaded.design
    people = WalkGraph(design)
    blocked = blockers(design)
    tight = 0
    for profile, route in robot_routes(plan, lambda p: lambda a, b: robot_leg(people, a, b)):
        for stop in route.stops[2:]:
            if len(stop.path_mm) >= 2 and stop.path_mm[0] != stop.path_mm[-1]:
                tight += LineString(stop.path_mm).distance(blocked) < profile.width_mm / 2
    assert tight > 0  # lab hall 25, GPU hall 46 legs (2026-12 samples)
