"""Behind a TLS-terminating reverse proxy (``serve --proxy``, FIELDOPS_PROXY): the session
cookie is Secure, HTTPS responses carry HSTS, the client address is the proxy's
X-Forwarded-For; without the switch those headers are not trusted (issue 18)."""

from __future__ import annotations

import re

import pytest

from fieldops.config import Settings, SettingsError
from tests.fixtures_web import PASSWORD, copy_seeded

HTTPS = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "floor.example"}


def make_app(tmp_path, seeded_db, **cfg):
    from fieldops.web import create_app

    url = copy_seeded(seeded_db, tmp_path / "proxy.db")
    return create_app(
        {"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "k" * 40, "SSE_MAX_S": 0.5, **cfg}
    )


@pytest.fixture
def proxied(tmp_path, seeded_db):
    app = make_app(tmp_path, seeded_db, PROXY=True)
    yield app
    app.extensions["fieldops"].close()


@pytest.fixture
def direct(tmp_path, seeded_db):
    app = make_app(tmp_path, seeded_db)
    yield app
    app.extensions["fieldops"].close()


def log_in(client, headers):
    html = client.get("/login", headers=headers).get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    return client.post(
        "/login",
        data={"username": "ann", "password": PASSWORD, "csrf_token": csrf},
        headers=headers,
    )


def test_behind_the_proxy_the_cookie_is_secure_and_https_has_hsts(proxied):
    c = proxied.test_client()
    r = log_in(c, HTTPS)
    assert r.status_code == 302
    cookie = r.headers["Set-Cookie"]
    assert "fieldops_session=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    assert "max-age=" in r.headers["Strict-Transport-Security"]


def test_without_the_switch_forwarded_headers_are_not_trusted(direct):
    c = direct.test_client()
    r = log_in(c, HTTPS)
    assert r.status_code == 302
    assert "Secure" not in r.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in r.headers


def test_behind_the_proxy_failed_logins_count_per_real_client(tmp_path, seeded_db):
    app = make_app(tmp_path, seeded_db, PROXY=True, LOGIN_MAX_FAILURES=2)
    c = app.test_client()
    html = c.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    throttle = app.extensions["fieldops_login_throttle"]
    c.post(
        "/login",
        data={"username": "ann", "password": "wrong-pass", "csrf_token": csrf},
        headers={**HTTPS, "X-Forwarded-For": "10.1.2.3"},
    )
    assert any(key == ("addr", "10.1.2.3") for key in throttle._failures)
    app.extensions["fieldops"].close()


@pytest.mark.parametrize(("raw", "value"), [("1", True), ("on", True), ("False", False)])
def test_the_proxy_setting_from_the_environment(raw, value):
    assert Settings.from_env({"FIELDOPS_PROXY": raw}).proxy is value


def test_a_bad_proxy_setting_says_what_it_takes():
    with pytest.raises(SettingsError, match="FIELDOPS_PROXY: 'maybe' is not one of 1/true"):
        Settings.from_env({"FIELDOPS_PROXY": "maybe"})


def test_serve_takes_proxy():
    from fieldops.cli import build_parser

    args = build_parser().parse_args(["serve", "--proxy"])
    assert args.proxy is True
