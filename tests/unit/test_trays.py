"""Tray engineering: geometry problems, fill computed by hand, cables diverted over a longer
route whose length is computed by hand, and power kept apart from data.

Halls: tests/samples_validate.py (the tiny hall, COL-1 at 4800-5200, T1 on line 9) and
tests/samples_trays.py (the DETOUR hall: T1 over the row and a loop around it).
"""

from __future__ import annotations

import math

import pytest

from fieldops.adapters.designfile import load_design
from fieldops.core.routing import build_cable_plan
from fieldops.core.trays import tray_problems
from tests.samples_trays import (
    DIRECT_TRAY_MM,
    IN_RACK_MM,
    LOOP,
    LOOP_TRAY_MM,
    MEDIA_LINE,
    SERVERS,
    t1,
    tray_design,
    tray_line,
)
from tests.samples_validate import FLOORPLAN_HEAD, floorplan_text, make_design, problems

T1_LINE = "  - {name: T1, media: [copper, fibre], elevation_mm: 2500, width_mm: 300, points: [[1200, 3000], [3600, 3000]]}\n"
CAT6A_MM2 = math.pi / 4 * 6.0**2  # 28.274 mm² per cable


def with_tray(tmp_path, tray: str, head: str = FLOORPLAN_HEAD):
    """The tiny hall with one more tray on line 10 (after T1)."""
    return make_design(
        tmp_path, floorplan=floorplan_text(head=head.replace(T1_LINE, T1_LINE + f"  - {tray}\n"))
    )


def tray_rows(design):
    return [p for p in problems(design) if p[2].startswith("trays[")]


# ---------------------------------------------------------------- geometry (validate)


def test_a_tray_through_a_column_is_an_error_naming_tray_segment_and_column(tmp_path):
    design = with_tray(
        tmp_path,
        "{name: T2, media: [copper], elevation_mm: 2500, points: [[4000, 4000], [4000, 5000], [5800, 5000]]}",
    )
    assert tray_rows(design) == [
        (
            "floorplan.yaml",
            10,
            "trays[1].points",
            "tray 'T2' segment 2 ([4000, 5000] to [5800, 5000]) at 2500 mm runs through "
            "column 'COL-1' (floor to ceiling)",
            "error",
        )
    ]


def test_a_tray_above_an_obstacle_of_known_height_is_fine(tmp_path):
    head = FLOORPLAN_HEAD.replace("kind: column,", "kind: cooling, height_mm: 2400,")
    design = with_tray(
        tmp_path,
        "{name: T2, media: [copper], elevation_mm: 2500, points: [[4000, 5000], [5800, 5000]]}",
        head=head,
    )
    assert tray_rows(design) == []
    low = with_tray(
        tmp_path / "low",
        "{name: T2, media: [copper], elevation_mm: 2300, points: [[4000, 5000], [5800, 5000]]}",
        head=head,
    )
    assert [p[3] for p in tray_rows(low)] == [
        "tray 'T2' segment 1 ([4000, 5000] to [5800, 5000]) at 2300 mm runs through "
        "cooling 'COL-1' (2400 mm tall)"
    ]


def test_a_tray_below_the_rack_tops_runs_through_the_racks(tmp_path):
    # racks are 42 x 44.45 + 200 = 2067 mm tall; a tray at 2000 mm over the row hits all three
    head = FLOORPLAN_HEAD.replace("elevation_mm: 2500", "elevation_mm: 2000")
    design = make_design(tmp_path, floorplan=floorplan_text(head=head))
    assert tray_rows(design) == [
        (
            "floorplan.yaml",
            9,
            "trays[0].points",
            f"tray 'T1' segment 1 ([1200, 3000] to [3600, 3000]) at 2000 mm runs through "
            f"rack '{r}' (2067 mm tall)",
            "error",
        )
        for r in ("R01", "R02", "R03")
    ]


def test_a_tray_end_that_misses_another_by_7_mm_is_reported_with_the_gap(tmp_path):
    design = with_tray(
        tmp_path,
        "{name: T3, media: [copper], elevation_mm: 2500, points: [[4500, 1000], [4500, 2993]]}",
    )
    # T1 ends at x = 3600: T3's end (4500, 2993) is 900 mm from it, beyond the tolerance
    assert tray_rows(design) == []
    near = with_tray(
        tmp_path / "near",
        "{name: T3, media: [copper], elevation_mm: 2500, points: [[2400, 1000], [2400, 2993]]}",
    )
    assert tray_rows(near) == [
        (
            "floorplan.yaml",
            10,
            "trays[1].points",
            "tray 'T3' end [2400, 2993] misses tray 'T1' by 7 mm: make them meet (routing "
            "joins them across the gap)",
            "warning",
        )
    ]


def test_a_tray_end_near_a_tray_of_other_media_is_not_a_near_miss(tmp_path):
    near = with_tray(
        tmp_path,
        "{name: P3, media: [power], elevation_mm: 2500, points: [[2400, 1000], [2400, 2993]]}",
    )
    assert tray_rows(near) == []


# ---------------------------------------------------------------- fill


def plan_of(design):
    loaded = load_design(design)
    assert [p for p in loaded.problems if p.severity == "error"] == []
    return loaded.design, build_cable_plan(loaded.design)


def test_fill_ratio_by_hand_and_the_over_limit_problem(tmp_path):
    # two 6.0 mm Cat6A cables on a tray of 100 mm² usable: 2 x pi/4 x 36 = 56.549 mm², 56.5 %
    design, plan = plan_of(tray_design(tmp_path, [t1("fill_area_mm2: 100")]))
    (seg,) = plan.tray_segments
    assert (seg.name, seg.cables, seg.usable_area_mm2, seg.max_fill_ratio) == ("T1/1", 2, 100, 0.5)
    assert seg.cable_area_mm2 == pytest.approx(2 * CAT6A_MM2)
    assert seg.fill_ratio == pytest.approx(0.565487, abs=1e-6)
    assert seg.over and plan.diversions == ()
    (p,) = tray_problems(design, plan)
    assert (p.file, p.line, p.path, p.severity, p.rule) == (
        "floorplan.yaml",
        tray_line(0),
        "trays[0].points",
        "error",
        "fill",
    )
    assert p.message == (
        "tray 'T1' segment 1 ([800, 3000] to [4000, 3000]) is 56.5% full, over its 50% "
        "limit: 2 cables, 57 of 100 mm²; biggest: cat6a x2 (57 mm², 100%); no other tray "
        "path had room for them"
    )


def test_usable_area_is_width_times_depth_and_the_limit_is_per_tray(tmp_path):
    # 300 mm x 100 mm (the default depth) = 30,000 mm²; a 1 % limit is 300 mm²: 2 cables fit
    _, plan = plan_of(tray_design(tmp_path, [t1("max_fill_ratio: 0.01")]))
    (seg,) = plan.tray_segments
    assert (seg.usable_area_mm2, seg.max_fill_ratio, seg.over) == (30000, 0.01, False)
    assert seg.fill_ratio == pytest.approx(2 * CAT6A_MM2 / 30000)


def test_overfill_can_be_a_warning(tmp_path):
    design, plan = plan_of(
        tray_design(tmp_path, [t1("fill_area_mm2: 100")], extra="tray_rules: {overfill: warning}\n")
    )
    assert [(p.severity, p.rule) for p in tray_problems(design, plan)] == [("warning", "fill")]


def test_media_without_a_diameter_is_left_out_of_fill_with_a_warning(tmp_path):
    root = tray_design(tmp_path, [t1("fill_area_mm2: 100")])
    media = root / "trays-media.yaml"
    media.write_text(media.read_text().replace("outer_diameter_mm: 6.0, ", ""))
    design, plan = plan_of(root)
    (seg,) = plan.tray_segments
    assert (seg.cable_area_mm2, seg.cables, seg.unsized) == (0.0, 2, ("cat6a",))
    assert [(p.file, p.line, p.severity, p.message) for p in tray_problems(design, plan)] == [
        (
            "trays-media.yaml",
            MEDIA_LINE["cat6a"],
            "warning",
            "media 'cat6a' has no outer_diameter_mm: its cables on T1/1 are left out of tray fill",
        )
    ]


# ---------------------------------------------------------------- capacity-aware routing


def test_a_full_segment_diverts_the_last_cable_over_the_loop_at_its_real_length(tmp_path):
    # T1 takes 60 mm² x 50 % = 30 mm²: one 28.3 mm² cable. The other goes around the loop.
    _, plan = plan_of(tray_design(tmp_path, [t1(), *LOOP]))
    direct, moved = sorted(plan.runs, key=lambda r: r.id)
    assert direct.tray_path == ("T1",)
    assert direct.route_mm == pytest.approx(2 * IN_RACK_MM + DIRECT_TRAY_MM, abs=0.06)  # 6355.45
    assert moved.tray_path == ("T1", "T-N1", "T-N2", "T-N3", "T1")
    assert moved.route_mm == pytest.approx(2 * IN_RACK_MM + LOOP_TRAY_MM, abs=0.06)  # 13155.45
    # bends: up, in, up to the tray, 5 turns around the loop, down, out, down = 10
    # length = 13155.45 + 10 x pi/2 x 30 + 2 x 300 = 14226.69 -> 14227, ordered 15 m
    assert (moved.bends, moved.length_mm, moved.ordered_mm) == (10, 14227, 15000)
    assert (direct.bends, direct.length_mm, direct.ordered_mm) == (6, 7239, 10000)
    assert [(d.cable_id, d.shortest_mm, d.route_mm) for d in plan.diversions] == [
        (moved.id, 6355.5, 13155.5)
    ]
    # the polyline is the route: its length is the route
    pts = moved.polyline
    assert sum(math.dist(pts[k - 1], pts[k]) for k in range(1, len(pts))) == pytest.approx(
        moved.route_mm, abs=0.06
    )
    fill = {s.name: (s.cables, round(s.fill_ratio, 5)) for s in plan.tray_segments}
    assert fill == {
        "T1/1": (1, round(CAT6A_MM2 / 60, 5)),
        "T-N1/1": (1, round(CAT6A_MM2 / 30000, 5)),
        "T-N2/1": (1, round(CAT6A_MM2 / 30000, 5)),
        "T-N3/1": (1, round(CAT6A_MM2 / 30000, 5)),
    }
    assert not any(s.over for s in plan.tray_segments)


def test_a_cable_is_never_moved_onto_a_route_its_media_cannot_reach(tmp_path):
    # the loop needs 14227 mm of Cat6A; with 10 m the longest orderable length it stays on T1
    root = tray_design(tmp_path, [t1(), *LOOP])
    media = root / "trays-media.yaml"
    media.write_text(media.read_text().replace(", 15000, 20000]", "]"))
    design, plan = plan_of(root)
    assert plan.diversions == ()
    assert {(r.tray_path, r.length_mm, r.ordered_mm) for r in plan.runs} == {(("T1",), 7239, 10000)}
    assert [p.rule for p in tray_problems(design, plan)] == ["fill"]


# FUNNEL: R03 drops only onto T3, which takes one cable; from R01's tray T0 a short link TS
# (one cable) and a long loop TL lead to T3. Tray route R01 -> R03: drop 433 + 300 across to
# T0, T0 1100, then TS 1200 or TL 1000 + 1200 + 1000, T3 1100, across 300 and drop 433.
FUNNEL = [
    "{name: T0, media: [copper], elevation_mm: 2500, width_mm: 300, points: [[1800, 3300], [1800, 4400]]}",
    "{name: TS, media: [copper], elevation_mm: 2500, width_mm: 300, fill_area_mm2: 60, points: [[1800, 4400], [3000, 4400]]}",
    "{name: TL, media: [copper], elevation_mm: 2500, width_mm: 300, points: [[1800, 4400], [1800, 5400], [3000, 5400], [3000, 4400]]}",
    "{name: T3, media: [copper], elevation_mm: 2500, width_mm: 300, fill_area_mm2: 60, points: [[3000, 4400], [3000, 3300]]}",
]


def test_a_route_keeps_an_unavoidable_full_tray_and_leaves_an_avoidable_one(tmp_path):
    design, plan = plan_of(tray_design(tmp_path, FUNNEL))
    short, moved = sorted(plan.runs, key=lambda r: r.id)
    assert short.tray_path == ("T0", "TS", "T3")
    assert short.route_mm == pytest.approx(
        2 * IN_RACK_MM + 733 + 1100 + 1200 + 1100 + 733, abs=0.06
    )
    assert moved.tray_path == ("T0", "TL", "T3")
    assert moved.route_mm == pytest.approx(
        2 * IN_RACK_MM + 733 + 1100 + 3200 + 1100 + 733, abs=0.06
    )
    over = {s.name: s.over for s in plan.tray_segments}
    assert over == {
        "T0/1": False,
        "TS/1": False,
        "TL/1": False,
        "TL/2": False,
        "TL/3": False,
        "T3/1": True,
    }
    assert [p.message.split(" is ")[0] for p in tray_problems(design, plan)] == [
        "tray 'T3' segment 1 ([3000, 4400] to [3000, 3300])"
    ]


def test_with_room_on_the_short_path_nothing_is_diverted(tmp_path):
    _, plan = plan_of(tray_design(tmp_path, [t1("fill_area_mm2: 120"), *LOOP]))
    assert plan.diversions == ()
    assert {r.tray_path for r in plan.runs} == {("T1",)}


def test_a_segment_full_on_every_path_stays_and_is_reported(tmp_path):
    # 50 mm² x 50 % = 25 mm² takes not even one cable: the loop starts on T1 too
    design, plan = plan_of(tray_design(tmp_path, [t1("fill_area_mm2: 50"), *LOOP]))
    assert plan.diversions == ()
    assert [p.rule for p in tray_problems(design, plan)] == ["fill"]


def test_diversion_is_deterministic(tmp_path):
    a = plan_of(tray_design(tmp_path / "a", [t1(), *LOOP]))[1]
    b = plan_of(tray_design(tmp_path / "b", [t1(), *LOOP]))[1]
    assert a.runs == b.runs and a.diversions == b.diversions


# ---------------------------------------------------------------- separation

PDU_IN_R03 = SERVERS + ["{name: pdu3, device_type: test-pdu-0u, rack: R03, face: rear}"]
COPPER_AND_POWER = [
    "{a: 'srv1:eth0', b: 'srv3:eth0', media: cat6a}",
    "{a: 'srv1:PSU1', b: 'pdu3:O1', media: pwr}",
]
P1 = "{name: P1, media: [power], elevation_mm: 2300, width_mm: 200, points: [[800, 3300], [4000, 3300]]}"


def separation(tmp_path, trays, extra=""):
    design, plan = plan_of(
        tray_design(tmp_path, trays, devices=PDU_IN_R03, cables=COPPER_AND_POWER, extra=extra)
    )
    return plan, [(p.line, p.severity, p.rule, p.message) for p in tray_problems(design, plan)]


def test_power_and_copper_forced_onto_one_tray_is_an_error(tmp_path):
    plan, found = separation(tmp_path, [t1("depth_mm: 100", "[copper, power]")])
    assert found == [
        (
            tray_line(0),
            "error",
            "separation",
            "tray 'T1' segment 1 ([800, 3000] to [4000, 3000]) carries copper and power cables "
            "together, which tray_rules.separate keeps apart: they have no separate tray path "
            "(give one of them its own tray, or a tray with a divider)",
        )
    ]
    assert plan.tray_segments[0].media_classes == ("copper", "power")


def test_power_takes_its_own_tray_when_there_is_one(tmp_path):
    plan, found = separation(tmp_path, [t1("depth_mm: 100", "[copper, power]"), P1])
    assert found == []
    by_class = {r.media_class: r.tray_path for r in plan.runs}
    assert by_class == {"copper": ("T1",), "power": ("P1",)}


@pytest.mark.parametrize(
    ("fill", "extra"),
    [("divider: true", ""), ("depth_mm: 100", "tray_rules: {separate: []}\n")],
    ids=["a divider", "no separation rule"],
)
def test_a_divider_or_the_rules_let_them_share(tmp_path, fill, extra):
    plan, found = separation(tmp_path, [t1(fill, "[copper, power]"), P1], extra=extra)
    assert found == []
    assert {r.tray_path for r in plan.runs} == {("T1",)}  # the shorter tray, shared


# ---------------------------------------------------------------- loading


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "tray_rules: {separate: [[power, power]]}\n",
            "expected a list of pairs of different media classes from: copper, fibre, power, fluid "
            "(e.g. [[power, copper]]; [] separates nothing)",
        ),
        ("tray_rules: {max_fill_ratio: 1.5}\n", "1.5 is above the maximum 1"),
        ("tray_rules: {overfill: maybe}\n", "'maybe' is not one of: error, warning"),
    ],
)
def test_bad_tray_rules_are_named_at_their_line(tmp_path, text, message):
    root = tray_design(tmp_path, [t1()], extra=text)
    found = [p for p in load_design(root).problems if p.severity == "error"]
    assert [(p.file, p.line, p.message) for p in found] == [
        ("floorplan.yaml", tray_line(1), message)
    ]
