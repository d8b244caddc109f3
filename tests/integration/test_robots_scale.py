"""A robot with thousands of steps: bounded orders on the wire, every step finished.

3,000 cable runs at 100 rack faces go to one simulated cabling robot over a real Mosquitto at a
large time scale. The whole route as one order would be ~4.5 MB (over VDA 5050's 4 MiB message
limit); the bridge sends orders and updates of at most 48 KiB and 6 nodes, and a new orderId
once 600 actions are done, and the robot still finishes every step.
"""

from __future__ import annotations

import json

import pytest

from fieldops.adapters.mqtt.bridge import MemoryStepSink, RobotAssignment, RobotBridge
from fieldops.adapters.mqtt.simulator import SimulatedRobot
from fieldops.core import vda5050 as v
from fieldops.core.workorder import Location, Part, Step
from tests.fixtures_mqtt import Sniffer, sample_profiles

RACKS, PER_RACK = 100, 30
BUDGET, STOPS, ACTIONS = 48 * 1024, 6, 600


def cable_steps() -> tuple[Step, ...]:
    out = []
    for r in range(RACKS):
        for k in range(PER_RACK):
            cid = f"C-{r:03d}{k:04d}"
            out.append(
                Step(
                    f"cable:{cid}",
                    "cable",
                    "run_cable",
                    f"Run {cid}",
                    "Plug both ends, scan the label",
                    Location(
                        rack=f"R{r:03d}",
                        location_id=f"1A-{r:03d}",
                        face="front",
                        u=40,
                        x_mm=600 * (r % 50),
                        y_mm=1500 + 3000 * (r // 50),
                        theta_deg=90.0,
                    ),
                    parts=(Part("cable", cid, "DAC-2M"),),
                    expect_codes=(cid,),
                    action={"aEnd": f"gpu-{r}:p{k}", "bEnd": f"leaf-{r}:swp{k}"},
                    assignee="cabling-robot-1",
                )
            )
    return tuple(out)


@pytest.mark.slow
def test_thousands_of_steps_finish_through_bounded_orders_and_updates(mosquitto):
    profile = sample_profiles()["cabling-robot"]
    steps = cable_steps()
    assert len(steps) == 3000
    # the old way, the whole route in one order, would not even be a valid message
    whole = v.build_order(
        v.build_route(steps, start=v.Pose("start", 0, 0)),
        v.Header(0, "2026-01-01T00:00:00.000Z", "FieldBotics", "CABLE-001"),
        order_id="x",
        map_id="LAB",
        base_end=2,
        max_stops=None,
        max_bytes=None,
    )
    assert len(v.encode(whole)) > v.MAX_MESSAGE_BYTES

    url = mosquitto.url()
    sniffer = Sniffer(url, topic_filter="uagv/v2/FieldBotics/CABLE-001/order")
    sink = MemoryStepSink()
    bridge = RobotBridge(
        url,
        [RobotAssignment(profile, steps)],
        sink,
        map_id="LAB",
        window=3,
        order_stops=STOPS,
        order_bytes=BUDGET,
        order_actions=ACTIONS,
    )
    # 3,000 runs of 180 s and 100 moves: ~150 simulated hours in a few seconds
    robot = SimulatedRobot(
        profile, url, time_scale=2_000_000, state_interval_s=0.2, tick_s=0.005, map_id="LAB"
    )
    try:
        bridge.start()
        robot.start()
        assert bridge.wait(120), f"not every step finished: {bridge.counts()}"
    finally:
        robot.stop()
        bridge.stop()
        sniffer.close()

    assert {sink.status[s.id] for s in steps} == {"done"}
    assert len(sink.status) == 3000 and bridge.dropped == 0
    # a message the bridge re-sent (a slow robot) counts once
    orders = list(dict.fromkeys(p for _t, _q, _r, p in sniffer.messages))
    assert all(len(p) <= BUDGET for p in orders), max(len(p) for p in orders)
    msgs = [json.loads(p) for p in orders]
    assert all(len(m["nodes"]) <= STOPS for m in msgs)
    ids = sorted({m["orderId"] for m in msgs}, key=lambda o: int(o.rsplit("-", 1)[1]))
    # 91 actions per rack face: 6 faces per orderId (546 <= 600 < 637) -> 17 orders
    assert ids == [f"LAB-CABLE-001-{n}" for n in range(1, 18)]
    assert max(m["orderUpdateId"] for m in msgs) >= 2
    # every action was released to the robot exactly once, in route order
    released = [
        a["actionId"] for m in msgs for n in m["nodes"] if n["released"] for a in n["actions"]
    ]
    # ({step}:0 is the finePositioning carried by the first step at each rack face)
    expected = [
        f"{s.id}:{k}" for i, s in enumerate(steps) for k in range(0 if i % 30 == 0 else 1, 4)
    ]
    assert released == expected
    # and the robot finished every one of them
    snap = robot.snapshot()
    assert snap["errors"] == []
