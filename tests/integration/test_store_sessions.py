"""Browser sessions kept in the store (migration 0007), on SQLite and PostgreSQL: a session
ends when logged out, when the password changes, after its lifetime; IDs past the 32-bit
columns never reach the database from the API (tests/unit/test_web_hardening.py)."""

from __future__ import annotations

import pytest

from fieldops.core.errors import NotFound


@pytest.fixture
def accounts(store):
    store.password_method = "pbkdf2:sha256:1000"
    store.add_user("ann", "floor-pass-1", "technician", crew="technician-1")
    store.add_user("lee", "floor-pass-1", "lead")
    return store


def test_a_session_names_its_user_until_it_ends(accounts):
    key = accounts.start_session("ann", 3600)
    assert accounts.session_user(key)["name"] == "ann"
    accounts.end_session(key)
    assert accounts.session_user(key) is None


def test_a_new_password_ends_every_session_of_that_user_only(accounts):
    tablet, desk = accounts.start_session("ann", 3600), accounts.start_session("ann", 3600)
    lead = accounts.start_session("lee", 3600)
    accounts.set_password("ann", "a-new-pass-2")
    assert accounts.session_user(tablet) is None and accounts.session_user(desk) is None
    assert accounts.session_user(lead)["name"] == "lee"


def test_a_session_expires_and_is_swept_at_the_next_login(accounts, clock):
    old = accounts.start_session("ann", 3600)
    clock.advance(3601)
    assert accounts.session_user(old) is None
    accounts.start_session("lee", 3600)
    assert accounts.end_sessions("ann") == 0  # already swept


@pytest.mark.parametrize("key", ["", "x" * 500, "not-a-session"])
def test_unknown_keys_name_no_one(accounts, key):
    assert accounts.session_user(key) is None


def test_a_session_for_no_user_is_refused(accounts):
    with pytest.raises(NotFound):
        accounts.start_session("nobody", 3600)
