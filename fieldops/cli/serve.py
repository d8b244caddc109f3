"""fieldops serve / load / users: run the tablet web app, load a plan into the store, manage
accounts. Passwords never travel on the command line: a prompt or --password-file."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from fieldops.core.problems import DesignError, Problem

DEFAULT_DB = "sqlite:///fieldops.db"
ROLES = ("technician", "lead", "planner", "admin")


def register(sub) -> None:
    s = sub.add_parser(
        "serve",
        help="run the tablet web app and lead dashboard (waitress, a production WSGI server)",
        description="Serve the technician tablet views, the lead dashboard and the JSON API "
        "(/api/openapi.yaml) from the work-order store. The database is migrated on start. The "
        "secret key comes from FIELDOPS_SECRET_KEY or is generated once and kept beside the "
        "SQLite database. With --broker, live events fan out through MQTT (topic "
        "fieldops/events/{hall}) so several workers stay consistent.",
    )
    s.add_argument(
        "--db",
        default=os.environ.get("FIELDOPS_DB", DEFAULT_DB),
        metavar="URL",
        help=f"database URL: sqlite:///path.db or postgresql://user@host/db (default {DEFAULT_DB}, env FIELDOPS_DB)",
    )
    s.add_argument(
        "--broker",
        default=os.environ.get("FIELDOPS_BROKER"),
        metavar="URL",
        help="MQTT broker for live events, mqtt://host:port (default: none; env FIELDOPS_BROKER)",
    )
    s.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 for the floor network)",
    )
    s.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    s.add_argument(
        "--threads",
        type=int,
        default=32,
        metavar="N",
        help="worker threads; each open live view holds one (default 32)",
    )
    s.add_argument(
        "--plan",
        type=Path,
        default=None,
        metavar="DIR",
        help="load this plan folder's workorders.json before serving",
    )
    s.add_argument(
        "--design",
        type=Path,
        default=None,
        metavar="DIR",
        help="with --plan: the design directory, for the floor map, rack elevations and walking paths",
    )
    s.add_argument(
        "--robots",
        action="store_true",
        help="with --broker: dispatch the plan's robot steps over VDA 5050 and record their results in the store",
    )
    s.set_defaults(func=run_serve)

    ld = sub.add_parser(
        "load",
        help="load a plan folder (workorders.json) into the work-order store",
        description="Load PLAN_DIR/workorders.json as the active plan. Loading the same design "
        "revision again changes nothing; a new revision becomes the active plan.",
    )
    ld.add_argument(
        "plan",
        type=Path,
        metavar="PLAN_DIR",
        help="folder written by 'fieldops plan' (holding workorders.json)",
    )
    ld.add_argument(
        "--db",
        default=os.environ.get("FIELDOPS_DB", DEFAULT_DB),
        metavar="URL",
        help=f"database URL (default {DEFAULT_DB}, env FIELDOPS_DB)",
    )
    ld.add_argument(
        "--design",
        type=Path,
        default=None,
        metavar="DIR",
        help="the design directory, for the floor map, rack elevations and walking paths",
    )
    ld.set_defaults(func=run_load)

    u = sub.add_parser(
        "users",
        help="add users, set passwords, make API tokens",
        description="Manage web app accounts in the store.",
    )
    u.set_defaults(func=lambda args: (u.print_help(), 2)[1])
    usub = u.add_subparsers(dest="users_command", metavar="SUBCOMMAND")

    def common(p):
        p.add_argument(
            "--db",
            default=os.environ.get("FIELDOPS_DB", DEFAULT_DB),
            metavar="URL",
            help=f"database URL (default {DEFAULT_DB}, env FIELDOPS_DB)",
        )

    a = usub.add_parser(
        "add",
        help="add a user (password from a prompt or --password-file)",
        description="Add a web app user. The password is read from a prompt, or from the first line of --password-file ('-' for stdin); never from the command line.",
    )
    a.add_argument("name", help="user name (log-in name)")
    a.add_argument(
        "--role",
        required=True,
        choices=ROLES,
        help="technician: confirms their crew's steps; lead: dashboard, reassign, blockers; planner: loads plans; admin: everything",
    )
    a.add_argument(
        "--crew", default="", help="the plan assignee this technician works as, e.g. technician-1"
    )
    a.add_argument(
        "--password-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="read the password from this file's first line ('-' for stdin)",
    )
    common(a)
    a.set_defaults(func=run_users_add)

    pw = usub.add_parser(
        "passwd",
        help="set a user's password",
        description="Set a user's password (prompt or --password-file).",
    )
    pw.add_argument("name", help="user name")
    pw.add_argument(
        "--password-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="read the password from this file's first line ('-' for stdin)",
    )
    common(pw)
    pw.set_defaults(func=run_users_passwd)

    t = usub.add_parser(
        "token",
        help="make an API token for a user (printed once)",
        description="Create a bearer token for scripts: 'Authorization: Bearer <token>'. Only its hash is stored.",
    )
    t.add_argument("name", help="user name")
    t.add_argument("--label", default="cli", help="what the token is for (default cli)")
    common(t)
    t.set_defaults(func=run_users_token)

    ls = usub.add_parser("list", help="list users", description="List users with role and crew.")
    common(ls)
    ls.set_defaults(func=run_users_list)


def _store(url: str, pool_size: int = 5):
    from sqlalchemy.exc import ArgumentError, OperationalError

    from fieldops.adapters.store import Store

    try:
        return Store(url, pool_size=pool_size)
    except ArgumentError:
        raise DesignError(
            [Problem("--db", 0, "", f"'{url}' is not a database URL (e.g. sqlite:///fieldops.db)")]
        ) from None
    except OperationalError as exc:
        raise DesignError(
            [
                Problem(
                    "--db",
                    0,
                    "",
                    f"cannot open the database: {str(exc.orig).strip().splitlines()[0]}",
                )
            ]
        ) from None


def _load(store, plan: Path, design: Path | None) -> dict:
    from fieldops.adapters.store import load_plan

    if design is not None and not (design / "design.yaml").is_file() and not design.is_file():
        raise DesignError([Problem(str(design), 0, "", "no design.yaml here")])
    return load_plan(store, plan, design_path=design)


def _say_loaded(res: dict) -> None:
    verb = "loaded" if res["new"] else "already loaded"
    print(
        f"{verb}: {res['design']} revision {res['revision']} ({res['hall']}), {res['steps']} steps"
    )


def run_load(args) -> int:
    store = _store(args.db)
    try:
        _say_loaded(_load(store, args.plan, args.design))
    finally:
        store.close()
    return 0


def _read_password(path: Path | None, *, confirm: bool = True) -> str:
    if path is not None:
        try:
            text = sys.stdin.readline() if str(path) == "-" else path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DesignError(
                [Problem(str(path), 0, "", f"cannot read the password file: {exc.strerror}")]
            ) from None
        pw = text.splitlines()[0] if text else ""
    else:
        pw = getpass.getpass("Password: ")
        if confirm and getpass.getpass("Again: ") != pw:
            raise DesignError([Problem("password", 0, "", "the two passwords differ")])
    return pw


def _store_action(fn):
    from fieldops.adapters.store import StoreError

    try:
        return fn()
    except StoreError as exc:
        raise DesignError([Problem("users", 0, "", exc.message)]) from None


def run_users_add(args) -> int:
    pw = _read_password(args.password_file)
    store = _store(args.db)
    try:
        u = _store_action(lambda: store.add_user(args.name, pw, args.role, crew=args.crew))
    finally:
        store.close()
    print(f"added {u['name']} ({u['role']}{', crew ' + u['crew'] if u['crew'] else ''})")
    return 0


def run_users_passwd(args) -> int:
    pw = _read_password(args.password_file)
    store = _store(args.db)
    try:
        _store_action(lambda: store.set_password(args.name, pw))
    finally:
        store.close()
    print(f"password of {args.name} changed")
    return 0


def run_users_token(args) -> int:
    store = _store(args.db)
    try:
        tok = _store_action(lambda: store.create_token(args.name, args.label))
    finally:
        store.close()
    print(tok)
    return 0


def run_users_list(args) -> int:
    store = _store(args.db)
    try:
        for u in store.users():
            print(
                f"{u['name']}\t{u['role']}\t{u['crew']}\t{'active' if u['active'] else 'disabled'}"
            )
    finally:
        store.close()
    return 0


def _start_bridge(store, broker: str):
    """Dispatch the active plan's robot steps; their results land in the store (StepSink)."""
    from types import SimpleNamespace

    from fieldops.adapters.mqtt.bridge import RobotBridge, assignments_from_plan
    from fieldops.cli.robots import _profiles

    team = [SimpleNamespace(**t) for t in store.team()]
    robots = [t.name for t in team if t.kind == "robot"]
    steps = store.plan_steps(robots)
    assignments, warnings = assignments_from_plan(steps, team, _profiles(None))
    for w in warnings:
        print(f"  robots: {w}", file=sys.stderr)
    if not any(a.steps for a in assignments):
        return None
    return RobotBridge(
        broker, assignments, store, map_id=store.hall() or "hall", client_id="fieldops-web-bridge"
    ).start()


def run_serve(args) -> int:
    if not 0 < args.port < 65536:
        raise DesignError([Problem("--port", 0, "", "must be 1..65535")])
    if not 1 <= args.threads <= 1000:
        raise DesignError([Problem("--threads", 0, "", "must be 1..1000")])
    if args.robots and not args.broker:
        raise DesignError([Problem("--robots", 0, "", "needs --broker")])
    store = _store(args.db, pool_size=args.threads)
    if args.plan is not None:
        _say_loaded(_load(store, args.plan, args.design))
    from waitress import create_server

    from fieldops.web import create_app

    app = create_app(
        {
            "DATABASE_URL": args.db,
            "STORE": store,
            "MQTT_BROKER": args.broker,
            "DB_POOL_SIZE": args.threads,
        }
    )
    bridge = _start_bridge(store, args.broker) if args.robots else None
    server = create_server(
        app,
        host=args.host,
        port=args.port,
        threads=args.threads,
        channel_timeout=120,
        connection_limit=1000,
        ident="fieldops",
    )
    print(
        f"fieldops serving on http://{args.host}:{server.effective_port}/ (database {_redact(args.db)}{', broker ' + _redact(args.broker) if args.broker else ''})",
        flush=True,
    )
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if bridge is not None:
            bridge.stop()
        app.extensions["fieldops_hub"].close()
        server.close()
        store.close()
    return 0


def _redact(url: str | None) -> str:
    from urllib.parse import urlsplit, urlunsplit

    if not url:
        return ""
    p = urlsplit(url)
    if p.password:
        netloc = f"{p.username}:***@{p.hostname}" + (f":{p.port}" if p.port else "")
        return urlunsplit((p.scheme, netloc, p.path, p.query, p.fragment))
    return url
