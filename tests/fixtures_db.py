"""Database fixtures: ``db_url`` runs a test on SQLite and on PostgreSQL, ``store`` gives a
migrated Store with a small plan loaded, and ``sample_plan()`` builds that plan in code.

PostgreSQL: 127.0.0.1:5432, user postgres, trust auth, database ``test`` (override with
FIELDOPS_TEST_PG="host=... user=... dbname=..."). Each test gets its own schema, dropped after.
Without a reachable server the PostgreSQL half is skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import quote

import pytest

from fieldops.core.fluid import leak_readings, pressure_readings
from fieldops.core.model import FluidRules
from fieldops.core.workorder import (
    CONFIRM_MANUAL,
    CONFIRM_ROBOT,
    CONFIRM_ROBOT_AND_TECH,
    CONFIRM_SCAN_ASSET,
    CONFIRM_SCAN_LABEL,
    Assignee,
    Location,
    Part,
    Step,
    Walk,
    WorkOrder,
    WorkPlan,
)

PG_DSN = os.environ.get("FIELDOPS_TEST_PG", "host=127.0.0.1 port=5432 user=postgres dbname=test")
_pg_state: dict = {}


def pg_unavailable() -> str | None:
    """None when PostgreSQL is reachable, else why not (checked once per session)."""
    if "reason" not in _pg_state:
        try:
            import psycopg

            with psycopg.connect(PG_DSN, connect_timeout=2) as conn:
                conn.execute("select 1")
            _pg_state["reason"] = None
        except Exception as exc:  # noqa: BLE001 - any failure means "skip with this reason"
            _pg_state["reason"] = (
                f"PostgreSQL not reachable at '{PG_DSN}': {str(exc).strip()[:200]}"
            )
    return _pg_state["reason"]


def _pg_params() -> dict:
    return dict(item.split("=", 1) for item in PG_DSN.split())


def pg_schema_url(schema: str) -> str:
    p = _pg_params()
    opts = quote(f"-csearch_path={schema}")
    return f"postgresql+psycopg://{p.get('user', 'postgres')}@{p.get('host', '127.0.0.1')}:{p.get('port', '5432')}/{p.get('dbname', 'test')}?options={opts}"


def create_pg_schema() -> str:
    import psycopg

    schema = "fo_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')  # generated name, not user input
    return schema


def drop_pg_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A fresh, empty database URL: a SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fieldops.db'}"
        return
    reason = pg_unavailable()
    if reason:
        pytest.skip(reason)
    schema = create_pg_schema()
    try:
        yield pg_schema_url(schema)
    finally:
        drop_pg_schema(schema)


# ---------------------------------------------------------------- a small plan built in code

CABLE_1 = "C-4K7Q2M9"
CABLE_2 = "C-8H3T5W1"
CABLE_3 = "C-2B6N4X7"
ASSET_1 = "AT-000101"


def _loc(
    rack: str, u: int | None, x: int, y: int, face: str = "front", loc_id: str = ""
) -> Location:
    return Location(rack=rack, location_id=loc_id, face=face, u=u, x_mm=x, y_mm=y)


DOOR = (300, 300)
# walks as the planner decides them (SAMPLE_FLOOR: racks R01-R03 in a row at x 1500-3300,
# y 2400-3600; the door at 300, 300): into the hall from the door, and round the row's east end
WALK_R01 = Walk((DOOR, (1800, 2100)), 2343)  # hypot(1500, 1800)
WALK_R03 = Walk((DOOR, (3000, 2100)), 3245)  # hypot(2700, 1800)
WALK_R02_REAR = Walk(((3000, 2100), (3700, 2100), (3700, 3900), (2400, 3900)), 3800)
WALK_ROBOT_R02 = Walk((DOOR, (300, 3900), (2400, 3900)), 5700)


def _end(device, port, rack, loc_id, u, face, x, y) -> dict:
    label = f"{rack} U{u:02d} {device}:{port}".upper()
    return {
        "device": device,
        "port": port,
        "rack": rack,
        "location_id": loc_id,
        "u": u,
        "face": face,
        "label": label,
        "x_mm": x,
        "y_mm": y,
        "theta_deg": 90.0,
    }


def _cable_action(cable, media, sku, length_mm, a, b) -> dict:
    """A cable step's action as the planner writes it (both labelled ends)."""
    return {
        "type": "run_cable",
        "cable": cable,
        "media": media,
        "sku": sku,
        "length_mm": length_mm,
        "a": a,
        "b": b,
        "tray_path": ["T1"],
        "max_elevation_mm": 2400,
    }


SW1_REAR = ("R02", "1A-E06", 40, "rear", 2400, 3900)
CABLE_ACTIONS = {
    CABLE_1: _cable_action(
        CABLE_1, "cat6a", "CAT6A-3M", 3000,
        _end("srv1", "eth0", "R01", "1A-D06", 10, "front", 1800, 2100),
        _end("sw1", "swp1", *SW1_REAR),
    ),
    CABLE_2: _cable_action(
        CABLE_2, "cat6a", "CAT6A-3M", 3000,
        _end("srv2", "eth0", "R03", "1A-F06", 10, "front", 3000, 2100),
        _end("sw1", "swp2", *SW1_REAR),
    ),
    CABLE_3: _cable_action(
        CABLE_3, "dac-100g", "DAC-2M", 2000,
        _end("srv2", "p0", "R03", "1A-F06", 10, "front", 3000, 2100),
        _end("sw1", "up1", *SW1_REAR),
    ),
}  # fmt: skip


def sample_plan() -> WorkPlan:
    """Hall TINY (see tests/samples.tiny_floorplan): technician-1 places R01, mounts srv1
    (asset tag scan), runs cable 1 (label scan); technician-2 runs cables 2 and 3 (no
    dependencies); lift-robot-1 mounts sw1 (robot); technician-2 checks a robot-mounted PDU
    (robot+technician). Each step carries its order, work order and walk, as a plan does."""
    from dataclasses import replace

    steps = (
        Step(
            "rack-R01",
            "rack",
            "place_rack",
            "Place rack R01",
            "Place R01 on its tiles, level it and bond it.",
            _loc("R01", None, 1800, 2100, loc_id="1A-D06"),
            CONFIRM_MANUAL,
            duration_s=1800,
            assignee="technician-1",
            parts=(Part("rack", "R01"),),
            order=0,
            workorder="WO-technician-1",
            walk=WALK_R01,
        ),
        Step(
            "mount-srv1",
            "stack",
            "mount_device",
            "Mount srv1 in R01 U10",
            "Mount srv1 (Test Server 1U) in R01 at U10, front.",
            _loc("R01", 10, 1800, 2100, loc_id="1A-D06"),
            CONFIRM_SCAN_ASSET,
            expect_codes=(ASSET_1,),
            depends_on=("rack-R01",),
            duration_s=600,
            assignee="technician-1",
            parts=(Part("device", "srv1", "test-server-1u"),),
            order=1,
            workorder="WO-technician-1",
        ),
        Step(
            f"cable-{CABLE_1}",
            "cable",
            "run_cable",
            f"Run {CABLE_1} srv1:eth0 to sw1:swp1",
            "Run the Cat6A cable from R01 U10 srv1 eth0 to R02 U40 sw1 swp1 along T1.",
            _loc("R01", 10, 1800, 2100, loc_id="1A-D06"),
            CONFIRM_SCAN_LABEL,
            expect_codes=(CABLE_1,),
            depends_on=("mount-srv1",),
            duration_s=240,
            assignee="technician-1",
            parts=(Part("cable", CABLE_1, "CAT6A-3M"),),
            order=2,
            workorder="WO-technician-1",
        ),
        Step(
            f"cable-{CABLE_2}",
            "cable",
            "run_cable",
            f"Run {CABLE_2} srv2:eth0 to sw1:swp2",
            "Run the Cat6A cable from R03 U10 srv2 eth0 to R02 U40 sw1 swp2 along T1.",
            _loc("R03", 10, 3000, 2100, loc_id="1A-F06"),
            CONFIRM_SCAN_LABEL,
            expect_codes=(CABLE_2,),
            duration_s=240,
            assignee="technician-2",
            parts=(Part("cable", CABLE_2, "CAT6A-3M"),),
            order=0,
            workorder="WO-technician-2",
            walk=WALK_R03,
        ),
        Step(
            f"cable-{CABLE_3}",
            "cable",
            "run_cable",
            f"Run {CABLE_3} srv2:p0 to sw1:up1",
            "Run the DAC from R03 U10 srv2 p0 to R02 U40 sw1 up1.",
            _loc("R03", 10, 3000, 2100, loc_id="1A-F06"),
            CONFIRM_SCAN_LABEL,
            expect_codes=(CABLE_3,),
            duration_s=240,
            assignee="technician-2",
            parts=(Part("cable", CABLE_3, "DAC-2M"),),
            order=1,
            workorder="WO-technician-2",
        ),
        Step(
            "mount-sw1",
            "stack",
            "mount_device",
            "Mount sw1 in R02 U40",
            "Mount sw1 in R02 at U40, rear.",
            _loc("R02", 40, 2400, 3900, face="rear", loc_id="1A-E07"),
            CONFIRM_ROBOT,
            duration_s=300,
            assignee="lift-robot-1",
            parts=(Part("device", "sw1", "test-switch-1u"),),
            order=0,
            workorder="WO-lift-robot-1",
            walk=WALK_ROBOT_R02,
        ),
        Step(
            "check-pdu-R02",
            "power",
            "connect_power",
            "Check PDU cord R02",
            "Check the PDU cord the robot plugged in R02.",
            _loc("R02", None, 2400, 3900, face="rear", loc_id="1A-E07"),
            CONFIRM_ROBOT_AND_TECH,
            duration_s=120,
            assignee="technician-2",
            order=2,
            workorder="WO-technician-2",
            walk=WALK_R02_REAR,
        ),
    )
    # actions as the planner writes them: a cable's carries both labelled ends
    steps = tuple(
        replace(
            s,
            action=CABLE_ACTIONS.get(s.expect_codes[0] if s.expect_codes else "", {"type": s.kind}),
        )
        if s.kind == "run_cable"
        else replace(s, action={"type": s.kind})
        for s in steps
    )
    team = (
        Assignee("lift-robot-1", "lift-robot", "robot"),
        Assignee("technician-1", "technician", "technician"),
        Assignee("technician-2", "technician", "technician"),
    )
    wos = (
        WorkOrder(
            "WO-technician-1",
            "technician-1 shift 1",
            "technician-1",
            1,
            "R01",
            ("rack-R01", "mount-srv1", f"cable-{CABLE_1}"),
        ),
        WorkOrder(
            "WO-technician-2",
            "technician-2 shift 1",
            "technician-2",
            1,
            "R03",
            (f"cable-{CABLE_2}", f"cable-{CABLE_3}", "check-pdu-R02"),
        ),
        WorkOrder(
            "WO-lift-robot-1", "lift-robot-1 shift 1", "lift-robot-1", 1, "R02", ("mount-sw1",)
        ),
    )
    return WorkPlan(
        steps=steps,
        workorders=wos,
        team=team,
        makespan_s=3000.0,
        critical_path=("rack-R01", "mount-srv1", f"cable-{CABLE_1}"),
    )


def robot_check_plan() -> WorkPlan:
    """``sample_plan()`` with the PDU cord plugged by lift-robot-1 (robot+technician) and the
    schedule booking technician-2 to check it, as ``core.workplan`` does for a robot's step."""
    from dataclasses import replace

    plan = sample_plan()
    steps = tuple(
        replace(
            s,
            assignee="lift-robot-1",
            depends_on=("mount-sw1",),
            order=1,
            workorder="WO-lift-robot-1",
            walk=None,  # the robot is at R02's rear already
        )
        if s.id == "check-pdu-R02"
        else s
        for s in plan.steps
    )
    wos = tuple(
        replace(w, steps=tuple(x for x in w.steps if x != "check-pdu-R02"))
        if w.assignee == "technician-2"
        else replace(w, steps=(*w.steps, "check-pdu-R02"))
        if w.assignee == "lift-robot-1"
        else w
        for w in plan.workorders
    )
    booked = {
        "step": "check-pdu-R02",
        "technician": "technician-2",
        "start_s": 900,
        "order": 2,  # after technician-2's two cables, walked from R03's front
        "walk": WALK_R02_REAR.to_dict(),
        "walk_on": None,
    }
    return replace(
        plan, steps=steps, workorders=wos, stats={"confirmations": [{**booked, "end_s": 930}]}
    )


SAMPLE_FLOOR = {
    "hall": "TINY",
    "outline": [[0, 0], [6000, 0], [6000, 6000], [0, 6000]],
    "obstacles": [
        {
            "name": "COL-1",
            "kind": "column",
            "polygon": [[4500, 4500], [4900, 4500], [4900, 4900], [4500, 4900]],
        }
    ],
    "waypoints": [{"name": "DOOR", "kind": "door", "position": [300, 300]}],
    "trays": [  # overhead, along the row
        {
            "name": "T1",
            "media_classes": ["copper", "fibre"],
            "elevation_mm": 2600,
            "width_mm": 300,
            "points": [[1500, 3000], [3300, 3000]],
        }
    ],
    "racks": [
        {
            "name": n,
            "row": "A",
            "location_id": lid,
            "position": [x, 3000],
            "footprint": [[x - 300, 2400], [x + 300, 2400], [x + 300, 3600], [x - 300, 3600]],
            "front": [0.0, -1.0],
            "u_height": 42,
            "devices": devs,
        }
        for n, lid, x, devs in (
            (
                "R01",
                "1A-D06",
                1800,
                [
                    {
                        "name": "srv1",
                        "position": 10,
                        "u_height": 1,
                        "face": "front",
                        "role": "server",
                        "full_depth": True,
                    }
                ],
            ),
            (
                "R02",
                "1A-E06",
                2400,
                [
                    {
                        "name": "sw1",
                        "position": 40,
                        "u_height": 1,
                        "face": "rear",
                        "role": "switch",
                        "full_depth": False,
                    }
                ],
            ),
            (
                "R03",
                "1A-F06",
                3000,
                [
                    {
                        "name": "srv2",
                        "position": 10,
                        "u_height": 1,
                        "face": "front",
                        "role": "server",
                        "full_depth": True,
                    }
                ],
            ),
        )
    ],
}


class FakeClock:
    """A clock tests move by hand (seconds since the epoch)."""

    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def store(db_url, clock):
    """A migrated store on SQLite and PostgreSQL with ``sample_plan()`` loaded."""
    from fieldops.adapters.store import Store

    s = Store(db_url, clock=clock)
    s.load_plan(sample_plan(), design="tiny", revision="1", hall="TINY", floor=SAMPLE_FLOOR)
    yield s
    s.close()


# ---------------------------------------------------------------- a liquid-cooled rack's loop tests

LOOP_RULES = FluidRules(test_kpa=700, hold_min=30, max_drop_kpa=10, max_leaks=0)
LOOP_HERE = Location(rack="R01", location_id="1A-D06", face="rear", x_mm=1800, y_mm=3900)


def loop_plan() -> WorkPlan:
    """A liquid-cooled rack's loop tests (fieldops.core.fluid), all technician-1's::

    pressure:R01 ──> leak:R01 ──> burnin:ct-1
    """

    def step(sid, kind, phase, order, deps=(), action=None):
        return Step(
            sid, phase, kind, sid, f"Do {sid}.", LOOP_HERE, CONFIRM_MANUAL,
            depends_on=deps, action={"type": kind, **(action or {})},
            assignee="technician-1", order=order, workorder="WO-1",
        )  # fmt: skip

    steps = (
        step("pressure:R01", "pressure_test", "cooling", 0, (), pressure_readings(LOOP_RULES)),
        step(
            "leak:R01", "leak_check", "cooling", 1, ("pressure:R01",), leak_readings(LOOP_RULES, 4)
        ),
        step("burnin:ct-1", "burnin_check", "burnin", 2, ("leak:R01",)),
    )
    team = (Assignee("technician-1", "technician", "technician"),)
    wo = WorkOrder(
        "WO-1", "technician-1 shift 1", "technician-1", 1, "R01", tuple(s.id for s in steps)
    )
    return WorkPlan(steps=steps, workorders=(wo,), team=team, makespan_s=5000.0)
