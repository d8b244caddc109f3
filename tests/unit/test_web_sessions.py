"""Sessions that really end (issue 18): a copied session cookie stops working after logout,
after a password change and after the 12-hour shift; a login costs one password hash whether
or not the user name exists."""

from __future__ import annotations

import pytest

from tests.fixtures_web import PASSWORD, csrf_of, login


def copy_of(app, client):
    """A second browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    cookie = client.get_cookie("fieldops_session")
    thief.set_cookie("fieldops_session", cookie.value)
    return thief


def test_a_copied_cookie_stops_working_after_logout(app):
    c = app.test_client()
    csrf = login(c, "ann")
    thief = copy_of(app, c)
    assert thief.get("/api/me").status_code == 200
    assert c.post("/logout", data={"csrf_token": csrf}).status_code == 302
    r = thief.get("/api/me")
    assert r.status_code == 401 and r.json["error"]["message"] == "log in first"


def test_a_password_change_logs_out_every_browser(app, store_of):
    tablet, desk = app.test_client(), app.test_client()
    login(tablet, "lee")
    login(desk, "lee")
    login(app.test_client(), "ann")
    thief = copy_of(app, tablet)
    store_of.set_password("lee", "a-new-pass-2")
    for c in (tablet, desk, thief):
        assert c.get("/api/me").status_code == 401
    assert login(app.test_client(), "lee", "a-new-pass-2")


def test_another_users_logout_leaves_mine_alone(app):
    mine, theirs = app.test_client(), app.test_client()
    login(mine, "ann")
    csrf = login(theirs, "bob")
    theirs.post("/logout", data={"csrf_token": csrf})
    assert mine.get("/api/me").json["name"] == "ann"


def test_a_login_lasts_one_shift(app, clock):
    c = app.test_client()
    login(c, "ann")
    assert c.get_cookie("fieldops_session").expires is not None  # not a 31-day default
    clock.advance(11.9 * 3600)
    assert c.get("/api/me").status_code == 200
    clock.advance(0.2 * 3600)
    assert c.get("/api/me").status_code == 401


def test_a_cookie_from_before_server_sessions_must_log_in_again(app):
    c = app.test_client()
    with c.session_transaction() as s:  # what a signed cookie held before: name and role
        s["user"], s["role"] = "ann", "technician"
    assert c.get("/api/me").status_code == 401


@pytest.mark.parametrize("name", ["ann", "nobody-here"])
def test_a_login_costs_one_password_hash_known_user_or_not(client, monkeypatch, name):
    """The time of a failed login must not tell which user names exist."""
    from fieldops.adapters.store import accounts

    hashes = []
    for fn in ("generate_password_hash", "check_password_hash"):
        real = getattr(accounts, fn)
        monkeypatch.setattr(
            accounts, fn, lambda *a, _real=real, _fn=fn, **k: hashes.append(_fn) or _real(*a, **k)
        )
    csrf = csrf_of(client)
    form = {"password": PASSWORD, "csrf_token": csrf}
    client.post("/login", data={**form, "username": "warm-up"})  # the dummy hash, once
    hashes.clear()
    r = client.post("/login", data={**form, "username": name, "password": "wrong-pass-9"})
    assert r.status_code == 401
    assert hashes == ["check_password_hash"]
