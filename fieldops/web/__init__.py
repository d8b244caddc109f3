"""The tablet web app and lead dashboard: ``create_app(test_config=None, parts=None)``.

Settings come from :mod:`fieldops.config` (``FIELDOPS_*`` variables; ``test_config`` wins);
the parts (store, live-event hub, use cases) from :func:`fieldops.bootstrap.bootstrap`. The
database defaults to a SQLite file in the instance folder and is migrated on start; the secret
key, unless set, is made once and kept beside the SQLite database (or in the instance folder).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from fieldops.bootstrap import data_dir
from fieldops.core.errors import StoreError
from fieldops.web import security

MAX_BODY = 1024 * 1024
# test_config keys -> Settings fields
CONFIG_KEYS = {
    "DATABASE_URL": "database_url",
    "MQTT_BROKER": "broker_url",
    "MQTT_PASSWORD": "mqtt_password",
    "SECRET_KEY": "secret_key",
    "DB_POOL_SIZE": "db_pool_size",
    "CONFIRM_FAULT_DELAY_S": "confirm_fault_delay_s",
    "SSE_MAX_S": "sse_max_s",
    "SSE_POLL_S": "sse_poll_s",
    "LOGIN_MAX_FAILURES": "login_max_failures",
    "LOGIN_WINDOW_S": "login_window_s",
    "PROXY": "proxy",
}


def create_app(test_config: dict | None = None, *, parts=None) -> Flask:
    """The Flask app. Its parts (store, hub, use cases) come from the composition root,
    :func:`fieldops.bootstrap.bootstrap`, built here from the settings unless ``parts`` is
    given. ``test_config`` keys (upper case, Flask style) override the settings:
    ``DATABASE_URL``, ``MQTT_BROKER``, ``MQTT_PASSWORD``, ``SECRET_KEY``, ``DB_POOL_SIZE``,
    ``CONFIRM_FAULT_DELAY_S``, ``SSE_MAX_S``, ``SSE_POLL_S``, ``LOGIN_MAX_FAILURES``,
    ``LOGIN_WINDOW_S``, ``PROXY``; ``STORE`` hands in a store to use.

    With the ``proxy`` setting (``fieldops serve --proxy``) the app sits behind a reverse
    proxy that terminates TLS: werkzeug's ProxyFix takes the client address, scheme, host and
    prefix from one hop of ``X-Forwarded-*`` headers, the session cookie is ``Secure`` and
    every HTTPS response carries HSTS (docs/webapp.md, deploy/Caddyfile)."""
    from fieldops.bootstrap import bootstrap, secret_key
    from fieldops.config import Settings

    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(data_dir("templates")),
        static_folder=str(data_dir("static")),
    )
    cfg = dict(test_config or {})
    if parts is not None:
        settings = parts.settings
    else:
        overrides = {name: cfg.get(key) for key, name in CONFIG_KEYS.items()}
        settings = Settings.from_env(**overrides)
        if settings.database_url is None:  # neither set nor configured: the instance folder
            settings = settings.but(
                database_url=f"sqlite:///{Path(app.instance_path) / 'fieldops.db'}"
            )
            Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY,
        MAX_PLAN_BYTES=256 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="fieldops_session",
        PERMANENT_SESSION_LIFETIME=security.SESSION_LIFETIME_S,
        SSE_MAX_S=settings.sse_max_s,
        SSE_POLL_S=settings.sse_poll_s,
        LOGIN_MAX_FAILURES=settings.login_max_failures,
        LOGIN_WINDOW_S=settings.login_window_s,
    )
    app.config.update({k: v for k, v in cfg.items() if k not in CONFIG_KEYS and k != "STORE"})
    if settings.proxy:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1)
        app.config["SESSION_COOKIE_SECURE"] = True
    app.config["SECRET_KEY"] = secret_key(settings, app.instance_path)
    if parts is None:
        parts = bootstrap(settings, store=cfg.get("STORE"))
    app.extensions["fieldops"] = parts
    app.extensions["fieldops_hub"] = parts.hub
    app.config["FIELDOPS_SETTINGS"] = settings
    from fieldops.web.drawing import DrawingCache

    app.extensions["fieldops_drawings"] = DrawingCache()

    from fieldops.web.throttle import LoginThrottle

    app.extensions["fieldops_login_throttle"] = LoginThrottle(
        max_failures=int(app.config["LOGIN_MAX_FAILURES"]),
        window_s=float(app.config["LOGIN_WINDOW_S"]),
    )

    from fieldops.web import api, auth, events, lead, tech

    for module in (auth, tech, lead, api, events):
        app.register_blueprint(module.bp)

    app.before_request(security.refuse_nul)
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
            response = jsonify({"error": {"status": exc.code, "message": message}})
            for name, value in exc.get_headers():  # Allow (405), Retry-After, ...
                if name.lower() != "content-type":
                    response.headers[name] = value
            return response, exc.code
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
        rev = parts.floor.active_revision()
        return jsonify(
            {
                "ok": True,
                "worker": parts.hub.worker_id if parts.hub else "",  # which process answered
                "plan": None
                if rev is None
                else {"design": rev["design"], "revision": rev["revision"], "hall": rev["hall"]},
            }
        )

    return app
