"""Accounts: users with a role (and a technician's crew), passwords, API tokens.

Roles: ``technician`` (confirms their crew's steps), ``lead`` (dashboard, reassign, blockers),
``planner`` (loads plans), ``admin`` (everything). Passwords are stored as scrypt hashes,
tokens as SHA-256 of the random token (shown once).
"""

from __future__ import annotations

from fieldops.adapters.store.models import ROLES

__all__ = ["Accounts", "ROLES"]


class Accounts:
    def __init__(self, store):
        self.store = store

    def add_user(self, name: str, password: str, role: str, *, crew: str = "") -> dict:
        return self.store.add_user(name, password, role, crew=crew)

    def set_password(self, name: str, password: str) -> None:
        self.store.set_password(name, password)

    def user(self, name: str) -> dict | None:
        return self.store.user(name)

    def users(self) -> list[dict]:
        return self.store.users()

    def authenticate(self, name: str, password: str) -> dict | None:
        return self.store.authenticate(name, password)

    def start_session(self, user_name: str, lifetime_s: float) -> str:
        return self.store.start_session(user_name, lifetime_s)

    def session_user(self, raw: str) -> dict | None:
        return self.store.session_user(raw)

    def end_session(self, raw: str) -> None:
        self.store.end_session(raw)

    def end_sessions(self, user_name: str) -> int:
        return self.store.end_sessions(user_name)

    def create_token(self, user_name: str, token_name: str = "script") -> str:
        return self.store.create_token(user_name, token_name)

    def user_for_token(self, raw: str) -> dict | None:
        return self.store.user_for_token(raw)

    def revoke_tokens(self, user_name: str) -> int:
        return self.store.revoke_tokens(user_name)
