"""Users, passwords and API tokens."""

from __future__ import annotations

import secrets
import time

from sqlalchemy import delete, insert, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from fieldops.adapters.store.models import ROLES
from fieldops.adapters.store.statements import (
    MAX_NAME,
    T_SESSION,
    T_TOKEN,
    T_USER,
    _clean,
    token_hash,
)
from fieldops.core.errors import Conflict, Invalid, NotFound


class Accounts:
    """Users, passwords and API tokens."""

    # ------------------------------------------------------------ users and tokens

    def add_user(self, name: str, password: str, role: str, *, crew: str = "") -> dict:
        name = _clean(name, "user name", max_len=MAX_NAME, required=True)
        if role not in ROLES:
            raise Invalid(f"role must be one of {', '.join(ROLES)}, not '{role}'")
        if not isinstance(password, str) or len(password) < 8:
            raise Invalid("a password needs at least 8 characters")
        if len(password) > 1000:
            raise Invalid("a password can have at most 1000 characters")
        crew = _clean(crew, "crew", max_len=MAX_NAME)
        with self._write() as conn:
            if conn.execute(select(T_USER.c.id).where(T_USER.c.name == name)).first():
                raise Conflict(f"user '{name}' already exists")
            conn.execute(
                insert(T_USER).values(
                    name=name,
                    password_hash=generate_password_hash(password, method=self.password_method),
                    role=role,
                    crew=crew,
                    active=True,
                    created_at=self.clock(),
                )
            )
        return self.user(name)

    def set_password(self, name: str, password: str) -> None:
        if not isinstance(password, str) or len(password) < 8:
            raise Invalid("a password needs at least 8 characters")
        with self._write() as conn:
            n = conn.execute(
                update(T_USER)
                .where(T_USER.c.name == name)
                .values(password_hash=generate_password_hash(password, method=self.password_method))
            ).rowcount
            if n:  # every browser logged in with the old password is logged out
                uid = select(T_USER.c.id).where(T_USER.c.name == name).scalar_subquery()
                conn.execute(delete(T_SESSION).where(T_SESSION.c.user_id == uid))
        if not n:
            raise NotFound(f"no user '{name}'")

    def user(self, name: str) -> dict | None:
        with self._read() as conn:
            row = (
                conn.execute(
                    select(
                        T_USER.c.id, T_USER.c.name, T_USER.c.role, T_USER.c.crew, T_USER.c.active
                    ).where(T_USER.c.name == name)
                )
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def users(self) -> list[dict]:
        with self._read() as conn:
            rows = (
                conn.execute(
                    select(
                        T_USER.c.id, T_USER.c.name, T_USER.c.role, T_USER.c.crew, T_USER.c.active
                    ).order_by(T_USER.c.name)
                )
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]

    def authenticate(self, name: str, password: str) -> dict | None:
        """The user when name and password match an active account, else None."""
        if (
            not isinstance(name, str)
            or not isinstance(password, str)
            or len(name) > MAX_NAME
            or len(password) > 1000
        ):
            return None
        with self._read() as conn:
            row = (
                conn.execute(select(T_USER).where(T_USER.c.name == name.strip())).mappings().first()
            )
        if row is None or not row["active"]:
            # one hash either way, so the time does not tell which user names exist
            check_password_hash(self._dummy_hash(), password)
            return None
        if not check_password_hash(row["password_hash"], password):
            return None
        return {k: row[k] for k in ("id", "name", "role", "crew", "active")}

    _dummy_hashes: dict[str, str] = {}  # password method -> a hash of no one's password

    def _dummy_hash(self) -> str:
        method = self.password_method
        if method not in self._dummy_hashes:
            self._dummy_hashes[method] = generate_password_hash(secrets.token_hex(), method=method)
        return self._dummy_hashes[method]

    def create_token(self, user_name: str, token_name: str = "script") -> str:
        """A new bearer token for a user; the raw token is returned once and never stored."""
        token_name = _clean(token_name, "token name", max_len=MAX_NAME, required=True)
        raw = "fo_" + secrets.token_urlsafe(32)
        with self._write() as conn:
            uid = conn.execute(select(T_USER.c.id).where(T_USER.c.name == user_name)).scalar()
            if uid is None:
                raise NotFound(f"no user '{user_name}'")
            conn.execute(
                insert(T_TOKEN).values(
                    user_id=uid,
                    name=token_name,
                    token_hash=token_hash(raw),
                    created_at=self.clock(),
                    revoked=False,
                )
            )
        return raw

    # ------------------------------------------------------------ browser sessions

    def start_session(self, user_name: str, lifetime_s: float) -> str:
        """A new login for a user: the random key for the cookie (only its hash is kept).
        Expired logins are swept out here."""
        raw = secrets.token_urlsafe(32)
        now = self.clock()
        with self._write() as conn:
            uid = conn.execute(select(T_USER.c.id).where(T_USER.c.name == user_name)).scalar()
            if uid is None:
                raise NotFound(f"no user '{user_name}'")
            conn.execute(delete(T_SESSION).where(T_SESSION.c.expires_at < now))
            conn.execute(
                insert(T_SESSION).values(
                    user_id=uid,
                    key_hash=token_hash(raw),
                    created_at=now,
                    expires_at=now + lifetime_s,
                )
            )
        return raw

    def session_user(self, raw: str) -> dict | None:
        """The active user a session key belongs to, None when it ended, expired or is unknown."""
        if not isinstance(raw, str) or not raw or len(raw) > 200:
            return None
        with self._read() as conn:
            row = (
                conn.execute(
                    select(
                        T_USER.c.id, T_USER.c.name, T_USER.c.role, T_USER.c.crew, T_USER.c.active
                    )
                    .join(T_SESSION, T_SESSION.c.user_id == T_USER.c.id)
                    .where(
                        T_SESSION.c.key_hash == token_hash(raw),
                        T_SESSION.c.expires_at > self.clock(),
                        T_USER.c.active.is_(True),
                    )
                )
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def end_session(self, raw: str) -> None:
        """Log one session out: every copy of its cookie stops working at once."""
        if isinstance(raw, str) and raw:
            with self._write() as conn:
                conn.execute(delete(T_SESSION).where(T_SESSION.c.key_hash == token_hash(raw)))

    def end_sessions(self, user_name: str) -> int:
        """Log a user out everywhere; how many sessions ended."""
        uid = select(T_USER.c.id).where(T_USER.c.name == user_name).scalar_subquery()
        with self._write() as conn:
            return conn.execute(delete(T_SESSION).where(T_SESSION.c.user_id == uid)).rowcount

    TOKEN_CACHE_S = 5.0  # a revoked token or disabled user stops working within this time

    def user_for_token(self, raw: str) -> dict | None:
        if not isinstance(raw, str) or not raw.startswith("fo_") or len(raw) > 200:
            return None
        key = token_hash(raw)
        now = time.monotonic()
        hit = self._token_cache.get(key)
        if hit is not None and now - hit[0] < self.TOKEN_CACHE_S:
            return dict(hit[1])
        user = self._user_for_token_hash(key)
        if user is not None:
            if len(self._token_cache) > 10_000:
                self._token_cache.clear()
            self._token_cache[key] = (now, user)
        return dict(user) if user else None

    def _user_for_token_hash(self, key: str) -> dict | None:
        with self._read() as conn:
            row = (
                conn.execute(
                    select(
                        T_USER.c.id, T_USER.c.name, T_USER.c.role, T_USER.c.crew, T_USER.c.active
                    )
                    .join(T_TOKEN, T_TOKEN.c.user_id == T_USER.c.id)
                    .where(
                        T_TOKEN.c.token_hash == key,
                        T_TOKEN.c.revoked.is_(False),
                        T_USER.c.active.is_(True),
                    )
                )
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def revoke_tokens(self, user_name: str) -> int:
        with self._write() as conn:
            uid = conn.execute(select(T_USER.c.id).where(T_USER.c.name == user_name)).scalar()
            if uid is None:
                raise NotFound(f"no user '{user_name}'")
            n = conn.execute(
                update(T_TOKEN).where(T_TOKEN.c.user_id == uid).values(revoked=True)
            ).rowcount
        self._token_cache.clear()  # this worker forgets at once; others within TOKEN_CACHE_S
        return n
