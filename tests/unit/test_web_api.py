"""The JSON API through the Flask test client: every endpoint, bearer tokens, the session +
CSRF path, forbidden cases per role, and bad input (malformed, oversized, hostile)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures_db import ASSET_1, CABLE_1, CABLE_2, CABLE_3, SAMPLE_FLOOR, sample_plan

REPO = Path(__file__).resolve().parents[2]


def api(client, method, path, headers, payload=None, **kw):
    return client.open(path, method=method, headers=headers, json=payload, **kw)


def test_bearer_token_identifies_the_user(client, token_for):
    r = client.get("/api/me", headers=token_for("ann"))
    assert r.status_code == 200
    assert r.json == {"name": "ann", "role": "technician", "crew": "technician-1", "can": ["work"]}


@pytest.mark.parametrize("header", ["Bearer fo_unknown", "Bearer ", "Basic YWJjOmRlZg==", "fo_x"])
def test_a_bad_authorization_header_is_401_with_a_reason(client, header):
    r = client.get("/api/me", headers={"Authorization": header})
    assert r.status_code == 401
    assert r.json["error"]["status"] == 401 and r.json["error"]["message"]


def test_anonymous_api_calls_get_401_json(client):
    r = client.get("/api/next")
    assert r.status_code == 401 and r.json == {"error": {"status": 401, "message": "log in first"}}


def test_session_api_calls_need_the_csrf_header(as_user):
    c, token = as_user("ann")
    r = c.post("/api/steps/rack-R01/confirm", json={"client_id": "s-1"})
    assert r.status_code == 400 and "CSRF" in r.json["error"]["message"]
    r = c.post(
        "/api/steps/rack-R01/confirm", json={"client_id": "s-1"}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 201


def test_tokens_are_created_for_yourself_and_work_at_once(as_user, client):
    c, token = as_user("lee")
    r = c.post("/api/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 201 and r.json["token"].startswith("fo_") and r.json["user"] == "lee"
    assert (
        client.get(
            "/api/progress", headers={"Authorization": "Bearer " + r.json["token"]}
        ).status_code
        == 200
    )


def test_next_and_queue_for_a_technician_and_for_a_lead(client, token_for):
    ann = token_for("ann")
    assert client.get("/api/next", headers=ann).json["step"]["id"] == "rack-R01"
    assert [s["id"] for s in client.get("/api/queue", headers=ann).json["steps"]] == [
        "rack-R01",
        "mount-srv1",
        f"cable-{CABLE_1}",
    ]
    lee = token_for("lee")
    assert (
        client.get("/api/next?crew=technician-2", headers=lee).json["step"]["id"]
        == f"cable-{CABLE_2}"
    )
    r = client.get("/api/next", headers=lee)
    assert r.status_code == 400 and "'crew' is required" in r.json["error"]["message"]
    assert client.get("/api/next", headers=token_for("pat")).status_code == 403
    assert client.get("/api/next", headers=token_for("nia")).status_code == 403


def test_confirm_is_idempotent_per_client_id_and_refuses_a_second_tablet(
    client, token_for, store_of
):
    ann = token_for("ann")
    r1 = client.post(
        "/api/steps/rack-R01/confirm",
        headers=ann,
        json={"client_id": "tab-1-0001", "evidence": {"photo": "none"}},
    )
    assert r1.status_code == 201 and r1.json["duplicate"] is False
    assert r1.json["confirmation"]["how"] == "manual" and r1.json["step"]["status"] == "done"
    r2 = client.post("/api/steps/rack-R01/confirm", headers=ann, json={"client_id": "tab-1-0001"})
    assert r2.status_code == 200 and r2.json["duplicate"] is True
    assert r2.json["confirmation"]["id"] == r1.json["confirmation"]["id"]
    r3 = client.post("/api/steps/rack-R01/confirm", headers=ann, json={"client_id": "tab-2-0001"})
    assert (
        r3.status_code == 409
        and r3.json["error"]["message"] == "step rack-R01 is already confirmed by ann"
    )
    assert store_of.counts()["confirmations"] == 1


def test_confirm_a_cable_by_its_qr_payload_and_refuse_a_wrong_one(client, token_for):
    ann = token_for("ann")
    client.post("/api/steps/rack-R01/confirm", headers=ann, json={"client_id": "a1"})
    client.post(
        "/api/steps/mount-srv1/confirm", headers=ann, json={"client_id": "a2", "codes": [ASSET_1]}
    )
    wrong = client.post(
        f"/api/steps/cable-{CABLE_1}/confirm",
        headers=ann,
        json={"client_id": "a3", "codes": [f"{CABLE_3}/B"]},
    )
    assert wrong.status_code == 422
    err = wrong.json["error"]
    assert err["wrong"] == [CABLE_3] and err["expected"] == [CABLE_1]
    # end B of cable 3 is at R02's rear (sw1:up1), not at R03 where its step starts
    assert (
        f"{CABLE_3}/B is end B of cable {CABLE_3}: it belongs at rack R02 (1A-E06), U40, rear, "
        f"sw1:up1 (step cable-{CABLE_3}, technician-2)." in err["message"]
    )
    one_end = client.post(
        f"/api/steps/cable-{CABLE_1}/confirm",
        headers=ann,
        json={"client_id": "a4", "codes": [f"{CABLE_1}/A"]},
    )
    assert one_end.status_code == 422
    assert one_end.json["error"]["message"] == (
        "scan the label at both ends: end B (rack R02 (1A-E06), U40, rear, sw1:swp1) not scanned yet"
    )
    assert one_end.json["error"]["missing"] == [f"{CABLE_1}/B"]
    ok = client.post(
        f"/api/steps/cable-{CABLE_1}/confirm",
        headers=ann,
        json={"client_id": "a5", "codes": [f"{CABLE_1}/B", f"{CABLE_1}/A"]},  # either order
    )
    assert ok.status_code == 201
    assert ok.json["confirmation"]["codes"] == [f"{CABLE_1}/B", f"{CABLE_1}/A"]


def test_confirm_forbidden_cases_per_role(client, token_for):
    body = {"client_id": "x-1", "codes": [f"{CABLE_2}/A", f"{CABLE_2}/B"]}
    assert (
        client.post(
            f"/api/steps/cable-{CABLE_2}/confirm", headers=token_for("ann"), json=body
        ).status_code
        == 403
    )  # other crew
    assert (
        client.post(
            f"/api/steps/cable-{CABLE_2}/confirm", headers=token_for("pat"), json=body
        ).status_code
        == 403
    )  # planner
    assert (
        client.post(
            f"/api/steps/cable-{CABLE_2}/confirm", headers=token_for("lee"), json=body
        ).status_code
        == 201
    )  # lead may


def test_start_problem_resolve_and_reassign(client, token_for, store_of):
    bob, lee = token_for("bob"), token_for("lee")
    r = client.post(f"/api/steps/cable-{CABLE_2}/start", headers=bob, json={})
    assert r.status_code == 200 and r.json["step"]["status"] == "in_progress"
    r = client.post(
        f"/api/steps/cable-{CABLE_2}/problems",
        headers=bob,
        json={"kind": "missing_part", "note": "no 3 m Cat6A on the cart"},
    )
    assert r.status_code == 201
    pid = r.json["problem"]["id"]
    assert client.get("/api/problems", headers=bob).status_code == 403
    probs = client.get("/api/problems", headers=lee).json["problems"]
    assert [(p["id"], p["kind"], p["step_id"]) for p in probs] == [
        (pid, "missing_part", f"cable-{CABLE_2}")
    ]
    assert (
        client.post(f"/api/problems/{pid}/resolve", headers=token_for("pat"), json={}).status_code
        == 403
    )
    r = client.post(f"/api/problems/{pid}/resolve", headers=lee, json={"resolution": "brought one"})
    assert r.status_code == 200 and r.json["result"]["step_status"] == "in_progress"
    assert (
        client.get("/api/problems?status=all", headers=lee).json["problems"][0]["status"]
        == "resolved"
    )
    assert client.get("/api/problems?status=weird", headers=lee).status_code == 400
    assert (
        client.post(
            f"/api/steps/cable-{CABLE_3}/reassign", headers=bob, json={"assignee": "technician-1"}
        ).status_code
        == 403
    )
    r = client.post(
        f"/api/steps/cable-{CABLE_3}/reassign", headers=lee, json={"assignee": "technician-1"}
    )
    assert r.status_code == 200 and r.json["step"]["assignee"] == "technician-1"


def test_watch_endpoints(client, token_for):
    lee = token_for("lee")
    steps = client.get("/api/steps?phase=cable", headers=lee).json["steps"]
    assert [s["id"] for s in steps] == [f"cable-{CABLE_1}", f"cable-{CABLE_2}", f"cable-{CABLE_3}"]
    assert [
        s["id"] for s in client.get("/api/steps?limit=2&offset=1", headers=lee).json["steps"]
    ] == ["mount-srv1", f"cable-{CABLE_1}"]
    assert client.get("/api/steps?limit=0", headers=lee).status_code == 400
    assert client.get("/api/steps?limit=abc", headers=lee).status_code == 400
    assert client.get("/api/steps", headers=token_for("ann")).status_code == 403
    prog = client.get("/api/progress", headers=lee).json
    assert (prog["total"], prog["done"], prog["hall"]) == (7, 0, "TINY")
    assert client.get("/api/floor", headers=lee).json["racks"][0]["name"] == "R01"
    assert [t["name"] for t in client.get("/api/team", headers=lee).json["team"]] == [
        "lift-robot-1",
        "technician-1",
        "technician-2",
    ]


def test_step_detail_respects_crews(client, token_for):
    assert client.get(f"/api/steps/cable-{CABLE_1}", headers=token_for("ann")).json["step"][
        "blocking"
    ] == ["mount-srv1"]
    assert client.get(f"/api/steps/cable-{CABLE_2}", headers=token_for("ann")).status_code == 403
    assert client.get(f"/api/steps/cable-{CABLE_2}", headers=token_for("pat")).status_code == 200
    assert client.get("/api/steps/nope", headers=token_for("pat")).status_code == 404


def test_where_does_a_scanned_code_belong(client, token_for):
    ann = token_for("ann")
    r = client.get(f"/api/codes/{CABLE_2.lower()}/b", headers=ann)
    assert r.status_code == 200 and r.json["code"] == CABLE_2 and r.json["end"] == "B"
    assert (
        r.json["steps"][0]["step_id"] == f"cable-{CABLE_2}" and r.json["steps"][0]["rack"] == "R03"
    )
    assert client.get("/api/codes/C-0000000", headers=ann).status_code == 404
    assert client.get("/api/codes/%3Cscript%3E", headers=ann).status_code == 400


def test_events_after_an_id(client, token_for):
    ann, lee = token_for("ann"), token_for("lee")
    first = client.get("/api/events", headers=lee).json["events"]
    assert [e["kind"] for e in first] == ["plan_loaded"]
    client.post("/api/steps/rack-R01/confirm", headers=ann, json={"client_id": "e1"})
    after = client.get(f"/api/events?after={first[-1]['id']}", headers=lee).json["events"]
    assert [(e["kind"], e["step_id"], e["actor"]) for e in after] == [
        ("step_confirmed", "rack-R01", "ann")
    ]


def _doc(revision="2"):
    from fieldops.adapters.workfiles import plan_document

    design = {"name": "tiny", "revision": revision, "hall": "TINY"}
    return plan_document(sample_plan(), design=design, floor=SAMPLE_FLOOR)


def test_planners_load_plans_over_the_api(client, token_for):
    r = client.post("/api/plans", headers=token_for("pat"), json=_doc("2"))
    assert r.status_code == 201, r.json
    assert (r.json["revision"], r.json["steps"], r.json["new"]) == ("2", 7, True)
    assert client.post("/api/plans", headers=token_for("pat"), json=_doc("2")).status_code == 200
    assert client.post("/api/plans", headers=token_for("lee"), json=_doc("3")).status_code == 403
    bad = client.post("/api/plans", headers=token_for("ada"), json={"schema": "nope"})
    assert bad.status_code == 400 and "schema" in bad.json["error"]["message"]


def test_admins_manage_users(client, token_for):
    ada = token_for("ada")
    r = client.post(
        "/api/users",
        headers=ada,
        json={
            "name": "cy",
            "password": "long enough",
            "role": "technician",
            "crew": "technician-2",
        },
    )
    assert r.status_code == 201 and r.json["user"]["crew"] == "technician-2"
    assert "cy" in [u["name"] for u in client.get("/api/users", headers=ada).json["users"]]
    assert (
        client.post(
            "/api/users",
            headers=ada,
            json={"name": "cy", "password": "long enough", "role": "lead"},
        ).status_code
        == 409
    )
    assert (
        client.post(
            "/api/users", headers=ada, json={"name": "dee", "password": "x", "role": "lead"}
        ).status_code
        == 400
    )
    assert client.get("/api/users", headers=token_for("lee")).status_code == 403
    assert "password_hash" not in json.dumps(client.get("/api/users", headers=ada).json)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "data, ctype, status, message",
    [
        (b"{not json", "application/json", 400, "not valid JSON"),
        (b"[1, 2]", "application/json", 400, "must be a JSON object"),
        (b"\xff\xfe", "application/json", 400, "not valid JSON"),
        (
            b"client_id=x",
            "application/x-www-form-urlencoded",
            415,
            "Content-Type: application/json",
        ),
        (b'{"client_id": 5}', "application/json", 400, "'client_id' must be str"),
        (b'{"client_id": "ok", "codes": "C-1"}', "application/json", 400, "'codes' must be list"),
        (b'{"client_id": "ok", "codes": [1]}', "application/json", 400, "list of strings"),
        (b'{"client_id": "a b"}', "application/json", 400, "client_id may hold"),
        (
            b'{"client_id": "ok", "evidence": []}',
            "application/json",
            400,
            "'evidence' must be dict",
        ),
        (b"{}", "application/json", 400, "'client_id' is required"),
    ],
)
def test_malformed_bodies_get_4xx_with_a_clear_message(
    client, token_for, data, ctype, status, message
):
    r = client.post(
        "/api/steps/rack-R01/confirm",
        headers={**token_for("ann"), "Content-Type": ctype},
        data=data,
    )
    assert r.status_code == status, r.json
    assert message in r.json["error"]["message"]


def test_an_oversized_body_is_413_with_the_limit(client, token_for):
    big = json.dumps({"client_id": "big", "evidence": {"note": "x" * (2 * 1024 * 1024)}})
    r = client.post(
        "/api/steps/rack-R01/confirm",
        headers={**token_for("ann"), "Content-Type": "application/json"},
        data=big,
    )
    assert (
        r.status_code == 413
        and r.json["error"]["message"] == "the request body is larger than 1024 KB"
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    note=st.text(max_size=300),
    kind=st.sampled_from(["wrong_length", "damaged_port", "missing_part", "other", "x' OR 1=1 --"]),
)
def test_hostile_problem_reports_never_crash(client, token_for, note, kind):
    r = client.post(
        f"/api/steps/cable-{CABLE_2}/problems",
        headers=token_for("bob"),
        json={"kind": kind, "note": note},
    )
    assert r.status_code in (201, 400, 409), r.get_data(as_text=True)[:300]
    assert "error" in r.json or "problem" in r.json


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(codes=st.lists(st.text(max_size=80), max_size=4))
def test_hostile_codes_never_crash(client, token_for, codes):
    r = client.post(
        f"/api/steps/cable-{CABLE_2}/confirm",
        headers=token_for("bob"),
        json={"client_id": "h-1", "codes": codes},
    )
    assert r.status_code in (200, 201, 400, 409, 422), r.get_data(as_text=True)[:300]


# ---------------------------------------------------------------- the OpenAPI document


def test_openapi_is_served_and_documents_every_api_route(app, client):
    r = client.get("/api/openapi.yaml")
    assert r.status_code == 200
    doc = yaml.safe_load(r.get_data(as_text=True))
    assert doc["openapi"].startswith("3.")
    documented = {
        (path, method.upper())
        for path, ops in doc["paths"].items()
        for method in ops
        if method in ("get", "post", "put", "delete", "patch")
    }
    api_rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/")]
    assert len(api_rules) > 20  # every route of the JSON API
    for rule in api_rules:
        path = "/api" + re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule.rule[len("/api") :])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {path} is not in docs/openapi.yaml"
    assert (REPO / "docs" / "openapi.yaml").read_text() == r.get_data(as_text=True)
