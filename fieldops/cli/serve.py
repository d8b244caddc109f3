"""fieldops serve / load / users: run the tablet web app, load a plan into the store, manage
accounts. Passwords never travel on the command line: a prompt or --password-file."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from fieldops.cli._args import add_password_file
from fieldops.cli._secrets import read_password
from fieldops.config import DEFAULT_DB
from fieldops.core.problems import DesignError, Problem

ROLES = ("technician", "lead", "planner", "admin")


def register(sub) -> None:
    s = sub.add_parser(
        "serve",
        help="run the tablet web app and lead dashboard (gunicorn workers)",
        description="Serve the technician tablet views, the lead dashboard and the JSON API "
        "(/api/openapi.yaml) from the work-order store. The database is migrated on start. The "
        "secret key comes from FIELDOPS_SECRET_KEY or is generated once and kept beside the "
        "SQLite database. With --broker, live events fan out through MQTT (topic "
        "fieldops/events/{hall}) so several workers stay consistent.",
    )
    s.add_argument(
        "--db",
        default=None,
        metavar="URL",
        help=f"database URL: sqlite:///path.db or postgresql://user@host/db (default {DEFAULT_DB}, env FIELDOPS_DB)",
    )
    s.add_argument(
        "--broker",
        default=None,
        metavar="URL",
        help="MQTT broker for live events (and --robots), mqtt://[user@]host:port (default: none; "
        "env FIELDOPS_BROKER); with a user, the password comes from env FIELDOPS_MQTT_PASSWORD; "
        "{n} in the user (mqtt://fieldops-web-{n}@host) gives each worker its own user",
    )
    s.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 for the floor network, or keep "
        "127.0.0.1 behind a TLS proxy with --proxy)",
    )
    s.add_argument(
        "--proxy",
        action="store_true",
        default=None,
        help="served behind a reverse proxy that terminates TLS (deploy/Caddyfile): trust one "
        "hop of X-Forwarded-For/-Proto/-Host/-Prefix, send the session cookie only over HTTPS "
        "(Secure) and HSTS (env FIELDOPS_PROXY=1)",
    )
    s.add_argument(
        "--port",
        type=int,
        default=8080,
        help="port to listen on (default 8080; 0 picks a free one)",
    )
    s.add_argument(
        "--threads",
        type=int,
        default=32,
        metavar="N",
        help="worker threads; each open live view holds one (default 32)",
    )
    s.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="processes sharing the listening socket, each with --threads threads (default 1). "
        "They stay consistent through the database; live events reach every worker through "
        "--broker, or through an embedded broker on 127.0.0.1 started for them",
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
        help="no longer needed: the plan carries the floor map, rack elevations and walking "
        "paths (accepted and ignored)",
    )
    s.add_argument(
        "--robots",
        action="store_true",
        help="with --broker: dispatch the plan's robot steps over VDA 5050 and record their results in the store",
    )
    s.add_argument(
        "--vda-version",
        default=None,
        choices=("2.0.0", "2.1.0"),
        help="with --robots: VDA 5050 version for robots whose profile (vda_version) and "
        "factsheet do not say (default 2.1.0, env FIELDOPS_VDA_VERSION)",
    )
    s.add_argument(
        "--robots-user",
        default=None,
        metavar="NAME",
        help="with --robots: the robot bridge's own MQTT user (its password from env "
        "FIELDOPS_ROBOTS_PASSWORD), so it never shares a client identity with the web "
        "workers (default: the --broker URL's user; env FIELDOPS_ROBOTS_USER)",
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
        default=None,
        metavar="URL",
        help=f"database URL (default {DEFAULT_DB}, env FIELDOPS_DB)",
    )
    ld.add_argument(
        "--design",
        type=Path,
        default=None,
        metavar="DIR",
        help="no longer needed: the plan carries the floor map, rack elevations and walking "
        "paths (accepted and ignored)",
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
            default=None,
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
    add_password_file(a)
    common(a)
    a.set_defaults(func=run_users_add)

    pw = usub.add_parser(
        "passwd",
        help="set a user's password (logs them out of every browser)",
        description="Set a user's password (prompt or --password-file). Every browser session "
        "of the user ends: a copied session cookie stops working too.",
    )
    pw.add_argument("name", help="user name")
    add_password_file(pw)
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


def settings_from(args, **more):
    """The settings for a command: ``FIELDOPS_*`` variables, then its flags."""
    from fieldops.config import Settings, SettingsError

    try:
        return Settings.from_env(database_url=getattr(args, "db", None), **more)
    except SettingsError as exc:
        raise DesignError([Problem("settings", 0, "", str(exc))]) from None


FLAG_OF = {"database_url": "--db", "broker_url": "--broker"}


def open_parts(settings, *, hub: bool = False, migrate: bool = True):
    """The composition root's parts for a command; a bad setting is one line naming its flag."""
    from fieldops.bootstrap import bootstrap, open_store
    from fieldops.config import SettingsError

    try:
        store = open_store(settings, migrate=migrate)
    except SettingsError as exc:
        raise DesignError(
            [Problem(FLAG_OF.get(exc.setting, "settings"), 0, "", str(exc))]
        ) from None
    return bootstrap(settings, store=store, hub=hub)


def _load(parts, plan: Path, design: Path | None = None) -> dict:
    if design is not None:
        print(
            "fieldops: note: --design is no longer needed: the plan carries its floor and walks",
            file=sys.stderr,
        )
    return parts.floor.load_plan(plan)


def _say_loaded(res: dict) -> None:
    verb = "loaded" if res["new"] else "already loaded"
    print(
        f"{verb}: {res['design']} revision {res['revision']} ({res['hall']}), {res['steps']} steps"
    )


def run_load(args) -> int:
    parts = open_parts(settings_from(args))
    try:
        _say_loaded(_load(parts, args.plan, args.design))
    finally:
        parts.close()
    return 0


def _accounts_action(fn):
    from fieldops.core.errors import StoreError

    try:
        return fn()
    except StoreError as exc:
        raise DesignError([Problem("users", 0, "", exc.message)]) from None


def run_users_add(args) -> int:
    pw = read_password(args.password_file)
    parts = open_parts(settings_from(args))
    try:
        u = _accounts_action(
            lambda: parts.accounts.add_user(args.name, pw, args.role, crew=args.crew)
        )
    finally:
        parts.close()
    print(f"added {u['name']} ({u['role']}{', crew ' + u['crew'] if u['crew'] else ''})")
    return 0


def run_users_passwd(args) -> int:
    pw = read_password(args.password_file)
    parts = open_parts(settings_from(args))
    try:
        _accounts_action(lambda: parts.accounts.set_password(args.name, pw))
    finally:
        parts.close()
    print(f"password of {args.name} changed")
    return 0


def run_users_token(args) -> int:
    parts = open_parts(settings_from(args))
    try:
        tok = _accounts_action(lambda: parts.accounts.create_token(args.name, args.label))
    finally:
        parts.close()
    print(tok)
    return 0


def run_users_list(args) -> int:
    parts = open_parts(settings_from(args))
    try:
        for u in parts.accounts.users():
            print(
                f"{u['name']}\t{u['role']}\t{u['crew']}\t{'active' if u['active'] else 'disabled'}"
            )
    finally:
        parts.close()
    return 0


def run_serve(args) -> int:
    if not 1 <= args.threads <= 1000:
        raise DesignError([Problem("--threads", 0, "", "must be 1..1000")])
    if not 1 <= args.workers <= 64:
        raise DesignError([Problem("--workers", 0, "", "must be 1..64")])
    from fieldops.bootstrap import wait_for_port
    from fieldops.cli._ports import ensure_free, listen
    from fieldops.web.server import WebServer, start_beside, stop_beside

    settings = settings_from(
        args,
        broker_url=args.broker,
        vda_version=args.vda_version,
        robots_user=args.robots_user,
        proxy=args.proxy,
    )
    settings = settings.but(db_pool_size=args.threads)
    if args.robots and not settings.broker_url:
        raise DesignError([Problem("--robots", 0, "", "needs --broker")])
    if args.robots and "{n}" in (settings.broker_url or "") and not settings.robots_user:
        raise DesignError(
            [
                Problem(
                    "--robots-user",
                    0,
                    "",
                    "--broker names one user per worker ({n}): give the robot bridge its own user",
                )
            ]
        )
    sock = listen(args.host, args.port)  # a taken port is said before any other work
    master = os.getpid()
    beside = []
    try:
        parts = open_parts(settings)  # migrates, once, before any worker runs
        try:
            if args.plan is not None:
                _say_loaded(_load(parts, args.plan, args.design))
        finally:
            parts.close()
        settings = settings.but(secret_key=_secret_key(settings))  # one key for every worker
        if args.workers > 1 and not settings.broker_url:
            # live events between workers go through a broker: run one for them
            port = ensure_free("127.0.0.1", 0, "--broker")
            beside.append(start_beside("broker", settings, "127.0.0.1", str(port)))
            try:
                wait_for_port("127.0.0.1", port, 15)
            except TimeoutError:
                raise DesignError(
                    [
                        Problem(
                            "--workers",
                            0,
                            "",
                            "the embedded MQTT broker for the workers did not start",
                        )
                    ]
                ) from None
            settings = settings.but(broker_url=f"mqtt://127.0.0.1:{port}")
        if args.robots:  # one writer of robot orders, beside the workers
            beside.append(start_beside("robots", settings))
        where = f"http://{args.host}:{sock.getsockname()[1]}/"
        workers = f" with {args.workers} workers" if args.workers > 1 else ""
        broker = f", broker {_redact(settings.broker_url)}" if settings.broker_url else ""
        print(
            f"fieldops serving on {where}{workers} (database {_redact(settings.database_url or DEFAULT_DB)}{broker})",
            flush=True,
        )
        WebServer(settings, sock, workers=args.workers, threads=args.threads).run()
    except KeyboardInterrupt:
        pass
    finally:
        if os.getpid() == master:  # a gunicorn worker leaves through here too
            stop_beside(beside)
            sock.close()
    return 0


def _secret_key(settings) -> str:
    from fieldops.bootstrap import secret_key

    return secret_key(settings)


def _redact(url: str | None) -> str:
    from urllib.parse import urlsplit, urlunsplit

    if not url:
        return ""
    p = urlsplit(url)
    if p.password:
        netloc = f"{p.username}:***@{p.hostname}" + (f":{p.port}" if p.port else "")
        return urlunsplit((p.scheme, netloc, p.path, p.query, p.fragment))
    return url
