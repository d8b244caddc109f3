"""The as-built loop through the web app: the planned lab hall loaded into a store, its steps
confirmed the way the floor does (technicians scan labels and asset tags, robots report
FINISHED), the confirmations read back page by page from ``GET /api/confirmations`` with a
lead's token, and ``fieldops reconcile --confirmations`` names exactly what was not built."""

from __future__ import annotations

import json
from graphlib import TopologicalSorter

import pytest

from fieldops import services
from fieldops.cli import main
from fieldops.core.labels import assign_cable_ids
from tests.samples import LAB_HALL

SKIPPED_SERVER = "srv-30"  # never mounted, so none of its cables is run either


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab") / "plan"
    result = services.plan_design(LAB_HALL, out)
    return out, result.loaded.design, result.work.steps


def confirm_like_the_floor(store, steps, skip: set[str]) -> int:
    """Every step not in ``skip`` (nor depending on one), in dependency order."""
    order = TopologicalSorter({s.id: set(s.depends_on) for s in steps}).static_order()
    by_id = {s.id: s for s in steps}
    skipped, n = set(skip), 0
    for sid in order:
        step = by_id[sid]
        if sid in skipped or skipped & set(step.depends_on):
            skipped.add(sid)
            continue
        if step.confirm == "robot":
            store.set_status(sid, "done", {"robot": step.assignee})
        else:
            if step.confirm == "robot+technician":
                store.set_status(sid, "awaiting_confirmation", {"robot": step.assignee})
            step = store.step(sid)
            codes = step["expect_codes"]
            if step["cable"]:  # a cable's label is scanned at both ends
                codes = [f"{c}/{end}" for c in codes for end in ("A", "B")]
            store.confirm(sid, client_id=f"floor-{n}", actor="ann", codes=list(codes))
        n += 1
    return n


def test_confirmations_exported_by_the_api_drive_reconcile(planned, tmp_path, capsys):
    from fieldops.adapters.store import Store, load_plan
    from fieldops.web import create_app

    plan_dir, design, steps = planned
    store = Store(f"sqlite:///{tmp_path / 'floor.db'}")
    store.password_method = "pbkdf2:sha256:1000"
    app = create_app(
        {
            "TESTING": True,
            "STORE": store,
            "DATABASE_URL": store.url,
            "SECRET_KEY": "test-secret-key-" + "x" * 32,
        }
    )
    try:
        load_plan(store, plan_dir)
        confirmed = confirm_like_the_floor(store, steps, {f"mount:{SKIPPED_SERVER}"})
        store.add_user("lee", "lead-password", "lead")
        store.add_user("ann", "tech-password", "technician", crew="technician-1")
        lead = {"Authorization": f"Bearer {store.create_token('lee')}"}
        client = app.test_client()

        pages, after = [], 0
        while after is not None:
            r = client.get(f"/api/confirmations?after={after}&limit=50", headers=lead)
            assert r.status_code == 200, r.json
            pages.append(r.json["confirmations"])
            after = r.json["next_after"]
        exported = [c for page in pages for c in page]
        assert all(len(page) == 50 for page in pages[:-1]) and len(pages[-1]) < 50
        assert len(exported) == confirmed
        assert [c["id"] for c in exported] == sorted(c["id"] for c in exported)
        assert {c["how"] for c in exported} == {"scan", "manual", "robot"}

        tech = {"Authorization": f"Bearer {store.create_token('ann')}"}
        assert client.get("/api/confirmations", headers=tech).status_code == 403
        assert client.get("/api/confirmations?limit=0", headers=lead).status_code == 400
    finally:
        app.extensions["fieldops_hub"].close()
        store.close()

    conf_file = tmp_path / "confirmations.json"
    conf_file.write_text(json.dumps({"confirmations": exported}))
    out = tmp_path / "drift"
    argv = ["reconcile", str(LAB_HALL), "--confirmations", str(conf_file)]
    code = main([*argv, "--plan", str(plan_dir), "-o", str(out), "--format", "json"])
    assert code == 1, capsys.readouterr().err  # drift found
    drift = json.loads((out / "drift.json").read_text())
    ids = assign_cable_ids(design.cables)[0]
    touching = {
        c.key for c in design.cables if any(p.startswith(f"{SKIPPED_SERVER}:") for p in c.key)
    }
    assert touching
    missing_cables = {c["cable"] for c in drift["cables"] if c["status"] != "as_designed"}
    assert missing_cables == {ids[k] for k in touching}
    assert {c["status"] for c in drift["cables"] if c["status"] != "as_designed"} == {"missing"}
    off = {(d["device"], d["status"]) for d in drift["devices"] if d["status"] != "as_designed"}
    assert off == {(SKIPPED_SERVER, "missing")}
