"""Attacks on the API that once ended in a 500 or in the wrong refusal (issue 18): ids and
paging beyond the 32-bit columns, JSON nested past any sane depth, anonymous writes, TRACE."""

from __future__ import annotations

import pytest

from tests.fixtures_web import csrf_of

BIG = [str(2**31), "3000000000", str(2**62), str(2**64), "9" * 40, "9" * 5000]


@pytest.mark.parametrize("problem_id", BIG)
def test_a_problem_id_past_the_32_bit_column_is_404(client, token_for, problem_id):
    r = client.post(f"/api/problems/{problem_id}/resolve", headers=token_for("lee"), json={})
    assert r.status_code == 404 and r.json["error"]["message"]


@pytest.mark.parametrize("path", ["/api/events", "/api/confirmations"])
@pytest.mark.parametrize("after", BIG)
def test_after_past_the_32_bit_column_is_400_with_the_range(client, token_for, path, after):
    r = client.get(f"{path}?after={after}", headers=token_for("lee"))
    assert r.status_code == 400
    assert r.json["error"]["message"] == "'after' must be between 0 and 2147483647"


@pytest.mark.parametrize(
    "after", ["3000000000", "-1", "1e3", "99999999999999999999999", "\u00b2", "\u0665"]
)
def test_the_live_stream_refuses_an_event_id_out_of_range(client, token_for, after):
    r = client.get(f"/events/stream?after={after}", headers=token_for("lee"))
    assert r.status_code == 400 and b"0 to 2147483647" in r.data
    r = client.get("/events/stream", headers={**token_for("lee"), "Last-Event-ID": after})
    assert r.status_code == 400


@pytest.mark.parametrize("query", ["offset=10000001", "offset=-1", "limit=0", "limit=5001"])
def test_steps_paging_out_of_range_is_400(client, token_for, query):
    r = client.get(f"/api/steps?{query}", headers=token_for("lee"))
    assert r.status_code == 400 and "must be between" in r.json["error"]["message"]


@pytest.mark.parametrize("limit", [" 5", "+5", "\u0665", "5.0", "0x10"])
def test_paging_takes_plain_digits_only(client, token_for, limit):
    r = client.get("/api/steps", query_string={"limit": limit}, headers=token_for("lee"))
    assert r.status_code == 400 and r.json["error"]["message"] == "'limit' must be a whole number"


@pytest.mark.parametrize("depth", [65, 900, 50_000])
def test_deeply_nested_json_is_400_before_parsing(client, token_for, depth):
    nested = "[" * depth + "]" * depth
    r = client.post(
        "/api/steps/rack-R01/confirm",
        headers={**token_for("ann"), "Content-Type": "application/json"},
        data=f'{{"client_id": "deep", "evidence": {{"x": {nested}}}}}',
    )
    assert r.status_code == 400
    assert r.json["error"]["message"] == "the body is nested deeper than 64 levels"


def test_unbalanced_deep_json_is_400_not_a_recursion_error(client, token_for):
    r = client.post(
        "/api/steps/rack-R01/confirm",
        headers={**token_for("ann"), "Content-Type": "application/json"},
        data="[" * 100_000,
    )
    assert r.status_code == 400 and "not valid JSON" in r.json["error"]["message"]


def test_json_within_the_depth_limit_still_works(client, token_for):
    nested = {"x": 1}
    for _ in range(60):
        nested = {"x": nested}
    r = client.post(
        "/api/steps/rack-R01/confirm",
        headers=token_for("ann"),
        json={"client_id": "deep-ok", "evidence": {"note": '[[[[ {{{{ \\" ]]', "n": nested}},
    )
    assert r.status_code != 400 or "nested" not in r.json["error"]["message"]


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/api/steps/rack-R01/confirm"),
        ("POST", "/api/tokens"),
        ("POST", "/api/problems/1/resolve"),
        ("POST", "/api/plans"),
        ("POST", "/api/users"),
    ],
)
def test_anonymous_writes_are_401_not_a_csrf_complaint(client, method, path):
    r = client.open(path, method=method, json={"client_id": "x"})
    assert r.status_code == 401
    assert "CSRF" not in r.json["error"]["message"]


def test_a_logged_in_browser_still_needs_the_csrf_token(as_user):
    c, _ = as_user("ann")
    r = c.post("/api/tokens", json={"name": "x"})
    assert r.status_code == 400 and "CSRF" in r.json["error"]["message"]


def test_a_token_named_null_is_refused(client, token_for):
    r = client.post("/api/tokens", headers=token_for("lee"), json={"name": None})
    assert r.status_code == 400 and "'name'" in r.json["error"]["message"]
    assert client.post("/api/tokens", headers=token_for("lee"), json={}).json["name"] == "script"


@pytest.mark.parametrize("path", ["/api/me", "/api/steps/rack-R01/confirm", "/api/drift"])
def test_trace_is_405_with_allow(client, token_for, path):
    r = client.open(path, method="TRACE", headers=token_for("lee"))
    assert r.status_code == 405 and r.json["error"]["status"] == 405
    allowed = {m.strip() for m in r.headers["Allow"].split(",")}
    assert "TRACE" not in allowed and allowed & {"GET", "POST"}


def kinds_seen(client, headers, after=0):
    r = client.get(f"/api/events?after={after}", headers=headers)
    assert r.status_code == 200, r.json
    return [(e["kind"], e["step_id"]) for e in r.json["events"]], r.json["last_id"]


def test_a_technician_sees_only_their_crews_events(client, token_for):
    """ann (technician-1) and bob (technician-2) each see their own crew's steps' events,
    both see a step moved between them; the lead sees the whole log."""
    ann, bob, lee = token_for("ann"), token_for("bob"), token_for("lee")
    client.post("/api/steps/rack-R01/confirm", headers=ann, json={"client_id": "ev-1"})
    client.post("/api/steps/mount-srv1/reassign", headers=lee, json={"assignee": "technician-2"})
    seen_by_ann, last_ann = kinds_seen(client, ann)
    seen_by_bob, last_bob = kinds_seen(client, bob)
    everything, last = kinds_seen(client, lee)
    assert ("plan_loaded", "") in everything and ("step_confirmed", "rack-R01") in everything
    assert ("step_confirmed", "rack-R01") in seen_by_ann
    assert ("step_confirmed", "rack-R01") not in seen_by_bob
    assert ("step_reassigned", "mount-srv1") in seen_by_ann
    assert ("step_reassigned", "mount-srv1") in seen_by_bob
    assert ("plan_loaded", "") not in seen_by_ann + seen_by_bob
    assert last_ann == last_bob == last  # the log was read to its end for everyone
    assert kinds_seen(client, bob, after=last) == ([], last)


def test_a_technician_without_a_crew_sees_no_events(client, token_for):
    assert client.get("/api/events", headers=token_for("nia")).status_code == 403
    assert client.get("/events/stream", headers=token_for("nia")).status_code == 403


def test_the_live_stream_of_a_technician_carries_their_crews_events_only(client, token_for):
    ann, lee = token_for("ann"), token_for("lee")
    client.post("/api/steps/rack-R01/confirm", headers=ann, json={"client_id": "ev-2"})
    lead_stream = client.get("/events/stream?after=0", headers=lee).get_data(as_text=True)
    bob_stream = client.get("/events/stream?after=0", headers=token_for("bob")).get_data(
        as_text=True
    )
    ann_stream = client.get("/events/stream?after=0", headers=ann).get_data(as_text=True)
    assert '"kind":"plan_loaded"' in lead_stream and '"step_id":"rack-R01"' in lead_stream
    assert '"step_id":"rack-R01"' in ann_stream and "plan_loaded" not in ann_stream
    assert "data:" not in bob_stream


def test_the_live_stream_starts_at_the_beginning_without_an_id(client, token_for):
    r = client.get("/events/stream", headers=token_for("lee"))
    assert r.status_code == 200 and '"kind":"plan_loaded"' in r.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    ["/api/steps/rack%00R01", "/api/steps?assignee=a%00b", "/api/next?crew=technician-1%00"],
)
def test_a_nul_character_is_400_before_it_reaches_the_database(client, token_for, path):
    """PostgreSQL text cannot hold NUL: such a lookup was a 500 there (SQLite: 404 or 200)."""
    r = client.get(path, headers=token_for("lee"))
    assert r.status_code == 400 and "NUL" in r.json["error"]["message"]


def test_a_nul_character_in_the_login_form_is_400(client):
    form = {"username": "ann\x00", "password": "x" * 8, "csrf_token": csrf_of(client)}
    r = client.post("/login", data=form)
    assert r.status_code == 400 and "NUL" in r.get_data(as_text=True)
