"""Golden VDA 5050 payloads: reviewed like code when they change.

Regenerate with ``FIELDOPS_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/unit/test_vda5050_golden.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fieldops.core import vda5050 as v
from fieldops.core.workorder import CONFIRM_ROBOT, CONFIRM_ROBOT_AND_TECH, Location, Part, Step

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "vda5050"
T0 = "2026-01-02T03:04:05.678Z"


def _steps() -> list[Step]:
    def loc(rack, x, u=None, face="front"):
        return Location(
            rack=rack, location_id=f"1A-{rack}", face=face, u=u, x_mm=x, y_mm=1500, theta_deg=90.0
        )

    return [
        Step(
            "stack/gpu-01",
            "stack",
            "mount_device",
            "Mount gpu-01",
            "Mount at U10",
            loc("R01", 1800, 10),
            confirm=CONFIRM_ROBOT_AND_TECH,
            parts=(Part("device", "gpu-01", "AS-8125GS"),),
            weight_kg=60.0,
        ),
        Step(
            "stack/gpu-02",
            "stack",
            "mount_device",
            "Mount gpu-02",
            "Mount at U18",
            loc("R01", 1800, 18),
            confirm=CONFIRM_ROBOT,
            parts=(Part("device", "gpu-02", "AS-8125GS"),),
            weight_kg=60.0,
        ),
        Step(
            "cable/C-7QK2M4P",
            "cable",
            "run_cable",
            "Run C-7QK2M4P",
            "Plug both ends",
            loc("R02", 2400, 40),
            confirm=CONFIRM_ROBOT,
            expect_codes=("C-7QK2M4P",),
            parts=(Part("cable", "C-7QK2M4P", "DAC-2M"),),
            # as the planner writes them: ends as objects, the tray path as a list (2.1.0 sends
            # them as they are; 2.0.0 flattens the objects into dotted keys)
            action={
                "aEnd": "gpu-01:p0",
                "bEnd": "leaf-01:swp1",
                "a": {"device": "gpu-01", "port": "p0", "u": 10},
                "tray_path": ["T1", "T2"],
            },
        ),
        Step(
            "rack/R03",
            "rack",
            "place_rack",
            "Place R03",
            "Deliver the rack",
            loc("R03", 3000),
            confirm=CONFIRM_ROBOT,
        ),
    ]


def payloads() -> dict[str, dict]:
    steps = _steps()
    route = v.build_route(
        steps,
        start=v.Pose("DOCK", 300, 300, 0.0),
        walk=lambda a, b: [a, (a[0], 900), (b[0], 900), b],
        hold_for_technician=True,
    )
    header = lambda n, version="2.1.0": v.Header(n, T0, "FieldBotics", "LIFT-001", version)  # noqa: E731
    return {
        "order": v.build_order(
            route, header(0), order_id="LAB-LIFT-001-1", map_id="LAB", base_end=2
        ),
        "order_update": v.build_order(
            route,
            header(1),
            order_id="LAB-LIFT-001-1",
            map_id="LAB",
            order_update_id=1,
            first=2,
            base_end=3,
        ),
        "order_2.0.0": v.build_order(
            route, header(0, "2.0.0"), order_id="LAB-LIFT-001-1", map_id="LAB"
        ),
        "instant_actions": v.build_instant_actions(
            header(0),
            [
                v.cancel_order("cancel-1"),
                v.pause("pause-1"),
                v.resume("resume-1"),
                v.state_request("state-1"),
                v.confirm_trigger("confirm-1", "stack/gpu-01:2", "technician-1"),
            ],
        ),
        "instant_actions_2.0.0": v.build_instant_actions(
            header(0, "2.0.0"), [v.cancel_order("cancel-1")]
        ),
        "connection": v.build_connection(header(0), "ONLINE"),
        "factsheet": v.build_factsheet(
            header(0),
            action_types=v.declared_action_types(
                ["mount_device", "place_rack", "run_cable", "waitForTrigger"]
            ),
            series="lift-robot",
            speed_max_m_s=0.8,
            payload_kg=120,
            width_mm=900,
        ),
        "state": v.build_state(
            header(5),
            order_id="LAB-LIFT-001-1",
            order_update_id=1,
            last_node_id="R01.front",
            last_node_sequence_id=2,
            driving=False,
            position=(1.8, 1.5, 1.570796, "LAB"),
            node_states=[("R02.front", 4, True), ("R03.front", 6, True)],
            edge_states=[("R01.front>R02.front", 3, True), ("R02.front>R03.front", 5, True)],
            action_states=[
                ("stack/gpu-01:0", "finePositioning", "FINISHED", ""),
                ("stack/gpu-01:1", "installDevice", "FAILED", ""),
            ],
            errors=[
                {
                    "errorType": "actionFailed",
                    "errorLevel": "WARNING",
                    "errorDescription": "rail jammed",
                    "errorReferences": [
                        {"referenceKey": "actionId", "referenceValue": "stack/gpu-01:1"}
                    ],
                }
            ],
        ),
    }


def render(payload: dict) -> str:
    return json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("name", sorted(payloads()))
def test_payload_matches_golden_file(name):
    text = render(payloads()[name])
    path = GOLDEN / f"{name}.json"
    if os.environ.get("FIELDOPS_REGEN_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with FIELDOPS_REGEN_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} payload changed: review, then regenerate with FIELDOPS_REGEN_GOLDEN=1"
    )
    # the wire bytes are the canonical compact form of the same object
    assert v.encode(payloads()[name]) == v.encode(json.loads(path.read_text(encoding="utf-8")))


def test_golden_orders_parse_as_a_robot_would():
    for name in ("order", "order_update", "order_2.0.0"):
        order = v.parse_order((GOLDEN / f"{name}.json").read_bytes())
        assert order.order_id == "LAB-LIFT-001-1"
    upd = v.parse_order((GOLDEN / "order_update.json").read_bytes())
    assert (upd.order_update_id, upd.nodes[0].node_id, upd.nodes[0].sequence_id) == (
        1,
        "R02.front",
        4,
    )
