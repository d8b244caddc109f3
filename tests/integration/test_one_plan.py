"""One plan, decided once and carried everywhere: the order, the work orders and the walking
paths in workorders.json are what the tablet shows, whichever way the plan was loaded.

On both sample halls, for every team member:

- ``fieldops load`` (the file) and ``POST /api/plans`` (the same document over HTTP) give
  identical step rows, orders, walks and floor;
- the tablet's queue (``GET /api/queue``) is the member's plan sequence, their booklet of work
  orders read front to back, with the checks of robots' steps where the plan booked them;
- every walk starts where the member stood after the item before it (a cable's far end after
  a cable) and ends at the item's place: the walks chain up into the plan's walking.
"""

from __future__ import annotations

import json

import pytest

from fieldops import services
from fieldops.adapters.store import Store, load_plan
from tests.samples import GPU_HALL, LAB_HALL

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=[LAB_HALL, GPU_HALL], ids=["lab-hall", "gpu-hall"])
def planned(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("plan")
    result = services.plan_design(request.param, out)
    return out, result.work


def _rows(store: Store) -> list[dict]:
    keep = ("id", "seq", "wo_seq", "workorder", "assignee", "checker", "check_seq", "path")
    return [
        {k: s[k] for k in keep} | {"check_path": store.step(s["id"])["check_path"]}
        for s in store.steps()
    ]


def _api_client(store):
    from fieldops.web import create_app
    from tests.fixtures_web import seed_users

    seed_users(store)
    app = create_app(
        {"TESTING": True, "STORE": store, "DATABASE_URL": store.url, "SECRET_KEY": "k" * 40}
    )
    client = app.test_client()
    tokens = {}

    def headers(user: str) -> dict:
        if user not in tokens:
            tokens[user] = store.create_token(user)
        return {"Authorization": f"Bearer {tokens[user]}"}

    return app, client, headers


def test_the_file_and_the_api_load_the_same_plan(planned, tmp_path):
    out, _ = planned
    by_cli = Store(f"sqlite:///{tmp_path / 'cli.db'}")
    by_api = Store(f"sqlite:///{tmp_path / 'api.db'}")
    try:
        load_plan(by_cli, out)
        app, client, headers = _api_client(by_api)
        doc = json.loads((out / "workorders.json").read_text())
        r = client.post("/api/plans", headers=headers("pat"), json=doc)
        assert r.status_code == 201, r.json
        app.extensions["fieldops_hub"].close()
        assert _rows(by_api) == _rows(by_cli)
        assert by_api.floor() == by_cli.floor() == doc["floor"]
    finally:
        by_cli.close()
        by_api.close()


def test_the_tablet_shows_each_members_plan_sequence_with_the_plans_walks(planned, tmp_path):
    out, work = planned
    store = Store(f"sqlite:///{tmp_path / 'floor.db'}")
    try:
        load_plan(store, out)
        app, client, headers = _api_client(store)
        steps = work.step_index()
        checks = work.stats.get("confirmations", [])
        # the robots have done their steps that a technician checks: each check is offered
        # to the technician booked for it, where the plan put it in their sequence
        for c in checks:
            store.set_status(
                c["step"], "awaiting_confirmation", {"robot": steps[c["step"]].assignee}
            )
        for member in work.team:
            if member.kind != "technician":
                continue
            # the booklet: the member's work orders front to back
            booklet = [
                sid
                for wo in work.workorders
                if wo.assignee == member.name
                for sid in wo.steps
                if steps[sid].assignee == member.name
            ]
            own = sorted(
                (s for s in work.steps if s.assignee == member.name), key=lambda s: s.order
            )
            assert [s.id for s in own] == booklet
            assert [s.order for s in own] == sorted(s.order for s in own)
            # the tablet: their own steps and their checks, in the plan's sequence
            mine = [(s.order, s.id, s.walk) for s in own]
            mine += [
                (c["order"], c["step"], c["walk"]) for c in checks if c["technician"] == member.name
            ]
            mine.sort(key=lambda t: t[0])
            user = "ann" if member.name == "technician-1" else None
            if user is None:
                store.add_user(f"u-{member.name}", "floor-pass-1", "technician", crew=member.name)
                user = f"u-{member.name}"
            # the tablet's list shows the first 200; the store holds the rest in the same order
            shown = client.get("/api/queue", headers=headers(user)).json["steps"]
            queue = store.queue(member.name, limit=len(mine) + 1)
            assert [q["id"] for q in queue] == [sid for _, sid, _ in mine]
            assert [q["id"] for q in shown] == [q["id"] for q in queue][:200]
            _assert_walks_chain(member.name, mine, steps)
        app.extensions["fieldops_hub"].close()
    finally:
        store.close()


def _assert_walks_chain(who, sequence, steps) -> None:
    """Each walk ends at the item's stand-off point and starts where the member stood after
    the item before: its place, or its far end when a cable pull ended there (a batch of
    cables ends at the far rack); no walk means the member is already there."""
    before: list | None = None
    for _, sid, walk in sequence:
        s = steps[sid]
        here = [s.location.x_mm, s.location.y_mm]
        path = None
        if walk is not None:
            pts = walk["path_mm"] if isinstance(walk, dict) else walk.path_mm
            path = [list(p) for p in pts]
        if path is None:
            assert before is None or here in before, f"{who} {sid}: no walk from {before}"
        else:
            assert path[-1] == here, f"{who} {sid}: walk ends at {path[-1]}, not at {here}"
            if before is not None:
                assert path[0] in before, f"{who} {sid}: walk starts at {path[0]}, not at {before}"
        before = [here] + ([_far_end(s)] if _far_end(s) is not None else [])


def _far_end(step):
    """A cable step ends at its far end (the other rack's stand-off point)."""
    if step.kind != "run_cable" or not isinstance(step.action, dict):
        return None
    here = (step.location.x_mm, step.location.y_mm)
    for key in ("a", "b"):
        e = step.action.get(key) or {}
        xy = (e.get("x_mm"), e.get("y_mm"))
        if isinstance(xy[0], int) and xy != here:
            return list(xy)
    return None
