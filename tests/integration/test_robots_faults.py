"""Robots under faults, on a real Mosquitto: stale states injected mid-run, a robot that
hangs with its socket open (SIGSTOP), an order the robot rejects.

    [stale state] --> bridge: asks the robot, resends nothing      (0 actions run twice)
    [robot SIGSTOP] -- keepalive 5 s --> broker: last will --> steps ready, lead sees offline
    [2.0 robot, 2.1 order] --> validationError --> one problem, steps blocked --> resolved
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time

import pytest

from fieldops.adapters.mqtt import connect, make_client
from fieldops.adapters.mqtt.bridge import MemoryStepSink, RobotAssignment, RobotBridge
from fieldops.adapters.mqtt.simulator import SimulatedRobot
from fieldops.core import vda5050 as v
from tests.fixtures_mqtt import hand_robot_steps, sample_profiles, simulate_process
from tests.fixtures_web import REPO, LiveServer, seed_users
from tests.integration.test_store_robots import api

pytestmark = [pytest.mark.slow, pytest.mark.mosquitto]

LIFT = ("FieldBotics", "LIFT-001")
LAB = REPO / "floorplans" / "lab-hall"


def stale_states(order_id: str, rng: random.Random) -> list[bytes]:
    """Well-formed states a robot did not send now: another master's busy order, a robot
    that seems to have lost its order, an old order of fieldops', an old update."""
    header = v.Header(rng.randint(0, 5), "2026-01-01T00:00:00.000Z", *LIFT)

    def st(oid, update=0, *, busy=False):
        return v.encode(
            v.build_state(
                header,
                order_id=oid,
                order_update_id=update,
                last_node_id="",
                last_node_sequence_id=0,
                driving=busy,
                position=(0.0, 0.0, 0.0, "LAB"),
                node_states=[("X", 2, True)] if busy else [],
                action_states=[("x:1", "installDevice", "RUNNING", "")] if busy else [],
            )
        )

    return [
        st("MES-17", busy=True),
        st(""),
        st("LAB-LIFT-001-0", busy=True),
        st(order_id, 0),
    ]


def test_stale_states_injected_mid_run_never_make_the_robot_redo_work(mosquitto):
    """20 runs of the lift robot's six mounts, each with two stale states injected at random
    moments: every action runs exactly once, every step ends done, one orderId per run."""
    profile = sample_profiles()["lift-robot"]
    steps = hand_robot_steps()["lift-robot"]
    injector = make_client(mosquitto.url(), "injector")
    connect(injector)
    try:
        for run in range(20):
            rng = random.Random(run)
            sink = MemoryStepSink()
            bridge = RobotBridge(
                mosquitto.url(),
                [RobotAssignment(profile, steps)],
                sink,
                map_id="LAB",
                window=1,
                resend_after_s=0.5,
                client_id=f"bridge-{run}",
            ).start()
            robot = SimulatedRobot(
                profile, mosquitto.url(), time_scale=1500, state_interval_s=0.2
            ).start()
            try:
                lift = bridge._robot_by_serial("LIFT-001")
                assert sink.wait_for(lambda s: s.history, 15), f"run {run}: no progress"
                oid = lift.order_id
                for payload in rng.sample(stale_states(oid, rng), 2):
                    time.sleep(rng.uniform(0.0, 0.6))
                    injector.publish("uagv/v2/FieldBotics/LIFT-001/state", payload, qos=0)
                assert bridge.wait(30), f"run {run}: {bridge.counts()}"
            finally:
                robot.stop()
                bridge.stop()
            assert {sink.status[s.id] for s in steps} == {"done"}, f"run {run}"
            assert robot.executed and max(robot.executed.values()) == 1, (run, robot.executed)
            assert len(robot.executed) == 9  # 6 mounts + a finePositioning at each of 3 racks
            assert lift.orders_sent == 1, f"run {run}: {lift.orders_sent} orders"
    finally:
        injector.disconnect()
        injector.loop_stop()


def poll(predicate, timeout_s: float, every_s: float = 0.2):
    deadline = time.monotonic() + timeout_s
    while True:
        got = predicate()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(every_s)


@pytest.fixture(scope="module")
def lab_plan(tmp_path_factory):
    from fieldops import services

    out = tmp_path_factory.mktemp("lab") / "plan"
    services.plan_design(LAB, out)
    return out


def test_a_hung_robot_is_released_within_10_s_and_shown_offline_to_the_lead(
    tmp_path, lab_plan, mosquitto_secure
):
    """``fieldops serve --robots`` on the generated broker config, each process its own user
    (web worker fieldops-web-1, bridge fieldops, robots by serial). The lift robot hangs
    mid-mount with its socket open (SIGSTOP): within 10 s its step is ready again with the
    reason, the lead sees it offline and one problem naming the step; after SIGCONT it is
    back online and finishes."""
    from fieldops.adapters.store import Store

    b = mosquitto_secure
    url = f"sqlite:///{tmp_path / 'hung.db'}"
    st = Store(url)
    seed_users(st)
    lead = st.create_token("lee", "test")
    st.close()
    server = LiveServer(
        url,
        tmp_path,
        broker=f"mqtt://fieldops-web-{{n}}@{b.host}:{b.port}",
        extra_args=["--plan", str(lab_plan), "--robots"],
        env={
            "FIELDOPS_MQTT_PASSWORD": b.credentials["fieldops-web-1"],
            "FIELDOPS_ROBOTS_PASSWORD": b.credentials["fieldops"],
        },
    )
    server.extra_args += ["--robots-user", "fieldops"]
    server.start()
    lift = simulate_process(b.url("LIFT-001"), "lift-robot", 40)  # a 420 s mount: 10.5 s
    stopped = False
    try:
        for rack in ("rack:B06", "rack:B05"):
            api(server, f"/api/steps/{rack}/confirm", lead, {"client_id": f"c-{rack}"})

        def busy():
            steps = api(server, "/api/steps?assignee=lift-robot-1&status=in_progress", lead)
            return [s["id"] for s in steps["steps"]]

        in_hand = poll(busy, 30)
        assert in_hand, "the lift robot never started a step"
        progress = api(server, "/api/progress", lead)
        assert progress["robots"]["lift-robot-1"]["state"] == "online"
        os.kill(lift.pid, signal.SIGSTOP)
        stopped = True
        t_stop = time.monotonic()

        def released():
            step = api(server, f"/api/steps/{in_hand[0]}", lead)["step"]
            robot = api(server, "/api/progress", lead)["robots"]["lift-robot-1"]
            return step["status"] == "ready" and robot["state"] == "offline" and (step, robot)

        # the robot keeps a 3 s MQTT keepalive: the broker sends its last will after 4.5 s
        got = poll(released, 10 - (time.monotonic() - t_stop))
        assert got, (
            "the hung robot's step was not released within 10 s",
            api(server, f"/api/steps/{in_hand[0]}", lead)["step"],
            api(server, "/api/progress", lead)["robots"],
        )
        step, robot = got
        assert step["status_detail"] == "robot LIFT-001: connection broken (last will)"
        assert robot["reason"] == step["status_detail"]
        problems = api(server, "/api/problems", lead)["problems"]
        lost = [p for p in problems if "LIFT-001: connection broken" in p["note"]]
        assert len(lost) == 1 and in_hand[0] in lost[0]["note"]
        os.kill(lift.pid, signal.SIGCONT)
        stopped = False
        assert poll(
            lambda: (
                api(server, "/api/progress", lead)["robots"]["lift-robot-1"]["state"] == "online"
            ),
            30,
        )
        assert poll(
            lambda: api(server, f"/api/steps/{in_hand[0]}", lead)["step"]["status"] == "done", 60
        )
    finally:
        if stopped:
            os.kill(lift.pid, signal.SIGCONT)
        lift.terminate()
        lift.wait(10)
        server.stop()


def test_a_rejected_order_is_one_problem_within_a_state_interval_and_work_resumes(
    tmp_path, lab_plan, mosquitto
):
    """A strict VDA 5050 2.0.0 robot that has published no factsheet is sent a 2.1.0 order:
    it refuses it. With a 30 s state heartbeat the lead has one problem (robot, order, the
    robot's words) at once and the robot's steps are blocked with that reason; once the robot
    says what it speaks (factsheet) and the lead resolves the problem, it gets a 2.0 order."""
    from fieldops import services
    from fieldops.adapters.mqtt.fleet import start_robot_bridge
    from fieldops.adapters.store import Store, load_plan

    store = Store(f"sqlite:///{tmp_path / 'reject.db'}")
    load_plan(store, lab_plan)
    profile = sample_profiles()["lift-robot"]
    bridge = start_robot_bridge(
        store, mosquitto.url(), profiles=services.robot_profiles(), say=lambda m: None
    )
    robot = SimulatedRobot(
        profile,
        mosquitto.url(),
        version="2.0.0",
        factsheet=False,
        state_interval_s=30,
        time_scale=2000,
        map_id="LAB",
    ).start()
    cable = SimulatedRobot(
        sample_profiles()["cabling-robot"], mosquitto.url(), time_scale=2000, map_id="LAB"
    ).start()
    try:
        lift_steps = [s.id for s in store.plan_steps(["lift-robot-1"])]

        def problems():  # open or resolved
            return [p for p in store.problems(status=None) if "LIFT-001 rejected" in p["note"]]

        got = poll(problems, 10)
        assert len(got) == 1, store.problems()
        note = got[0]["note"]
        assert note.startswith("robot LIFT-001 rejected order ")
        assert "validationError: order version 2.1.0 is not this robot's 2.0.0" in note
        blocked = {s["id"]: s for s in store.steps(assignee="lift-robot-1", limit=1000)}
        assert {blocked[sid]["status"] for sid in lift_steps} == {"blocked"}
        assert blocked[lift_steps[-1]]["status_detail"] == note
        assert len(problems()) == 1  # the robot's later states repeat the error: still one
        # the robot publishes its factsheet (2.0.0); the lead resolves the problem
        robot.publish_factsheet()
        time.sleep(0.5)
        store.resolve_problem(got[0]["id"], actor="lee", resolution="robot speaks 2.0.0")
        assert poll(
            lambda: (
                {s["status"] for s in store.steps(assignee="lift-robot-1", limit=1000)}
                <= {"pending", "ready"}
            ),
            10,
        )
        assert poll(lambda: robot.snapshot()["order_id"], 10), robot.snapshot()["errors"]
        assert bridge._robot_by_serial("LIFT-001").version == "2.0.0"
        assert len(problems()) == 1
    finally:
        robot.stop()
        cable.stop()
        bridge.stop()
        store.close()


def test_a_state_heartbeat_alone_is_not_taken_for_a_robot_that_hangs(mosquitto):
    """A robot that sends a state only every 2 s (nothing changes) is not lost with a 5 s
    state timeout; one that stops sending is, once."""
    profile = sample_profiles()["lift-robot"]
    steps = hand_robot_steps()["lift-robot"][:1]
    sink = MemoryStepSink()
    bridge = RobotBridge(
        mosquitto.url(),
        [RobotAssignment(profile, steps)],
        sink,
        map_id="LAB",
        state_timeout_s=5,
        recheck_s=0.2,
    ).start()
    robot = SimulatedRobot(profile, mosquitto.url(), time_scale=1, state_interval_s=2).start()
    try:
        assert sink.wait_for(lambda s: s.status.get(steps[0].id) == "in_progress", 20)
        time.sleep(7)
        assert sink.connections["lift-robot-1"][0] == "online" and sink.problems == []
        robot._stop.set()  # the simulation loop stops: no more states, the socket stays up
        assert sink.wait_for(lambda s: s.connections["lift-robot-1"][0] == "offline", 15)
        assert sink.status[steps[0].id] == "ready"
        assert [p["block"] for p in sink.problems] == [False]
        threading.Event().wait(1)
        assert len(sink.problems) == 1
    finally:
        robot.client.disconnect()
        robot.client.loop_stop()
        bridge.stop()
