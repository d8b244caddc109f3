"""The web app's HTML views through the Flask test client: login, roles, CSRF, headers, the
technician's next step, scan-to-confirm, problems, queue, and the lead dashboard."""

from __future__ import annotations

import re

import pytest

from tests.fixtures_db import (
    ASSET_1,
    CABLE_1,
    CABLE_2,
    SAMPLE_FLOOR,
    robot_check_plan,
    sample_plan,
)
from tests.fixtures_web import PASSWORD, csrf_of, login


def test_anonymous_pages_send_you_to_the_login(client):
    assert client.get("/").location.endswith("/login")
    r = client.get("/tech/queue")
    assert r.status_code == 302 and "/login?next=/tech/queue" in r.location
    assert client.get("/lead/").status_code == 302


def test_every_route_needs_a_login_except_the_public_ones(app, client):
    public = {"/login", "/healthz", "/api/openapi.yaml", "/", "/static/<path:filename>", "/logout"}
    for rule in app.url_map.iter_rules():
        if rule.rule in public:
            continue
        path = re.sub(r"<(int:)?[^>]+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = client.open(
                path,
                method=method,
                headers={"Accept": "application/json"},
                json={} if method == "POST" else None,
            )
            # unsafe methods fail CSRF (400) before auth; safe ones need a login (401/302)
            assert r.status_code in (302, 400, 401), (method, rule.rule, r.status_code)
            if method == "GET":
                assert r.status_code in (302, 401), (rule.rule, r.status_code)


def test_login_with_a_wrong_password_is_refused(client):
    token = csrf_of(client)
    r = client.post("/login", data={"username": "ann", "password": "nope", "csrf_token": token})
    assert r.status_code == 401
    assert "Wrong user name or password." in r.get_data(as_text=True)


def test_password_guessing_is_throttled_per_user_name(app, client):
    """Ten wrong passwords for ann within the window: the eleventh try is refused with 429 and
    Retry-After, even with the right password; bob is not affected; once the window has
    passed ann logs in again."""
    now = [1000.0]
    app.extensions["fieldops_login_throttle"].clock = lambda: now[0]
    token = csrf_of(client)

    def attempt(name: str, password: str):
        return client.post(
            "/login", data={"username": name, "password": password, "csrf_token": token}
        )

    for _ in range(10):
        assert attempt("ann", "guess-guess").status_code == 401
        now[0] += 1
    r = attempt("ANN ", PASSWORD)  # the same name, however it is typed
    assert r.status_code == 429 and int(r.headers["Retry-After"]) == 900 - 10 + 1
    assert "Too many failed logins. Try again in 15 minutes." in r.get_data(as_text=True)
    assert attempt("bob", PASSWORD).status_code == 302
    token = csrf_of(client)  # a login starts a new session (and CSRF token)
    now[0] += 900
    assert attempt("ann", PASSWORD).status_code == 302


def test_one_address_guessing_many_user_names_is_throttled(app, client):
    throttle = app.extensions["fieldops_login_throttle"]
    throttle.limits["addr"] = 5
    token = csrf_of(client)
    for i in range(5):
        r = client.post(
            "/login", data={"username": f"user{i}", "password": "x" * 8, "csrf_token": token}
        )
        assert r.status_code == 401
    r = client.post("/login", data={"username": "ann", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429


def test_login_without_the_csrf_token_is_refused(client):
    client.get("/login")
    r = client.post("/login", data={"username": "ann", "password": PASSWORD})
    assert r.status_code == 400
    assert "CSRF token is missing or stale" in r.get_data(as_text=True)


@pytest.mark.parametrize(
    "name, home", [("ann", "/tech/"), ("lee", "/lead/"), ("pat", "/lead/"), ("ada", "/lead/")]
)
def test_each_role_lands_on_its_home(client, name, home):
    token = csrf_of(client)
    r = client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token})
    assert r.location == home


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil", "javascript:alert(1)"]
)
def test_login_never_redirects_off_site(client, target):
    token = csrf_of(client)
    r = client.post(
        f"/login?next={target}", data={"username": "ann", "password": PASSWORD, "csrf_token": token}
    )
    assert r.location == "/tech/"


def test_logout_needs_the_csrf_token(as_user):
    c, token = as_user("ann")
    assert c.post("/logout").status_code == 400
    assert c.post("/logout", data={"csrf_token": token}).location.endswith("/login")
    assert c.get("/tech/").status_code == 302


def test_security_headers_are_on_every_response(client, as_user):
    for resp in (client.get("/login"), client.get("/api/me"), client.get("/healthz")):
        h = resp.headers
        assert (
            "default-src 'self'" in h["Content-Security-Policy"]
            and "script-src 'self'" in h["Content-Security-Policy"]
        )
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["X-Frame-Options"] == "DENY"
        assert h["Referrer-Policy"] == "same-origin"
    cookie = client.application.test_client().get("/login").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_next_step_page_shows_instruction_map_with_path_elevation_and_parts(as_user):
    c, _ = as_user("ann")
    html = c.get("/tech/").get_data(as_text=True)
    assert "Place rack R01" in html and "Place R01 on its tiles, level it and bond it." in html
    assert 'class="floormap"' in html and 'class="walk"' in html  # path from the door
    # door (300, 300) -> R01 stand-off (1800, 2100): 2343 mm, shown as 2.3 m
    assert "walk 2.3 m" in html
    assert 'class="elevation"' in html and "R01 · front" in html
    assert "<td>rack</td><td>R01</td>" in html


def test_the_elevation_highlights_the_target_u(as_user, store_of):
    store_of.confirm("rack-R01", client_id="c1", actor="ann", crew="technician-1")
    c, _ = as_user("ann")
    html = c.get("/tech/").get_data(as_text=True)
    assert "Mount srv1 in R01 U10" in html
    # 42 U rack, 16 px per U, 24 px top margin: U10 starts at 24 + (42 - 10) * 16 = 536
    assert '<rect class="target-u" x="34" y="536" width="244" height="16">' in html
    assert "Scan or type the asset tag" in html


def test_confirming_a_manual_step_with_the_form(as_user, store_of):
    c, token = as_user("ann")
    r = c.post(
        "/tech/step/rack-R01/confirm",
        data={"csrf_token": token, "client_id": "form-1", "codes": ""},
    )
    assert r.status_code == 302 and r.location == "/tech/"
    assert store_of.step("rack-R01")["status"] == "done"
    assert "Confirmed: Place rack R01" in c.get("/tech/").get_data(as_text=True)


def test_a_wrong_cable_typed_in_the_form_is_refused_with_where_it_belongs(as_user, store_of):
    store_of.confirm("rack-R01", client_id="c1", actor="ann", crew="technician-1")
    store_of.confirm(
        "mount-srv1", client_id="c2", actor="ann", crew="technician-1", codes=[ASSET_1]
    )
    c, token = as_user("ann")
    r = c.post(
        f"/tech/step/cable-{CABLE_1}/confirm",
        data={"csrf_token": token, "client_id": "f2", "codes": f"{CABLE_2}/A"},
    )
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert (
        f"{CABLE_2}/A is end A of cable {CABLE_2}: it belongs at rack R03 (1A-F06), U10, front, "
        f"srv2:eth0 (step cable-{CABLE_2}, technician-2)" in html
    )
    assert store_of.step(f"cable-{CABLE_1}")["status"] == "pending"
    r = c.post(  # one end (lower case) is not enough: the far end names its place
        f"/tech/step/cable-{CABLE_1}/confirm",
        data={"csrf_token": token, "client_id": "f3", "codes": f"{CABLE_1.lower()}/a"},
    )
    assert r.status_code == 422
    assert "end B (rack R02 (1A-E06), U40, rear, sw1:swp1) not scanned yet" in r.get_data(
        as_text=True
    )
    r = c.post(
        f"/tech/step/cable-{CABLE_1}/confirm",
        data={"csrf_token": token, "client_id": "f4", "codes": f"{CABLE_1.lower()}/a {CABLE_1}/b"},
    )
    assert r.status_code == 302
    assert store_of.step(f"cable-{CABLE_1}")["status"] == "done"


def test_a_technician_cannot_open_or_confirm_another_crews_step(as_user):
    c, token = as_user("ann")
    assert c.get(f"/tech/step/cable-{CABLE_2}").status_code == 403
    assert (
        c.post(
            f"/tech/step/cable-{CABLE_2}/confirm",
            data={"csrf_token": token, "codes": f"{CABLE_2}/A"},
        ).status_code
        == 403
    )
    assert c.get(f"/tech/step/cable-{CABLE_2}/problem").status_code == 403


def test_a_technician_without_a_crew_is_told_so(as_user):
    c, _ = as_user("nia")
    r = c.get("/tech/")
    assert r.status_code == 403 and "no crew yet" in r.get_data(as_text=True)


@pytest.mark.parametrize(
    "name, path",
    [
        ("ann", "/lead/"),
        ("ann", "/lead/panel"),
        ("bob", "/lead/"),
        ("pat", "/tech/"),
        ("pat", "/tech/queue"),
    ],
)
def test_pages_of_other_roles_are_forbidden(as_user, name, path):
    c, _ = as_user(name)
    assert c.get(path).status_code == 403


def test_reporting_a_problem_blocks_the_step_and_shows_on_the_dashboard(as_user, store_of):
    tech, token = as_user("bob")
    page = tech.get(f"/tech/step/cable-{CABLE_2}/problem").get_data(as_text=True)
    assert "Wrong cable length" in page and "Damaged port" in page and "Part missing" in page
    r = tech.post(
        f"/tech/step/cable-{CABLE_2}/problem",
        data={"csrf_token": token, "kind": "damaged_port", "note": "<b>swp2</b> bent"},
    )
    assert r.status_code == 302
    assert store_of.step(f"cable-{CABLE_2}")["status"] == "blocked"
    lead, ltoken = as_user("lee")
    html = lead.get("/lead/").get_data(as_text=True)
    assert "Blockers (1)" in html
    assert "&lt;b&gt;swp2&lt;/b&gt; bent" in html and "<b>swp2</b>" not in html  # escaped
    pid = store_of.problems()[0]["id"]
    r = lead.post(
        f"/lead/problem/{pid}/resolve", data={"csrf_token": ltoken, "resolution": "port swapped"}
    )
    assert r.status_code == 302
    assert store_of.step(f"cable-{CABLE_2}")["status"] == "pending"


def test_a_problem_form_with_a_bad_kind_says_so(as_user):
    c, token = as_user("bob")
    r = c.post(
        f"/tech/step/cable-{CABLE_2}/problem",
        data={"csrf_token": token, "kind": "meteor", "note": ""},
    )
    assert r.status_code == 400 and "kind must be one of" in r.get_data(as_text=True)


def test_queue_lists_open_steps_in_order_with_state(as_user):
    c, _ = as_user("bob")
    html = c.get("/tech/queue").get_data(as_text=True)
    titles = re.findall(r"<strong>([^<]+)</strong>", html)
    assert titles == [
        f"Run {CABLE_2} srv2:eth0 to sw1:swp2",
        "Run C-2B6N4X7 srv2:p0 to sw1:up1",
        "Check PDU cord R02",
    ]


def test_the_lead_dashboard_shows_progress_map_crews_and_eta(as_user, store_of):
    store_of.confirm("rack-R01", client_id="c1", actor="ann", crew="technician-1")
    c, _ = as_user("lee")
    html = c.get("/lead/").get_data(as_text=True)
    assert "1 / 7 steps done" in html.replace('<span id="done-count">1</span>', "1")
    assert 'class="rack state-in_progress" data-rack="R01"' in html
    assert 'class="rack state-ready" data-rack="R03"' in html
    assert 'data-assignee="technician-1"' in html and "Mount srv1 in R01 U10" in html
    # technician-1 has 600 + 240 s left (technician-2 600 s): the ETA is the slowest crew
    assert '<strong id="eta">14 min</strong>' in html


def test_the_lead_reassigns_a_step_with_the_form(as_user, store_of):
    c, token = as_user("lee")
    r = c.post(
        "/lead/reassign",
        data={"csrf_token": token, "step": f"cable-{CABLE_2}", "assignee": "technician-1"},
    )
    assert r.status_code == 302
    assert store_of.step(f"cable-{CABLE_2}")["assignee"] == "technician-1"
    r = c.post(
        "/lead/reassign",
        data={"csrf_token": token, "step": f"cable-{CABLE_2}", "assignee": "mallory"},
        follow_redirects=True,
    )
    assert "not a member of this plan" in r.get_data(as_text=True)


def _walk_on_page(html: str) -> list[tuple[int, int]]:
    """The walking polyline of a step page, back in floor millimetres (the SVG of SAMPLE_FLOOR
    is padded by 300 mm and flips y: x_svg = x + 300, y_svg = 6000 - y + 300)."""
    m = re.search(r'<polyline class="walk" points="([^"]+)"', html)
    assert m, "no walking path on the page"
    pts = [tuple(int(v) for v in p.split(",")) for p in m.group(1).split()]
    return [(x - 300, 6300 - y) for x, y in pts]


def test_the_step_page_draws_the_plans_walk_and_a_reassigned_step_says_it_has_none(
    as_user, store_of
):
    """The tablet draws the walk the plan decided (the one the printed work order shows),
    never a walk of its own. technician-2's first cable: from the door to R03's front. The
    same step handed to technician-1 has no planned walk for her: no line is drawn (a straight
    one would cross the racks), and the page says so."""
    c, _ = as_user("bob")
    html = c.get(f"/tech/step/cable-{CABLE_2}").get_data(as_text=True)
    assert _walk_on_page(html) == [(300, 300), (3000, 2100)]
    assert "walk 3.2 m" in html  # hypot(2700, 1800) = 3245 mm
    store_of.reassign(f"cable-{CABLE_2}", "technician-1", actor="lee")
    ann, _ = as_user("ann")
    html = ann.get(f"/tech/step/cable-{CABLE_2}").get_data(as_text=True)
    assert 'class="walk"' not in html and " · walk " not in html
    assert "reassigned to you: the plan has no walk for you here; go to the rack shown" in html
    assert 'data-rack="R03"' in html  # the target rack is still highlighted


def test_a_new_plan_revision_is_drawn_anew(as_user, store_of):
    """Drawings are prepared once per revision; loading another revision shows its floor."""
    c, _ = as_user("lee")
    assert 'data-rack="R01"' in c.get("/lead/").get_data(as_text=True)
    moved = {
        **SAMPLE_FLOOR,
        "racks": [{**r, "name": r["name"].replace("R0", "Q0")} for r in SAMPLE_FLOOR["racks"]],
    }
    store_of.load_plan(sample_plan(), design="tiny", revision="3", hall="TINY", floor=moved)
    html = c.get("/lead/").get_data(as_text=True)
    assert 'data-rack="Q01"' in html and 'data-rack="R01"' not in html


def test_a_planner_watches_but_cannot_direct(as_user):
    c, token = as_user("pat")
    assert c.get("/lead/").status_code == 200
    assert (
        c.post(
            "/lead/reassign",
            data={"csrf_token": token, "step": "rack-R01", "assignee": "technician-2"},
        ).status_code
        == 403
    )
    assert c.post("/lead/problem/1/resolve", data={"csrf_token": token}).status_code == 403


def test_a_lead_can_look_at_a_crews_next_step(as_user):
    c, _ = as_user("lee")
    assert "Run C-8H3T5W1" in c.get("/tech/?crew=technician-2").get_data(as_text=True)


def test_unknown_step_is_a_clear_404(as_user):
    c, _ = as_user("ann")
    r = c.get("/tech/step/nope")
    assert r.status_code == 404 and "no step &#39;nope&#39; in the active plan" in r.get_data(
        as_text=True
    )


def test_the_secret_key_is_generated_once_beside_the_sqlite_database(tmp_path, monkeypatch):
    from fieldops.web import create_app

    monkeypatch.delenv("FIELDOPS_SECRET_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'k.db'}"
    a1 = create_app({"DATABASE_URL": url})
    key_file = tmp_path / "k.db.secret"
    assert key_file.is_file() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    a2 = create_app({"DATABASE_URL": url})
    assert a1.config["SECRET_KEY"] == a2.config["SECRET_KEY"] == key_file.read_text().strip()
    monkeypatch.setenv("FIELDOPS_SECRET_KEY", "from-the-environment-" + "y" * 20)
    assert (
        create_app({"DATABASE_URL": url}).config["SECRET_KEY"].startswith("from-the-environment-")
    )
    for a in (a1, a2):
        a.extensions["fieldops"].store.close()


def test_static_files_are_served_and_the_vendored_decoder_has_its_licence(client):
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/static/vendor/jsqr/jsQR.js").status_code == 200
    assert "Apache License" in client.get("/static/vendor/jsqr/LICENSE").get_data(as_text=True)


def test_login_again_after_the_role_changed_is_required(as_user, store_of):
    c, _ = as_user("ann")
    with store_of.engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(text("update users set role = 'lead' where name = :n"), {"n": "ann"})
    assert c.get("/tech/").status_code == 302  # the old session no longer matches
    login(c, "ann")
    assert c.get("/lead/").status_code == 200


def test_a_technician_is_sent_to_check_a_robots_finished_work_and_confirms_it(as_user, store_of):
    """The robot's PDU cord (robot+technician) waits for technician-2 (bob), whom the schedule
    booked: it is bob's next step once the robot finished, his page says so, he confirms it
    with the form; ann (technician-1) may not open bob's own steps."""
    store_of.load_plan(
        robot_check_plan(), design="tiny", revision="2", hall="TINY", floor=SAMPLE_FLOOR
    )
    store_of.set_status("mount-sw1", "done", "FINISHED")
    c, token = as_user("bob")
    early = c.get("/tech/step/check-pdu-R02").get_data(as_text=True)  # the robot is at it
    assert "Waits for lift-robot-1 to finish this step" in early and "confirm-btn" not in early
    store_of.set_status("check-pdu-R02", "awaiting_confirmation", {"robot": "lift-robot-1"})
    lead, _ = as_user("lee")
    assert "Check: Check PDU cord R02" in lead.get("/lead/").get_data(as_text=True)
    html = c.get("/tech/").get_data(as_text=True)
    assert "Check PDU cord R02" in html
    assert "lift-robot-1 has finished this step: check its work" in html
    # bob's walk to the check as the plan booked it: from R03's front round the row's east end
    assert _walk_on_page(html) == [(3000, 2100), (3700, 2100), (3700, 3900), (2400, 3900)]
    queue = c.get("/tech/queue").get_data(as_text=True)
    assert "Check PDU cord R02" in queue
    r = c.post(
        "/tech/step/check-pdu-R02/confirm",
        data={"csrf_token": token, "client_id": "chk-form-1", "codes": ""},
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    step = store_of.step("check-pdu-R02")
    assert step["status"] == "done" and step["confirmations"][0]["actor"] == "bob"
    ann, _ = as_user("ann")
    assert ann.get(f"/tech/step/cable-{CABLE_2}").status_code == 403
    assert ann.get("/tech/step/check-pdu-R02").status_code == 200  # any technician may check
