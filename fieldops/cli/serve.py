"""fieldops serve / load / users: run the tablet web app, load a plan into the store, manage
accounts. Passwords never travel on the command line: a prompt or --password-file."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from fieldops.cli._args import add_password_file
from fieldops.cli._secrets import mqtt_password, read_password
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
        help="MQTT broker for live events (and --robots), mqtt://[user@]host:port (default: none; "
        "env FIELDOPS_BROKER); with a user, the password comes from env FIELDOPS_MQTT_PASSWORD",
    )
    s.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 for the floor network)",
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
    add_password_file(a)
    common(a)
    a.set_defaults(func=run_users_add)

    pw = usub.add_parser(
        "passwd",
        help="set a user's password",
        description="Set a user's password (prompt or --password-file).",
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


def _store(url: str, pool_size: int = 5, *, migrate: bool = True):
    from sqlalchemy.exc import OperationalError

    from fieldops.adapters.store import DatabaseUrlError, Store

    try:
        return Store(url, pool_size=pool_size, migrate=migrate)
    except DatabaseUrlError as exc:
        raise DesignError([Problem("--db", 0, "", str(exc))]) from None
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


def _load(store, plan: Path, design: Path | None = None) -> dict:
    from fieldops.adapters.store import load_plan

    if design is not None:
        print(
            "fieldops: note: --design is no longer needed: the plan carries its floor and walks",
            file=sys.stderr,
        )
    return load_plan(store, plan)


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


def _store_action(fn):
    from fieldops.adapters.store import StoreError

    try:
        return fn()
    except StoreError as exc:
        raise DesignError([Problem("users", 0, "", exc.message)]) from None


def run_users_add(args) -> int:
    pw = read_password(args.password_file)
    store = _store(args.db)
    try:
        u = _store_action(lambda: store.add_user(args.name, pw, args.role, crew=args.crew))
    finally:
        store.close()
    print(f"added {u['name']} ({u['role']}{', crew ' + u['crew'] if u['crew'] else ''})")
    return 0


def run_users_passwd(args) -> int:
    pw = read_password(args.password_file)
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


def _start_bridge(store, broker: str, hub=None):
    """Dispatch the active plan's robot steps; their results land in the store (StepSink).
    Events of this worker (the store's listeners) and of the others (``hub``, over MQTT) wake
    robots waiting for a step and withdraw robot steps the lead hands to someone else."""
    from types import SimpleNamespace

    from fieldops import services
    from fieldops.adapters.mqtt.bridge import RobotBridge, assignments_from_plan

    team = [SimpleNamespace(**t) for t in store.team()]
    robots = [t.name for t in team if t.kind == "robot"]
    steps = store.plan_steps(robots)
    assignments, warnings = assignments_from_plan(steps, team, services.robot_profiles())
    for w in warnings:
        print(f"  robots: {w}", file=sys.stderr)
    if not any(a.steps for a in assignments):
        return None
    bridge = RobotBridge(
        broker,
        assignments,
        store,
        map_id=store.hall() or "hall",
        client_id="fieldops-web-bridge",
        password=mqtt_password(),
    ).start()

    def on_event(ev: dict) -> None:
        step_id = ev.get("step_id") or None
        data = ev.get("data")
        if ev.get("kind") == "step_reassigned" and step_id and isinstance(data, dict):
            bridge.reassigned(step_id, str(data.get("to", "")))
        # a technician's confirmation (or a resolved problem) may release a waiting robot
        bridge.notify_step_changed(step_id)

    store.listeners.append(on_event)
    if hub is not None:
        hub.remote_listeners.append(on_event)
    return bridge


def _make_server(app, sock, threads: int):
    from waitress import create_server

    # A request thread back from the database waits for the GIL up to the switch interval
    # (5 ms by default) at each of its round trips; 1 ms cut the p95 of 200 tablets on
    # PostgreSQL from 254 to 133 ms (benchmarks/bench_web.py, lockstep, 1 worker).
    sys.setswitchinterval(0.001)
    return create_server(
        app,
        sockets=[sock],
        threads=threads,
        channel_timeout=120,
        connection_limit=1000,
        ident="fieldops",
    )


def _app(args, store, secret: str, broker: str | None):
    from fieldops.web import create_app

    return create_app(
        {
            "DATABASE_URL": args.db,
            "STORE": store,
            "MQTT_BROKER": broker,
            "DB_POOL_SIZE": args.threads,
            "SECRET_KEY": secret,
        }
    )


def run_serve(args) -> int:
    if not 1 <= args.threads <= 1000:
        raise DesignError([Problem("--threads", 0, "", "must be 1..1000")])
    if not 1 <= args.workers <= 64:
        raise DesignError([Problem("--workers", 0, "", "must be 1..64")])
    if args.robots and not args.broker:
        raise DesignError([Problem("--robots", 0, "", "needs --broker")])
    from fieldops.cli._ports import listen
    from fieldops.web import resolve_secret_key

    sock = listen(args.host, args.port)  # a taken port is said before any other work
    try:
        store = _store(args.db, pool_size=args.threads)  # migrates once, before any worker
        if args.plan is not None:
            _say_loaded(_load(store, args.plan, args.design))
        secret = resolve_secret_key(args.db)  # one key for every worker
    except BaseException:
        sock.close()
        raise
    where = f"http://{args.host}:{sock.getsockname()[1]}/"
    if args.workers > 1:
        store.close()  # nothing database-side may cross a fork
        return _run_workers(args, sock, secret, where)
    app = _app(args, store, secret, args.broker)
    bridge = (
        _start_bridge(store, args.broker, app.extensions["fieldops_hub"]) if args.robots else None
    )
    server = _make_server(app, sock, args.threads)
    print(
        f"fieldops serving on {where} (database {_redact(args.db)}{', broker ' + _redact(args.broker) if args.broker else ''})",
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


# ---------------------------------------------------------------- several workers


class _Stop(Exception):
    """SIGTERM/SIGINT in the supervisor."""


def _run_workers(args, sock, secret: str, where: str) -> int:
    """Fork the workers after binding; supervise them (restart one that dies, stop all on
    SIGTERM/SIGINT). The supervisor runs no threads, so forking again stays safe; every
    worker exits when the supervisor dies (it watches a pipe the supervisor holds)."""
    import signal
    import time

    from fieldops.adapters.mqtt.broker import free_port, wait_for_port

    alive_r, alive_w = os.pipe()
    children: dict[int, tuple[str, int]] = {}
    broker = args.broker
    if not broker:  # live events between workers need a broker: run one for them
        mqtt_port = free_port("127.0.0.1")
        pid = _fork(lambda: _broker_main(mqtt_port, alive_r, sock), alive_w)
        children[pid] = ("broker", 0)
        broker = f"mqtt://127.0.0.1:{mqtt_port}"
        try:
            wait_for_port("127.0.0.1", mqtt_port, 15)
        except TimeoutError:
            _stop_children(children)
            raise DesignError(
                [
                    Problem(
                        "--workers", 0, "", "the embedded MQTT broker for the workers did not start"
                    )
                ]
            ) from None

    def spawn(index: int) -> None:
        pid = _fork(lambda: _worker_main(args, index, sock, secret, broker, alive_r), alive_w)
        children[pid] = ("worker", index)

    def stop(_signum, _frame):
        raise _Stop

    old = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    started: dict[int, float] = {}
    try:
        for i in range(args.workers):
            spawn(i)
            started[i] = time.monotonic()
        print(
            f"fieldops serving on {where} with {args.workers} workers (database {_redact(args.db)}, broker {_redact(broker)})",
            flush=True,
        )
        while True:
            pid, status = os.wait()
            role, index = children.pop(pid, ("?", -1))
            code = os.waitstatus_to_exitcode(status)
            print(f"fieldops: {role} {index} (pid {pid}) exited with {code}", file=sys.stderr)
            if role != "worker":
                return 1  # the broker is gone: live updates would silently stop
            if time.monotonic() - started.get(index, 0.0) < 5.0:
                print("fieldops: it died within 5 s of starting; stopping", file=sys.stderr)
                return 1
            spawn(index)
            started[index] = time.monotonic()
    except _Stop:
        return 0
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        _stop_children(children)
        os.close(alive_w)
        os.close(alive_r)
        sock.close()


def _fork(main, alive_w: int) -> int:
    pid = os.fork()
    if pid == 0:  # the child never returns into the supervisor's code
        code = 1
        try:
            os.close(alive_w)
            code = main() or 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        except BaseException as exc:  # noqa: BLE001 - report, then leave without unwinding
            print(f"fieldops worker: {exc!r}", file=sys.stderr, flush=True)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return pid


def _stop_children(children: dict, timeout: float = 10.0) -> None:
    import signal
    import time

    for pid in list(children):
        with _suppress_lookup():
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while children and time.monotonic() < deadline:
        for pid in list(children):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                children.pop(pid, None)
        time.sleep(0.05)
    for pid in list(children):
        with _suppress_lookup():
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        children.pop(pid, None)


def _suppress_lookup():
    import contextlib

    return contextlib.suppress(ProcessLookupError, ChildProcessError)


def _exit_with_supervisor(alive_r: int, on_exit) -> None:
    """A daemon thread: when the supervisor's end of the pipe closes, leave."""
    import threading

    def watch():
        try:
            while os.read(alive_r, 1):
                pass
        except OSError:
            pass
        on_exit()

    threading.Thread(target=watch, name="fieldops-supervisor-watch", daemon=True).start()


def _worker_main(args, index: int, sock, secret: str, broker: str, alive_r: int) -> int:
    import signal

    app = None

    def leave(*_):
        if app is not None:  # open event streams end now, not after their 55 s
            app.extensions["fieldops_hub"].stop_streams()
        raise SystemExit(0)  # waitress stops its loop and its threads on SystemExit

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the supervisor
    _exit_with_supervisor(alive_r, lambda: os.kill(os.getpid(), signal.SIGTERM))
    store = _store(args.db, pool_size=args.threads, migrate=False)
    app = _app(args, store, secret, broker)
    # one writer of robot orders: only the first worker runs the bridge
    bridge = (
        _start_bridge(store, broker, app.extensions["fieldops_hub"])
        if args.robots and index == 0
        else None
    )
    server = _make_server(app, sock, args.threads)
    try:
        server.run()
    except SystemExit:
        pass
    finally:
        if bridge is not None:
            bridge.stop()
        app.extensions["fieldops_hub"].close()
        server.close()
        store.close()
    return 0


def _broker_main(port: int, alive_r: int, sock) -> int:
    import logging
    import signal
    import threading

    from fieldops.adapters.mqtt.broker import EmbeddedBroker

    sock.close()  # the web port stays with the workers only
    logging.getLogger("amqtt").setLevel(logging.CRITICAL)  # not every port probe as an error
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_supervisor(alive_r, done.set)
    broker = EmbeddedBroker(host="127.0.0.1", port=port).start()
    try:
        while not done.wait(1.0):
            pass
    finally:
        broker.stop()
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
