"""The work-order store on real SQLite and PostgreSQL: load, queue, confirm, problems, robots,
users, tokens, events. Each test runs on both databases (``db_url`` fixture)."""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import pytest
from sqlalchemy import inspect, text

from fieldops.adapters.store import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Refused,
    Store,
    load_plan,
)
from fieldops.core.problems import DesignError
from tests.fixtures_db import (
    ASSET_1,
    CABLE_1,
    CABLE_2,
    CABLE_3,
    SAMPLE_FLOOR,
    robot_check_plan,
    sample_plan,
)


def finish_first_two(store):
    store.confirm("rack-R01", client_id="c-1", actor="ann", crew="technician-1")
    store.confirm("mount-srv1", client_id="c-2", actor="ann", crew="technician-1", codes=[ASSET_1])


# ---------------------------------------------------------------- schema and loading


def test_migrations_create_every_table_and_match_the_models(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from fieldops.adapters.store.migrate import current_revision, head_revision
    from fieldops.adapters.store.models import Base

    s = Store(db_url)
    try:
        names = set(inspect(s.engine).get_table_names())
        assert {
            "designs",
            "revisions",
            "steps",
            "confirmations",
            "problems",
            "users",
            "api_tokens",
            "events",
            "step_codes",
            "work_orders",
            "assignees",
            "step_deps",
            "drift_reports",
        } <= names
        assert current_revision(s.engine) == head_revision() == "0007"
        with s.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        Store(db_url).close()  # migrating again is a no-op
        assert current_revision(s.engine) == "0007"
    finally:
        s.close()


def test_servers_starting_at_once_migrate_one_after_the_other(db_url):
    """Four stores opened at the same moment on an empty database: every one comes up on the
    head schema (no "table already exists" from a second migrator)."""
    from fieldops.adapters.store.migrate import current_revision, head_revision

    barrier = threading.Barrier(4)
    stores, errors = [], []

    def open_store():
        barrier.wait()
        try:
            stores.append(Store(db_url))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert errors == []
        assert len(stores) == 4
        assert {current_revision(s.engine) for s in stores} == {head_revision()}
    finally:
        for s in stores:
            s.close()


def test_sqlite_runs_in_wal_mode(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'w.db'}")
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    s.close()


def test_load_plan_stores_steps_in_queue_order_and_is_idempotent(store):
    assert store.counts()["steps"] == 7
    assert [s["id"] for s in store.queue("technician-2")] == [
        f"cable-{CABLE_2}",
        f"cable-{CABLE_3}",
        "check-pdu-R02",
    ]
    step = store.step(f"cable-{CABLE_1}")
    assert step["expect_codes"] == [CABLE_1]
    assert step["parts"] == [{"kind": "cable", "ref": CABLE_1, "sku": "CAT6A-3M", "quantity": 1}]
    assert (step["rack"], step["u"], step["x_mm"], step["y_mm"]) == ("R01", 10, 1800, 2100)
    again = store.load_plan(sample_plan(), design="tiny", revision="1", hall="TINY")
    assert again["new"] is False
    assert store.counts()["steps"] == 7
    assert store.floor()["racks"][1]["name"] == "R02"
    assert [t["name"] for t in store.team()] == ["lift-robot-1", "technician-1", "technician-2"]


def test_a_new_revision_becomes_the_active_plan(store):
    plan = sample_plan()
    smaller = replace(
        plan,
        steps=plan.steps[:2],
        workorders=(replace(plan.workorders[0], steps=("rack-R01", "mount-srv1")),),
    )
    res = store.load_plan(smaller, design="tiny", revision="2", hall="TINY")
    assert res["new"] is True and res["steps"] == 2
    assert store.active_revision()["revision"] == "2"
    assert [s["id"] for s in store.steps()] == ["rack-R01", "mount-srv1"]


def _write_workorders(path, plan, hall="TINY"):
    from fieldops.adapters.workfiles import plan_document

    data = plan_document(
        plan, design={"name": "tiny", "revision": "7", "hall": hall}, floor=SAMPLE_FLOOR
    )
    path.mkdir(parents=True, exist_ok=True)
    (path / "workorders.json").write_text(json.dumps(data))
    return path


def test_load_plan_takes_order_walks_and_floor_from_workorders_json(db_url, tmp_path):
    """What the plan decided is loaded as it is: each step's place in its assignee's sequence
    and walk, each check's place and walk in its technician's sequence, the floor drawing."""
    s = Store(db_url)
    try:
        res = load_plan(s, _write_workorders(tmp_path / "plan", robot_check_plan()))
        assert res == {
            "revision_id": res["revision_id"],
            "design": "tiny",
            "revision": "7",
            "hall": "TINY",
            "steps": 7,
            "new": True,
        }
        # technician-1's second step is at the same spot as the first: no walk
        assert s.step("rack-R01")["path"] == [[300, 300], [1800, 2100]]
        assert s.step("mount-srv1")["path"] == []
        assert [q["id"] for q in s.queue("technician-1")] == [
            "rack-R01",
            "mount-srv1",
            f"cable-{CABLE_1}",
        ]
        # the robot's PDU cord: the robot's walk is none (it stands there); technician-2's
        # check of it comes third in her sequence, walked round the row's east end
        check = s.step("check-pdu-R02")
        assert (check["path"], check["check_seq"]) == ([], 2)
        assert check["check_path"] == [[3000, 2100], [3700, 2100], [3700, 3900], [2400, 3900]]
        assert s.floor() == SAMPLE_FLOOR
    finally:
        s.close()


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ('{"schema": "fieldops.workorders/9.0", "steps": []}', "schema"),
        ('{"schema": "fieldops.workorders/1.0", "steps": "nope"}', "run 'fieldops plan' again"),
        ("[1, 2]", "not a fieldops work-order file"),
    ],
)
def test_a_bad_workorders_file_is_refused_with_a_clear_message_and_nothing_loaded(
    tmp_path, content, message
):
    s = Store(f"sqlite:///{tmp_path / 'x.db'}")
    (tmp_path / "plan").mkdir()
    (tmp_path / "plan" / "workorders.json").write_text(content)
    with pytest.raises(DesignError) as exc:
        load_plan(s, tmp_path / "plan")
    assert message in str(exc.value)
    assert s.counts()["steps"] == 0
    s.close()


def test_a_missing_plan_directory_says_how_to_make_one(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(DesignError, match="run 'fieldops plan"):
        load_plan(s, tmp_path / "nowhere")
    s.close()


# ---------------------------------------------------------------- next step and confirmations


def test_next_step_follows_dependencies(store):
    assert store.next_step("technician-1")["id"] == "rack-R01"
    assert store.step("mount-srv1")["blocking"] == ["rack-R01"]
    store.confirm("rack-R01", client_id="c-1", actor="ann", crew="technician-1")
    assert store.next_step("technician-1")["id"] == "mount-srv1"
    assert store.next_step("nobody") is None


def test_open_steps_leave_the_done_ones_out_before_the_limit(store):
    every = [s["id"] for s in store.steps()]
    finish_first_two(store)
    assert [s["id"] for s in store.steps(open_only=True)] == every[2:]
    assert [s["id"] for s in store.steps(open_only=True, limit=2)] == every[2:4]


def test_next_step_prefers_the_step_in_progress_and_never_offers_one_with_an_unknown_dependency(
    db_url,
):
    """technician-2's queue: cable 2, cable 3, check-pdu. Started cable 3 comes before cable 2;
    a step depending on a step the plan does not have is never ready."""
    plan = sample_plan()
    steps = tuple(
        replace(s, depends_on=("no-such-step",)) if s.id == f"cable-{CABLE_2}" else s
        for s in plan.steps
    )
    s = Store(db_url)
    try:
        s.load_plan(replace(plan, steps=steps), design="tiny", revision="1", hall="TINY")
        assert s.next_step("technician-2")["id"] == f"cable-{CABLE_3}"
        assert s.step(f"cable-{CABLE_2}")["blocking"] == ["no-such-step"]
        s.start(f"cable-{CABLE_3}", actor="bob", crew="technician-2")
        assert s.next_step("technician-2")["id"] == f"cable-{CABLE_3}"
        s.confirm(
            f"cable-{CABLE_3}", client_id="c3", actor="bob", codes=[f"{CABLE_3}/A", f"{CABLE_3}/B"]
        )
        assert s.next_step("technician-2")["id"] == "check-pdu-R02"  # cable 2 is skipped
        with pytest.raises(Conflict, match="waits for 1 earlier step"):
            s.confirm(f"cable-{CABLE_2}", client_id="c2", actor="bob", codes=[f"{CABLE_2}/A"])
        s.start("rack-R01", actor="ann", crew="technician-1")
        s.start("mount-srv1", actor="ann", crew="technician-1")  # started out of order
        assert s.next_step("technician-1")["id"] == "rack-R01"
    finally:
        s.close()


def test_plans_loaded_before_the_step_deps_migration_get_their_dependencies(db_url):
    """Load at head, go back to 0001 (no step_deps table), forward again: the rows are rebuilt
    from each step's depends_on, and next_step works as before."""
    from alembic import command

    from fieldops.adapters.store.migrate import alembic_config, current_revision, head_revision

    s = Store(db_url)
    try:
        s.load_plan(sample_plan(), design="tiny", revision="1", hall="TINY")
        before = _dep_pairs(s)
        assert ("mount-srv1", "rack-R01") in before and len(before) == 2
        with s.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0001")
        assert "step_deps" not in inspect(s.engine).get_table_names()
        s.close()
        s = Store(db_url)  # migrates to head
        assert current_revision(s.engine) == head_revision()
        assert _dep_pairs(s) == before
        s.confirm("rack-R01", client_id="c-1", actor="ann", crew="technician-1")
        assert s.next_step("technician-1")["id"] == "mount-srv1"
    finally:
        s.close()


def _dep_pairs(store) -> set[tuple[str, str]]:
    with store.engine.connect() as conn:
        return {
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT s.step_id, t.step_id FROM step_deps d JOIN steps s ON s.id = d.step "
                    "JOIN steps t ON t.id = d.dep"
                )
            )
        }


def test_confirm_records_who_when_how_and_the_evidence(store, clock):
    finish_first_two(store)
    clock.advance(300)
    res = store.confirm(
        f"cable-{CABLE_1}",
        client_id="tab1-0003",
        actor="ann",
        crew="technician-1",
        codes=[f"{CABLE_1.lower()}/a", f" {CABLE_1}/B "],
        evidence={"note": "tight bend at R02"},
    )
    assert res.duplicate is False
    c = res.confirmation
    assert (c["actor"], c["how"], c["at"], c["codes"], c["evidence"]) == (
        "ann",
        "scan",
        clock.t,
        [f"{CABLE_1}/A", f"{CABLE_1}/B"],
        {"note": "tight bend at R02"},
    )
    step = store.step(f"cable-{CABLE_1}")
    assert step["status"] == "done"
    assert [x["client_id"] for x in step["confirmations"]] == ["tab1-0003"]
    assert store.next_step("technician-1") is None


def test_a_retry_with_the_same_client_id_is_recognised_not_recorded_twice(store):
    first = store.confirm("rack-R01", client_id="same-id", actor="ann", crew="technician-1")
    again = store.confirm("rack-R01", client_id="same-id", actor="ann", crew="technician-1")
    assert again.duplicate is True
    assert again.confirmation["id"] == first.confirmation["id"]
    assert store.counts()["confirmations"] == 1


def test_a_second_tablet_confirming_a_done_step_gets_a_conflict_naming_who(store):
    store.confirm("rack-R01", client_id="tab-a", actor="ann", crew="technician-1")
    with pytest.raises(Conflict, match="already confirmed by ann"):
        store.confirm("rack-R01", client_id="tab-b", actor="bob", crew="technician-1")
    with pytest.raises(Conflict, match="already used for another step"):
        store.confirm(f"cable-{CABLE_2}", client_id="tab-a", actor="ann", crew="technician-2")


def test_concurrent_confirmations_of_one_step_record_exactly_one(store):
    results, errors = [], []
    barrier = threading.Barrier(8)

    def go(i):
        barrier.wait()
        try:
            results.append(
                store.confirm(
                    f"cable-{CABLE_2}",
                    client_id=f"tab-{i}",
                    actor=f"t{i}",
                    crew="technician-2",
                    codes=[f"{CABLE_2}/A", f"{CABLE_2}/B"],
                )
            )
        except Conflict as exc:
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 1 and len(errors) == 7
    assert store.counts()["confirmations"] == 1
    assert len([e for e in store.events_after(0) if e["kind"] == "step_confirmed"]) == 1


def test_a_wrong_cable_is_refused_naming_the_cable_and_where_it_belongs(store):
    finish_first_two(store)
    with pytest.raises(Refused) as exc:
        store.confirm(
            f"cable-{CABLE_1}",
            client_id="x1",
            actor="ann",
            crew="technician-1",
            codes=[f"{CABLE_2}/A"],
        )
    # the scanned label's own place (its end A at R03), then where this step is
    assert exc.value.message == (
        f"Wrong label: {CABLE_2}/A is end A of cable {CABLE_2}: it belongs at rack R03 "
        f"(1A-F06), U10, front, srv2:eth0 (step cable-{CABLE_2}, technician-2). This step "
        f"(cable-{CABLE_1}) is at end A at rack R01 (1A-D06), U10, front, srv1:eth0 and end B "
        f"at rack R02 (1A-E06), U40, rear, sw1:swp1; it needs {CABLE_1}/A and {CABLE_1}/B."
    )
    assert store.step(f"cable-{CABLE_1}")["status"] == "pending"
    assert store.counts()["confirmations"] == 2  # the two earlier steps only
    assert [e["kind"] for e in store.events_after(0)][-1] == "scan_refused"  # kept for the lead


def test_an_unknown_code_and_a_missing_scan_are_refused(store):
    finish_first_two(store)
    with pytest.raises(Refused, match="C-ZZZZZZZ/A is not a label of this plan"):
        store.confirm(
            f"cable-{CABLE_1}",
            client_id="x1",
            actor="ann",
            crew="technician-1",
            codes=["C-ZZZZZZZ/A"],
        )
    with pytest.raises(Refused) as exc:
        store.confirm(f"cable-{CABLE_1}", client_id="x2", actor="ann", crew="technician-1")
    assert exc.value.message == (
        f"scan the label at each end of {CABLE_1} ({CABLE_1}/A and {CABLE_1}/B)"
    )
    with pytest.raises(Refused) as exc:  # the bare cable ID names no end
        store.confirm(
            f"cable-{CABLE_1}", client_id="x3", actor="ann", crew="technician-1", codes=[CABLE_1]
        )
    assert exc.value.message == (
        f"{CABLE_1} names no end: scan the label at each end ({CABLE_1}/A and {CABLE_1}/B)"
    )
    with pytest.raises(Refused) as exc:  # the same end twice is still one end
        store.confirm(
            f"cable-{CABLE_1}",
            client_id="x4",
            actor="ann",
            crew="technician-1",
            codes=[f"{CABLE_1}/B", f"{CABLE_1.lower()}/b"],
        )
    assert exc.value.message == (
        "scan the label at both ends: end A (rack R01 (1A-D06), U10, front, srv1:eth0) not "
        "scanned yet"
    )
    assert store.step(f"cable-{CABLE_1}")["status"] == "pending"


@pytest.mark.parametrize(
    "code", ["", "   ", "C-1/A/B", "'; DROP TABLE steps; --", "x" * 300, "<script>"]
)
def test_hostile_codes_are_invalid_input(store, code):
    with pytest.raises(Invalid):
        store.confirm("rack-R01", client_id="x1", actor="ann", codes=[code])
    assert store.counts()["steps"] == 7


def test_a_technician_confirms_only_their_crews_steps_and_only_ready_ones(store):
    with pytest.raises(Forbidden, match="assigned to technician-2, not to your crew"):
        store.confirm(
            f"cable-{CABLE_2}",
            client_id="x1",
            actor="ann",
            crew="technician-1",
            codes=[f"{CABLE_2}/A"],
        )
    with pytest.raises(Conflict, match="waits for 1 earlier step"):
        store.confirm(
            "mount-srv1", client_id="x2", actor="ann", crew="technician-1", codes=[ASSET_1]
        )
    with pytest.raises(NotFound):
        store.confirm("no-such-step' OR '1'='1", client_id="x3", actor="ann")


def test_a_problem_blocks_the_step_until_the_lead_resolves_it(store):
    p = store.report_problem(
        f"cable-{CABLE_2}",
        kind="wrong_length",
        note="3 m is 40 cm short",
        actor="bob",
        crew="technician-2",
    )
    assert store.step(f"cable-{CABLE_2}")["status"] == "blocked"
    assert [x["id"] for x in store.problems()] == [p["id"]]
    with pytest.raises(Conflict, match="blocked"):
        store.confirm(
            f"cable-{CABLE_2}",
            client_id="x1",
            actor="bob",
            crew="technician-2",
            codes=[f"{CABLE_2}/A"],
        )
    assert store.next_step("technician-2")["id"] == f"cable-{CABLE_3}"
    res = store.resolve_problem(p["id"], actor="lee", resolution="4 m cable issued")
    assert res["step_status"] == "pending"
    assert store.problems() == []
    assert store.problems(status=None)[0]["resolution"] == "4 m cable issued"
    with pytest.raises(Conflict):
        store.resolve_problem(p["id"], actor="lee")
    kinds = [e["kind"] for e in store.events_after(0)]
    assert kinds[-2:] == ["problem_reported", "problem_resolved"]


def test_problem_input_is_checked(store):
    with pytest.raises(Invalid, match="kind must be one of"):
        store.report_problem("rack-R01", kind="bogus", note="", actor="a")
    with pytest.raises(Invalid, match="say what is wrong"):
        store.report_problem("rack-R01", kind="other", note="  ", actor="a")
    with pytest.raises(Invalid, match="at most 2000"):
        store.report_problem("rack-R01", kind="other", note="x" * 2001, actor="a")


def test_robot_results_land_through_the_step_sink(store):
    store.set_status("mount-sw1", "in_progress", "RUNNING")
    assert store.step("mount-sw1")["status"] == "in_progress"
    with pytest.raises(Conflict, match="confirmed by the robot"):
        store.confirm("mount-sw1", client_id="x1", actor="lee")
    store.set_status("mount-sw1", "done", "FINISHED")
    store.set_status("mount-sw1", "done", "FINISHED")  # repeated report: no second confirmation
    store.set_status("mount-sw1", "failed", "late")  # done is final
    step = store.step("mount-sw1")
    assert step["status"] == "done"
    assert [(c["how"], c["actor"]) for c in step["confirmations"]] == [("robot", "lift-robot-1")]
    # what the bridge reads for the steps its robots wait for (unknown IDs left out)
    assert store.statuses(["mount-sw1", "rack-R01", "no-such-step"]) == {
        "mount-sw1": "done",
        "rack-R01": "pending",
    }
    # robot+technician: the technician confirms only after the robot finished
    with pytest.raises(Conflict, match="has not finished"):
        store.confirm("check-pdu-R02", client_id="x2", actor="bob", crew="technician-2")
    store.set_status("check-pdu-R02", "awaiting_confirmation", "FINISHED")
    assert (
        store.confirm(
            "check-pdu-R02", client_id="x3", actor="bob", crew="technician-2"
        ).confirmation["how"]
        == "manual"
    )
    with pytest.raises(Invalid):
        store.set_status("mount-sw1", "exploded")


def test_reassign_moves_a_step_into_another_queue_in_plan_order(store):
    store.reassign(f"cable-{CABLE_3}", "technician-1", actor="lee")
    assert [s["id"] for s in store.queue("technician-1")] == [
        "rack-R01",
        "mount-srv1",
        f"cable-{CABLE_1}",
        f"cable-{CABLE_3}",
    ]
    with pytest.raises(NotFound, match="not a member"):
        store.reassign(f"cable-{CABLE_2}", "mallory", actor="lee")
    assert store.events_after(0)[-1]["data"] == {
        "from": "technician-2",
        "to": "technician-1",
        "rack": "R03",
    }


def test_progress_counts_and_time_to_completion_from_actual_confirmations(store, clock):
    store.confirm("rack-R01", client_id="c1", actor="ann", crew="technician-1")
    clock.advance(1200)  # mount-srv1 estimated 600 s took 1200 s: technician-1 runs at pace 2
    store.confirm("mount-srv1", client_id="c2", actor="ann", crew="technician-1", codes=[ASSET_1])
    p = store.progress()
    assert (p["total"], p["done"]) == (7, 2)
    stack = next(x for x in p["phases"] if x["phase"] == "stack")
    assert stack["counts"] == {"done": 1, "ready": 1}  # mount-sw1 has no deps: ready
    r01 = next(x for x in p["racks"] if x["rack"] == "R01")
    assert (r01["counts"], r01["state"]) == ({"done": 2, "ready": 1}, "in_progress")
    # remaining: technician-1 240 s x 2 = 480; technician-2 240+240+120 = 600; robot 300
    assert p["eta"]["per_assignee_s"] == {
        "lift-robot-1": 300.0,
        "technician-1": 480.0,
        "technician-2": 600.0,
    }
    assert p["eta"]["remaining_s"] == 600.0
    t1 = next(a for a in p["assignees"] if a["name"] == "technician-1")
    assert (t1["done"], t1["total"], t1["next"]["id"]) == (2, 3, f"cable-{CABLE_1}")


# ---------------------------------------------------------------- users, tokens, events


def test_passwords_are_hashed_and_checked(store):
    store.add_user("ann", "correct horse", "technician", crew="technician-1")
    with store.engine.connect() as conn:
        stored = conn.execute(
            text("select password_hash from users where name = :n"), {"n": "ann"}
        ).scalar()
    assert "correct horse" not in stored and stored.startswith(("scrypt:", "pbkdf2:"))
    assert store.authenticate("ann", "correct horse")["crew"] == "technician-1"
    assert store.authenticate("ann", "wrong") is None
    assert store.authenticate("nobody", "correct horse") is None
    with pytest.raises(Conflict):
        store.add_user("ann", "another one", "lead")
    with pytest.raises(Invalid, match="role must be one of"):
        store.add_user("eve", "long enough", "root")
    with pytest.raises(Invalid, match="at least 8"):
        store.add_user("eve", "short", "lead")


def test_api_tokens_are_stored_hashed_and_can_be_revoked(store):
    store.add_user("lee", "a long password", "lead")
    raw = store.create_token("lee", "ci")
    assert store.user_for_token(raw)["name"] == "lee"
    with store.engine.connect() as conn:
        assert (
            conn.execute(
                text("select count(*) from api_tokens where token_hash = :t"), {"t": raw}
            ).scalar()
            == 0
        )
    assert store.user_for_token(raw + "x") is None
    assert store.user_for_token("not-a-token") is None
    assert store.revoke_tokens("lee") == 1
    assert store.user_for_token(raw) is None


def test_events_are_appended_in_order_and_listeners_hear_only_committed_ones(store):
    heard = []
    store.listeners.append(heard.append)
    store.confirm("rack-R01", client_id="c1", actor="ann", crew="technician-1")
    with pytest.raises(Forbidden):
        store.confirm(
            f"cable-{CABLE_2}", client_id="c2", actor="ann", crew="technician-1", codes=[CABLE_2]
        )
    assert [e["kind"] for e in heard] == ["step_confirmed"]
    events = store.events_after(0)
    assert [e["kind"] for e in events] == ["plan_loaded", "step_confirmed"]
    assert events[1]["id"] > events[0]["id"]
    assert store.events_after(events[0]["id"]) == events[1:]
    assert store.last_event_id() == events[1]["id"]
    assert heard[0]["id"] == events[1]["id"]


def test_a_floor_map_loaded_with_the_plan_is_returned_whole(store):
    assert store.floor() == SAMPLE_FLOOR


def test_any_technician_confirms_a_robots_robot_plus_technician_step(store):
    store.reassign("check-pdu-R02", "lift-robot-1", actor="lee")
    store.set_status(
        "check-pdu-R02", "awaiting_confirmation", {"robot": "lift-robot-1", "actions": {}}
    )
    res = store.confirm("check-pdu-R02", client_id="x1", actor="ann", crew="technician-1")
    assert (res.confirmation["actor"], res.step["status"]) == ("ann", "done")
    # a plain robot step is still the robot's alone
    with pytest.raises(Forbidden, match="assigned to lift-robot-1"):
        store.confirm("mount-sw1", client_id="x2", actor="ann", crew="technician-1")


def test_a_failed_robot_action_opens_a_blocker_for_the_lead(store):
    store.set_status("mount-sw1", "blocked", {"robot": "lift-robot-1", "error": "gripper fault"})
    assert [(p["step_id"], p["note"]) for p in store.problems()] == [
        ("mount-sw1", "robot: gripper fault")
    ]
    assert store.step("mount-sw1")["status_detail"] == "gripper fault"


def test_a_robots_finished_work_waits_in_the_queue_of_the_technician_booked_to_check_it(db_url):
    """lift-robot-1 plugs the PDU cord (robot+technician), the schedule booked technician-2 to
    check it: once the robot reports it finished, the check is technician-2's next step (after
    the step they have in hand), in their queue, theirs to open and confirm; start stays
    theirs only for their own steps."""
    s = Store(db_url)
    try:
        s.load_plan(robot_check_plan(), design="tiny", revision="1", hall="TINY")
        check = s.step("check-pdu-R02")
        assert (check["assignee"], check["checker"]) == ("lift-robot-1", "technician-2")
        own = s.next_step("technician-2")["id"]
        assert own == f"cable-{CABLE_2}"
        assert "check-pdu-R02" not in [q["id"] for q in s.queue("technician-2")]
        s.set_status("mount-sw1", "done", "FINISHED")
        s.set_status("check-pdu-R02", "awaiting_confirmation", {"robot": "lift-robot-1"})
        assert s.next_step("technician-2")["id"] == "check-pdu-R02"
        assert "check-pdu-R02" in [q["id"] for q in s.queue("technician-2")]
        assert s.next_step("technician-1")["id"] == "rack-R01"  # booked for technician-2 only
        bob = next(a for a in s.progress()["assignees"] if a["name"] == "technician-2")
        assert bob["checks"] == 1 and bob["next"] == {
            "id": "check-pdu-R02",
            "title": "Check PDU cord R02",
            "status": "check",
        }  # the lead sees what the technician's tablet shows next
        s.start(own, actor="bob", crew="technician-2")  # a step in hand comes first
        assert s.next_step("technician-2")["id"] == own
        assert s.step("check-pdu-R02", crew="technician-2")["status"] == "awaiting_confirmation"
        with pytest.raises(Forbidden, match="assigned to technician-2, not to your crew"):
            s.step(own, crew="technician-1")
        with pytest.raises(Forbidden):
            s.start("check-pdu-R02", actor="bob", crew="technician-2")
        res = s.confirm("check-pdu-R02", client_id="chk-1", actor="bob", crew="technician-2")
        assert (res.confirmation["how"], res.step["status"]) == ("manual", "done")
        assert "check-pdu-R02" not in [q["id"] for q in s.queue("technician-2")]
    finally:
        s.close()


def test_a_robots_step_handed_to_a_technician_is_confirmed_by_the_technician(db_url):
    """The lift robot is down: the lead hands its switch mount to technician-2. No robot will
    report it finished, so the technician confirms it, scanning the asset tag the robot would
    have verified; handed back to the robot, the step is the robot's to confirm again."""
    plan = sample_plan()
    plan = replace(
        plan,
        steps=tuple(
            replace(s, expect_codes=("AT-SW1",)) if s.id == "mount-sw1" else s for s in plan.steps
        ),
    )
    s = Store(db_url)
    try:
        s.load_plan(plan, design="tiny", revision="1", hall="TINY")
        with pytest.raises(Conflict, match="confirmed by the robot"):
            s.confirm("mount-sw1", client_id="r0", actor="lee")
        moved = s.reassign("mount-sw1", "technician-2", actor="lee")
        assert (moved["assignee"], moved["confirm"]) == ("technician-2", "scan_asset")
        assert s.events_after(0)[-1]["data"]["confirm"] == "scan_asset"
        back = s.reassign("mount-sw1", "lift-robot-1", actor="lee")
        assert back["confirm"] == "robot"
        s.reassign("mount-sw1", "technician-2", actor="lee")
        with pytest.raises(Refused, match="scan the asset tag of AT-SW1"):
            s.confirm("mount-sw1", client_id="r1", actor="bob", crew="technician-2")
        res = s.confirm(
            "mount-sw1", client_id="r2", actor="bob", crew="technician-2", codes=["AT-SW1"]
        )
        assert (res.confirmation["how"], res.step["status"]) == ("scan", "done")
        # a robot+technician step without codes: confirmed by hand
        assert s.reassign("check-pdu-R02", "technician-1", actor="lee")["confirm"] == "manual"
        # a robot that does a step handed to a technician anyway (it was in its order): the
        # confirmation names the robot that reported it, not the technician
        s.reassign("check-pdu-R02", "lift-robot-1", actor="lee")
        s.reassign("check-pdu-R02", "technician-2", actor="lee")
        s.set_status("check-pdu-R02", "done", {"robot": "LIFT-001", "actions": []})
        (conf,) = s.step("check-pdu-R02")["confirmations"]
        assert (conf["actor"], conf["how"]) == ("LIFT-001", "robot")
    finally:
        s.close()


def test_a_check_handed_to_another_technician_is_no_longer_the_booked_ones(db_url):
    """The robot finished the PDU cord; the lead hands its check from technician-2 (booked) to
    technician-1: it leaves technician-2's queue, dashboard line and permissions, and
    technician-1 confirms it."""
    s = Store(db_url)
    try:
        s.load_plan(robot_check_plan(), design="tiny", revision="1", hall="TINY")
        s.set_status("mount-sw1", "done", "FINISHED")
        s.set_status("check-pdu-R02", "awaiting_confirmation", {"robot": "lift-robot-1"})
        assert s.next_step("technician-2")["id"] == "check-pdu-R02"
        s.reassign("check-pdu-R02", "technician-1", actor="lee")
        assert s.next_step("technician-2")["id"] == f"cable-{CABLE_2}"
        assert "check-pdu-R02" not in [q["id"] for q in s.queue("technician-2")]
        assert "check-pdu-R02" in [q["id"] for q in s.queue("technician-1")]
        bob = next(a for a in s.progress()["assignees"] if a["name"] == "technician-2")
        assert bob["checks"] == 0
        with pytest.raises(Forbidden):
            s.confirm("check-pdu-R02", client_id="chk-bob", actor="bob", crew="technician-2")
        res = s.confirm("check-pdu-R02", client_id="chk-ann", actor="ann", crew="technician-1")
        assert (res.confirmation["actor"], res.step["status"]) == ("ann", "done")
    finally:
        s.close()


@pytest.mark.parametrize("order", [2**31, 2**64])
def test_a_plan_number_past_the_columns_is_a_problem_not_a_crash(store, order):
    """POST /api/plans once answered 500 here (SQLite: past 64 bits; PostgreSQL: past 32)."""
    from fieldops.adapters.store.loadplan import load_plan_document
    from fieldops.adapters.workfiles import plan_document

    design = {"name": "tiny", "revision": "big", "hall": "TINY"}
    doc = plan_document(sample_plan(), design=design, floor=SAMPLE_FLOOR)
    doc["steps"][0]["order"] = order
    try:
        load_plan_document(store, doc)
    except DesignError as exc:
        assert "larger than 2147483647" in str(exc.problems[0])
    else:  # SQLite keeps 64 bits
        assert order < 2**63 and store.url.startswith("sqlite")
