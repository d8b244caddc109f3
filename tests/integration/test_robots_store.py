"""The store's side of the robot bridge, on SQLite and PostgreSQL (tests/fixtures_db's TINY
plan: lift-robot-1 mounts sw1; technician-2 checks the PDU cord a robot plugged in R02), and
what the lead sees of the robots."""

from __future__ import annotations

import re

REASON = "robot LIFT-001 rejected order TINY-LIFT-001-1: validationError: version 2.1.0"


def test_a_batch_of_robot_reports_is_recorded_as_they_would_be_one_by_one(store):
    before = store.last_event_id()
    store.set_statuses(
        [
            (
                "mount-sw1",
                "in_progress",
                {"robot": "LIFT-001", "actions": {"mount-sw1:1": "RUNNING"}},
            ),
            ("no-such-step", "done", {"robot": "LIFT-001"}),  # skipped, nothing else fails
            ("mount-sw1", "done", {"robot": "LIFT-001", "actions": {"mount-sw1:1": "FINISHED"}}),
            ("mount-sw1", "done", {"robot": "LIFT-001"}),  # done is final: a repeat is nothing
        ]
    )
    step = store.step("mount-sw1")
    assert step["status"] == "done" and step["status_detail"] == "LIFT-001"
    assert [(c["how"], c["actor"]) for c in step["confirmations"]] == [("robot", "lift-robot-1")]
    events = [e for e in store.events_after(before) if e["step_id"] == "mount-sw1"]
    assert [(e["kind"], e["data"]["status"], e["data"]["previous"]) for e in events] == [
        ("step_status", "in_progress", "pending"),
        ("step_status", "done", "in_progress"),
    ]
    # set_status, one report, follows the same rules: a failed action is a problem
    store.set_status("check-pdu-R02", "blocked", {"robot": "LIFT-001", "error": "cord jammed"})
    (problem,) = store.problems()
    assert (problem["step_id"], problem["note"]) == ("check-pdu-R02", "robot: cord jammed")


def test_a_robot_problem_is_one_problem_for_every_step_it_blocks(store):
    steps = ["mount-sw1", "check-pdu-R02"]
    pid = store.robot_problem("lift-robot-1", steps, REASON, block=True)
    (problem,) = store.problems()
    assert (problem["id"], problem["step_id"], problem["note"]) == (pid, "mount-sw1", REASON)
    assert problem["reported_by"] == "lift-robot-1"
    assert {s: store.step(s)["status"] for s in steps} == dict.fromkeys(steps, "blocked")
    assert store.step("check-pdu-R02")["status_detail"] == REASON
    # the lead resolves it: its step goes back; the bridge releases the others it held
    store.resolve_problem(pid, actor="lee", resolution="profile says 2.0.0 now")
    assert store.step("mount-sw1")["status"] == "pending"
    assert store.unblock_steps(steps) == ["check-pdu-R02"]
    assert store.step("check-pdu-R02")["status"] == "pending"
    # a robot lost with steps in hand: a problem, the steps keep their status
    store.robot_problem("lift-robot-1", steps, "robot LIFT-001: offline", block=False)
    assert [p["step_id"] for p in store.problems()] == ["mount-sw1"]
    assert store.step("mount-sw1")["status"] == "pending"


def robot_cell(html: str, name: str) -> str:
    row = re.search(rf'<tr data-assignee="{name}">(.*?)</tr>', html, re.S)
    assert row, f"no row for {name}"
    return row.group(1).split("</td>")[0]


def test_the_lead_sees_each_robot_online_or_offline_with_the_reason(as_user, store_of):
    lead, _csrf = as_user("lee")
    cell = robot_cell(lead.get("/lead/panel").get_data(as_text=True), "lift-robot-1")
    assert 'data-link="unseen"' in cell and "not seen" in cell
    assert "data-link" not in robot_cell(
        lead.get("/lead/panel").get_data(as_text=True), "technician-1"
    )
    store_of.robot_connection("lift-robot-1", "LIFT-001", "online", "")
    cell = robot_cell(lead.get("/lead/panel").get_data(as_text=True), "lift-robot-1")
    assert 'data-link="online"' in cell and ">online<" in cell
    lost = "robot LIFT-001: connection broken (last will)"
    store_of.robot_connection("lift-robot-1", "LIFT-001", "offline", lost)
    cell = robot_cell(lead.get("/lead/panel").get_data(as_text=True), "lift-robot-1")
    assert 'data-link="offline"' in cell and lost in cell
    progress = lead.get("/api/progress").get_json()
    assert progress["robots"]["lift-robot-1"]["state"] == "offline"
    assert progress["robots"]["lift-robot-1"]["reason"] == lost
