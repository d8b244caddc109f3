"""Log in and out; the home page sends each role to its view."""

from __future__ import annotations

from urllib.parse import urlparse

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from fieldops.web.security import SESSION_LIFETIME_S, accounts, csrf_token

bp = Blueprint("auth", __name__)

HOME = {
    "technician": "tech.next_step",
    "lead": "lead.dashboard",
    "planner": "lead.dashboard",
    "admin": "lead.dashboard",
}


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: never redirect a login to another host."""
    if not target:
        return None
    p = urlparse(target)
    if (
        p.scheme
        or p.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        return None
    return target


@bp.get("/")
def index():
    if g.user is None:
        return redirect(url_for("auth.login"))
    return redirect(url_for(HOME[g.user["role"]]))


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    status = 200
    if request.method == "POST":
        name = request.form.get("username", "")
        password = request.form.get("password", "")
        address = request.remote_addr or ""
        throttle = current_app.extensions["fieldops_login_throttle"]
        wait = throttle.retry_after_s(name, address)
        if wait:  # refused before the password is even looked at
            minutes = -(-wait // 60)
            error = f"Too many failed logins. Try again in {minutes} minute{'s' * (minutes != 1)}."
            response = make_response(render_template("login.html", error=error), 429)
            response.headers["Retry-After"] = str(wait)
            return response
        user = accounts().authenticate(name, password)
        if user is None:
            throttle.failed(name, address)
            error = "Wrong user name or password."
            status = 401
        else:
            throttle.succeeded(name)
            nxt = _safe_next(request.args.get("next"))
            session.clear()
            session.permanent = True  # PERMANENT_SESSION_LIFETIME: one shift
            session["sid"] = accounts().start_session(user["name"], SESSION_LIFETIME_S)
            session["user"] = user["name"]
            session["role"] = user["role"]
            csrf_token()
            return redirect(nxt or url_for(HOME[user["role"]]))
    return render_template("login.html", error=error), status


@bp.post("/logout")
def logout():
    """End this login on the server too: a copied cookie stops working at once."""
    accounts().end_session(session.get("sid", ""))
    session.clear()
    flash("Logged out.")
    return redirect(url_for("auth.login"))
