"""Who is asking, what they may do, CSRF tokens for forms, and security headers.

Browsers authenticate with the session cookie and must send the CSRF token on every unsafe
request (a hidden ``csrf_token`` form field, or the ``X-CSRF-Token`` header from scripts).
Scripts authenticate with ``Authorization: Bearer fo_...`` tokens; they carry no cookie, so
they need no CSRF token. A session cookie names a server-side session (the ``sessions``
table): logging out, or a new password, ends it for every copy of the cookie.
"""

from __future__ import annotations

import functools
import hmac
import secrets

from flask import abort, current_app, g, request, session

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# A login lasts one 12-hour shift at most (the cookie and its server-side row alike).
SESSION_LIFETIME_S = 12 * 3600

# Who may do what. Technicians act on their own crew's steps only (checked by the store).
CAN = {
    "work": ("technician", "lead", "admin"),  # confirm, start, report a problem
    "watch": ("lead", "planner", "admin"),  # dashboard, all steps, problems, progress
    "direct": ("lead", "admin"),  # reassign, resolve problems
    "plan": ("planner", "admin"),  # load a plan
    "admin": ("admin",),  # users
}


def parts():
    """The process's parts (fieldops.bootstrap.Parts), wired by the composition root."""
    return current_app.extensions["fieldops"]


def floorwork():
    """The floor's use cases (fieldops.services.floorwork.FloorWork)."""
    return parts().floor


def accounts():
    """Users and tokens (fieldops.services.accounts.Accounts)."""
    return parts().accounts


def csrf_token() -> str:
    tok = session.get("csrf")
    if not tok:
        tok = secrets.token_urlsafe(32)
        session["csrf"] = tok
    return tok


def check_csrf() -> None:
    """Refuse an unsafe cookie-authenticated request without the session's CSRF token; an
    anonymous API request is refused as unauthenticated (401) first."""
    if request.method in SAFE_METHODS or g.get("auth") == "token":
        return
    if g.get("user") is None and request.path.startswith(("/api/", "/events/")):
        abort(401, description="log in first, or send 'Authorization: Bearer <token>'")
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")
    expected = session.get("csrf", "")
    if not expected or not sent or not hmac.compare_digest(str(sent), str(expected)):
        abort(
            400,
            description="the form's CSRF token is missing or stale; reload the page and try again",
        )


def refuse_nul() -> None:
    """400 for a NUL character in the path, the query or a form: PostgreSQL text cannot hold
    one (a 500 there), and no name, ID or code of fieldops has one."""
    if (
        "\x00" in request.path
        or any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True))
        or (
            request.method not in SAFE_METHODS
            and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")
            and any("\x00" in v for v in request.form.values())
        )
    ):
        abort(400, description="NUL characters are not allowed in paths, queries or forms")


def load_user() -> None:
    """Set ``g.user`` from a bearer token or the session (None when anonymous)."""
    g.user = None
    g.auth = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            abort(401, description="use 'Authorization: Bearer <token>'")
        user = accounts().user_for_token(raw.strip())
        if user is None:
            abort(401, description="the API token is unknown or revoked")
        g.user, g.auth = user, "token"
        return
    key = session.get("sid")
    if key:
        user = accounts().session_user(key)  # None once logged out, expired or re-passworded
        if user and session.get("role") == user["role"]:
            g.user, g.auth = user, "session"
        else:
            session.clear()
    elif session.get("user"):  # a cookie from before server-side sessions: log in again
        session.clear()


def require(permission: str | None = None):
    """Decorator: a logged-in user, with ``permission`` (a key of CAN) when given."""

    def deco(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if g.get("user") is None:
                abort(401, description="log in first")
            if permission and g.user["role"] not in CAN[permission]:
                abort(
                    403,
                    description=f"a {g.user['role']} may not do this (needs: {', '.join(CAN[permission])})",
                )
            return view(*args, **kwargs)

        return wrapped

    return deco


def crew_scope() -> str | None:
    """The crew a user's confirmations are limited to: technicians their own, others none."""
    return g.user["crew"] if g.user["role"] == "technician" else None


CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def security_headers(response):
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        h.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.path.startswith(("/api/", "/tech", "/lead", "/login")):
        h.setdefault("Cache-Control", "no-store")
    return response
