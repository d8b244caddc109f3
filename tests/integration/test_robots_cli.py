"""The robot commands: help, bad input (exit 2, no traceback), and dispatch end to end."""

from __future__ import annotations

import json
import tempfile

import pytest

from fieldops.adapters.mqtt.simulator import SimulatedRobot
from fieldops.cli import main
from tests.fixtures_mqtt import planner_available, sample_profiles
from tests.samples import LAB_HALL


@pytest.mark.parametrize(
    "argv",
    [
        ["robots", "--help"],
        ["robots", "dispatch", "--help"],
        ["robots", "simulate", "--help"],
        ["robots", "acl", "--help"],
        ["broker", "--help"],
    ],
)
def test_every_robot_command_has_help(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage: fieldops" in out and len(out) > 200


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["robots", "dispatch", "floorplans/lab-hall", "--broker", "http://x"],
            "scheme must be mqtt://",
        ),
        (["robots", "dispatch", "floorplans/lab-hall", "--broker", "mqtt://h:99999"], "port"),
        (
            ["robots", "dispatch", "/nonexistent", "--broker", "mqtt://127.0.0.1:1"],
            "neither a plan folder",
        ),
        (["robots", "dispatch", "floorplans/lab-hall", "--window", "0"], "--window"),
        (["robots", "dispatch", "floorplans/lab-hall", "--order-stops", "1"], "--order-stops"),
        (
            ["robots", "dispatch", "floorplans/lab-hall", "--order-bytes", "5000000"],
            "4096..4194304",
        ),
        (["robots", "dispatch", "floorplans/lab-hall", "--order-actions", "0"], "--order-actions"),
        (
            ["robots", "simulate", "--profile", "robot_profiles/technician.yaml"],
            "is a technician, not a robot",
        ),
        (
            [
                "robots",
                "simulate",
                "--profile",
                "robot_profiles/lift-robot.yaml",
                "--fail-rate",
                "2",
            ],
            "not between 0 and 1",
        ),
        (["robots", "simulate", "--profile", "nope.yaml"], "robot profile not found"),
        (
            ["broker", "--port", "70000"],
            "--port: 70000 is not a port (0..65535; 0 picks a free one)",
        ),
    ],
)
def test_bad_input_exits_2_with_a_message(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.slow
@pytest.mark.skipif(
    not planner_available(), reason="needs the work planner (fieldops.core.workplan)"
)
def test_dispatch_plans_the_lab_hall_and_follows_two_robots_to_the_end(
    embedded_broker, tmp_path, capsys, monkeypatch
):
    scratch = tmp_path / "scratch"  # where the dispatch plans the design
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    profiles = sample_profiles()
    robots = [
        SimulatedRobot(
            profiles[n], embedded_broker.url, time_scale=1500, state_interval_s=0.3
        ).start()
        for n in ("lift-robot", "cabling-robot")
    ]
    status = tmp_path / "status.json"
    try:
        code = main(
            [
                "robots",
                "dispatch",
                str(LAB_HALL),
                "--broker",
                embedded_broker.url,
                "--robots",
                "lift-robot,cabling-robot",
                "--status",
                str(status),
                "--timeout",
                "90",
                "--assume-done",
                "technicians",
                "-q",
            ]
        )
    finally:
        for r in robots:
            r.stop()
    out = capsys.readouterr().out
    assert code == 0, out
    data = json.loads(status.read_text())
    assert data["schema"] == "fieldops.stepstatus/1"
    statuses = {s["status"] for s in data["steps"].values()}
    assert statuses <= {"done", "awaiting_confirmation"} and "done" in statuses
    assert {s["detail"]["robot"] for s in data["steps"].values()} == {"LIFT-001", "CABLE-001"}
    assert f"status in {status}" in out
    assert list(scratch.iterdir()) == []  # the plan files it wrote for itself are gone


@pytest.mark.skipif(
    not planner_available(), reason="needs the work planner (fieldops.core.workplan)"
)
def test_dispatch_without_technicians_sends_no_step_that_waits_for_people(tmp_path, capsys):
    """The safe default: in the lab hall every robot step depends, directly or through other
    robot steps, on a technician's step (racks placed, rails installed), and nobody confirms
    anything in a dispatch run: nothing is sent (no broker is even needed), every robot step
    is written as pending with what it waits for, exit 1."""
    status = tmp_path / "status.json"
    code = main(
        [
            "robots",
            "dispatch",
            str(LAB_HALL),
            "--broker",
            "mqtt://127.0.0.1:1",
            "--robots",
            "lift-robot,cabling-robot",
            "--status",
            str(status),
            "-q",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "wait for steps nobody completes in this run" in captured.err
    assert "--assume-done technicians" in captured.err and "Traceback" not in captured.err
    steps = json.loads(status.read_text())["steps"]
    assert steps and {s["status"] for s in steps.values()} == {"pending"}
    # the bug report's case: the lift robot's mounts wait for their rack to be placed (which
    # mounts the lift robot gets depends on the schedule: pdu-b03-a went to a technician once
    # switch ports moved to their own front, so every lift mount is checked, not one name)
    from fieldops.adapters.designfile import load_design

    rack_of = {d.name: d.rack for d in load_design(LAB_HALL).design.devices}
    lifts = {k: v["detail"] for k, v in steps.items() if k.startswith("mount:")}
    assert lifts and all(
        detail == {"robot": "LIFT-001", "waitingFor": f"rack:{rack_of[k.split(':', 1)[1]]}"}
        for k, detail in lifts.items()
    ), lifts
    assert f"robot steps: pending {len(steps)}" in captured.out
