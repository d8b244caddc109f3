"""The tablet web app and lead dashboard: ``create_app(test_config=None)``.

Configuration (``test_config`` wins over the environment):

- ``DATABASE_URL`` (env ``FIELDOPS_DB``): SQLAlchemy URL; default a SQLite file in the
  instance folder. Migrated on start.
- ``SECRET_KEY`` (env ``FIELDOPS_SECRET_KEY``): else generated once and kept in a file
  ``<database>.secret`` beside the SQLite database (or in the instance folder), mode 0600.
- ``MQTT_BROKER`` (env ``FIELDOPS_BROKER``): ``mqtt://host:port``; events fan out through it.
- ``SSE_MAX_S`` / ``SSE_POLL_S``: how long one event stream lives / how often it polls.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from flask import Flask, g, jsonify, render_template, request
from sqlalchemy.engine import make_url
from werkzeug.exceptions import HTTPException

from fieldops.adapters.store import Store, StoreError
from fieldops.bootstrap import data_dir
from fieldops.web import security

MAX_BODY = 1024 * 1024


def secret_key_for(db_url: str, instance_path: str) -> str:
    """The app's secret key, generated on first run and stored beside the SQLite database.

    Several processes starting at once agree on one key: the first to create the file wins
    (an exclusive hard link), the others read its key.
    """
    u = make_url(db_url)
    if u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:"):
        path = Path(u.database + ".secret")
    else:
        path = Path(instance_path) / "secret_key"
    key = _read_key(path)
    if key:
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            theirs = _read_key(path)
            if theirs:
                return theirs
            os.replace(tmp, path)  # a short or empty key file: replace it
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return key


def _read_key(path: Path) -> str | None:
    try:
        key = path.read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return key if len(key) >= 32 else None


def default_instance_path() -> str:
    """Flask's instance folder for this package (where a PostgreSQL setup keeps its key)."""
    return Flask(__name__, instance_relative_config=True).instance_path


def resolve_secret_key(db_url: str) -> str:
    """``FIELDOPS_SECRET_KEY``, else the key kept beside the database (made on first run).
    ``fieldops serve --workers N`` resolves it once and hands it to every worker."""
    return os.environ.get("FIELDOPS_SECRET_KEY") or secret_key_for(db_url, default_instance_path())


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(data_dir("templates")),
        static_folder=str(data_dir("static")),
    )
    cfg = dict(test_config or {})
    app.config.update(
        DATABASE_URL=os.environ.get("FIELDOPS_DB")
        or f"sqlite:///{Path(app.instance_path) / 'fieldops.db'}",
        MQTT_BROKER=os.environ.get("FIELDOPS_BROKER") or None,
        MQTT_PASSWORD=os.environ.get("FIELDOPS_MQTT_PASSWORD") or None,
        MAX_CONTENT_LENGTH=MAX_BODY,
        MAX_PLAN_BYTES=256 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="fieldops_session",
        SSE_MAX_S=55.0,
        SSE_POLL_S=2.0,
        CONFIRM_FAULT_DELAY_S=float(os.environ.get("FIELDOPS_FAULT_CONFIRM_DELAY_S") or 0.0),
        DB_POOL_SIZE=10,
        LOGIN_MAX_FAILURES=10,  # per user name per window (fieldops.web.throttle)
        LOGIN_WINDOW_S=900.0,
        STORE=None,
    )
    app.config.update(cfg)
    if app.config["DATABASE_URL"].startswith("sqlite:///") and "STORE" not in cfg:
        Path(make_url(app.config["DATABASE_URL"]).database).parent.mkdir(
            parents=True, exist_ok=True
        )
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ.get("FIELDOPS_SECRET_KEY") or secret_key_for(
            app.config["DATABASE_URL"], app.instance_path
        )

    st = app.config["STORE"] or Store(
        app.config["DATABASE_URL"], pool_size=int(app.config["DB_POOL_SIZE"])
    )
    app.extensions["fieldops_store"] = st
    from fieldops.web.drawing import DrawingCache

    app.extensions["fieldops_drawings"] = DrawingCache()

    from fieldops.web.events import Hub

    hub = Hub(app.config["MQTT_BROKER"], app.config["MQTT_PASSWORD"])
    st.listeners.append(hub.on_event)
    app.extensions["fieldops_hub"] = hub

    from fieldops.web.throttle import LoginThrottle

    app.extensions["fieldops_login_throttle"] = LoginThrottle(
        max_failures=int(app.config["LOGIN_MAX_FAILURES"]),
        window_s=float(app.config["LOGIN_WINDOW_S"]),
    )

    from fieldops.web import api, auth, events, lead, tech

    for module in (auth, tech, lead, api, events):
        app.register_blueprint(module.bp)

    app.before_request(security.load_user)
    app.before_request(security.check_csrf)
    app.after_request(security.security_headers)
    app.jinja_env.globals["csrf_token"] = security.csrf_token
    app.jinja_env.globals["CAN"] = security.CAN

    @app.context_processor
    def _user():
        return {"user": g.get("user")}

    def wants_json() -> bool:
        return (
            request.path.startswith(("/api/", "/events/"))
            or request.accept_mimetypes.best == "application/json"
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        message = exc.description or exc.name
        if exc.code == 413:
            limit = request.max_content_length or MAX_BODY
            message = f"the request body is larger than {limit // 1024} KB"
        if wants_json():
            return jsonify({"error": {"status": exc.code, "message": message}}), exc.code
        if exc.code == 401:
            from flask import redirect, url_for

            return redirect(
                url_for("auth.login", next=request.path if request.method == "GET" else None)
            )
        return render_template("error.html", status=exc.code, message=message), exc.code

    @app.errorhandler(StoreError)
    def _store_error(exc: StoreError):
        if wants_json():
            return jsonify(
                {
                    "error": {
                        "status": exc.status,
                        "message": exc.message,
                        **{k: v for k, v in exc.details.items() if v is not None},
                    }
                }
            ), exc.status
        return render_template("error.html", status=exc.status, message=exc.message), exc.status

    @app.get("/healthz")
    def healthz():
        rev = st.active_revision()
        return jsonify(
            {
                "ok": True,
                "worker": hub.worker_id,  # which process answered (several share one port)
                "plan": None
                if rev is None
                else {"design": rev["design"], "revision": rev["revision"], "hall": rev["hall"]},
            }
        )

    return app
