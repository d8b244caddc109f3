"""fieldops demo: the whole loop on the embedded defaults, on one machine, nothing to install.

Plans the sample lab hall (CSV, JSON, PDFs), starts the embedded MQTT broker, two simulated
robots and the web app with the plan loaded, and prints the URL and one-off demo logins.
"""

from __future__ import annotations

import secrets
import signal
import sys
import threading
import time
from pathlib import Path

from fieldops.core.problems import DesignError, Problem
from fieldops.core.workorder import natural_key

# the lead and the admin; every technician of the planned team gets a login of its own
DEMO_STAFF = (("lead", "lead", ""), ("admin", "admin", ""))

# what each file of the plan folder is for, in the order a newcomer reads them
PLAN_FILES = {
    "cutsheets.pdf": "cut sheets per work order: steps, cable table, floor map",
    "labels.pdf": "cable labels with QR codes, both ends",
    "workorders.json": "the plan: steps in order, walking paths, cable IDs (what the app shows)",
    "schedule.csv": "who does which step when; the makespan",
    "cutsheet.csv": "one row per cable: ends, route length, ordered length, SKU, label text",
    "bom.csv": "cables to order, per SKU, with spares",
    "routes.json": "each cable's tray route (for checking lengths)",
}


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="plan the sample hall and run broker, simulated robots and web app together",
        description="Plan the sample lab hall into OUT (cutsheet.csv, bom.csv, routes.json, "
        "workorders.json, schedule.csv, cutsheets.pdf, labels.pdf), start the embedded MQTT "
        "broker, two simulated robots (lift and cabling) and the web app on the plan, and print "
        "the URL and demo logins (new random passwords each run). Ctrl-C stops everything.",
    )
    p.add_argument(
        "--design",
        type=Path,
        default=None,
        metavar="DIR",
        help="design to demo (default: the bundled floorplans/lab-hall)",
    )
    p.add_argument(
        "-o",
        "--out",
        type=Path,
        default=Path("demo-out"),
        metavar="DIR",
        help="where the plan, PDFs and demo database go (default ./demo-out)",
    )
    p.add_argument("--host", default="127.0.0.1", help="web app address (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=8080, help="web app port (default 8080; 0 picks a free one)"
    )
    p.add_argument(
        "--mqtt-port", type=int, default=0, help="embedded broker port (default: a free one)"
    )
    p.add_argument(
        "--time-scale",
        type=float,
        default=120.0,
        metavar="X",
        help="simulated robots run X times faster than real time (default 120)",
    )
    p.add_argument("--no-pdf", action="store_true", help="skip the PDFs (faster start)")
    p.add_argument(
        "--exit-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop by itself after this long (for scripted runs)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from fieldops import services
    from fieldops.bootstrap import (
        embedded_broker,
        sample_design,
        simulated_fleet,
        stop_waitress,
        waitress_server,
    )
    from fieldops.cli._ports import ensure_free, listen
    from fieldops.cli.serve import open_parts
    from fieldops.config import Settings
    from fieldops.services.robots import start_robot_bridge
    from fieldops.web import create_app

    if args.time_scale <= 0:
        raise DesignError([Problem("--time-scale", 0, "", "must be above 0")])
    _stop_on_ctrl_c_or_kill()
    # ports first: a taken port is said before a minute of planning, not after
    web_sock = listen(args.host, args.port, "--port")
    mqtt_port = ensure_free("127.0.0.1", args.mqtt_port, "--mqtt-port")
    design = args.design or sample_design()
    out = args.out.resolve()
    plan_dir = out / "plan"
    say = lambda msg: print(f"  {msg}", flush=True)  # noqa: E731

    print(f"fieldops demo: planning {design} into {plan_dir}", flush=True)
    try:
        result = services.plan_design(design, plan_dir, pdf=not args.no_pdf, progress=say)
    except BaseException:
        web_sock.close()
        raise
    print(services.plan_summary(result), flush=True)

    broker = embedded_broker("127.0.0.1", mqtt_port).start()
    robots: list = []
    bridge = None
    server = thread = None
    # the demo's own settings: nothing from the environment decides where its data goes
    settings = Settings(database_url=f"sqlite:///{out / 'demo.db'}", broker_url=broker.url)
    parts = open_parts(settings, hub=True)
    try:
        parts.floor.load_plan(plan_dir)
        logins = _demo_users(parts.accounts, parts.floor.team())
        robots = simulated_fleet(parts, broker.url, time_scale=args.time_scale)
        bridge = start_robot_bridge(parts, client_id="fieldops-demo-bridge")
        server = waitress_server(create_app(parts=parts), web_sock)
        url = f"http://{args.host}:{web_sock.getsockname()[1]}/"
        thread = threading.Thread(target=server.run, name="fieldops-web", daemon=True)
        thread.start()
        _what_next(url, logins, broker.url, robots, args.time_scale, plan_dir, out)
        deadline = None if args.exit_after is None else time.monotonic() + args.exit_after
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        print("fieldops demo: stopping", file=sys.stderr, flush=True)
        if thread is not None:
            stop_waitress(server, thread)
        elif server is not None:
            server.close()
        else:
            web_sock.close()
        if bridge is not None:
            bridge.stop()
        for robot in robots:
            robot.stop()
        broker.stop()
        parts.close()
    return 0


def _stop_on_ctrl_c_or_kill() -> None:
    """Ctrl-C and a plain ``kill`` stop the demo cleanly. Set here, not inherited: a demo
    started as a script's background job inherits SIGINT ignored (POSIX shells do that), and
    Python keeps it so; it then never heard the Ctrl-C it asks for."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)


def _what_next(url, logins, broker_url, robots, time_scale, plan_dir: Path, out: Path) -> None:
    """The block a newcomer reads: where to click, who to log in as, what was written."""
    lines = [
        "",
        f"fieldops demo is running: {url}",
        f"  technicians: log in at {url}login and follow 'your next step'",
        f"  the lead's dashboard: {url}lead/   API: {url}api/openapi.yaml",
        f"  MQTT broker {broker_url}; {len(robots)} simulated robot(s) at {time_scale:g}x speed",
        "  logins (new passwords each run):",
    ]
    lines += [
        f"    {name:8} {pw}  ({role}{', ' + crew if crew else ''})"
        for name, role, crew, pw in logins
    ]
    lines.append(f"  the plan, in {plan_dir}:")
    for name, what in PLAN_FILES.items():
        if (plan_dir / name).exists():
            lines.append(f"    {name:16} {what}")
    lines.append(f"  the demo's database: {out / 'demo.db'} (kept between runs)")
    lines.append("  Ctrl-C to stop.")
    print("\n".join(lines), flush=True)


def _demo_users(accounts, team: list[dict]) -> list[tuple[str, str, str, str]]:
    """(login, role, crew, password) for the lead, the admin and every technician of the
    planned team, created or reset with fresh random passwords."""
    staff = list(DEMO_STAFF)
    techs = sorted((m["name"] for m in team if m["kind"] == "technician"), key=natural_key)
    for n in techs:
        number = n.rsplit("-", 1)[-1]
        staff.append((f"tech{number}" if number.isdigit() else n, "technician", n))
    # a crew (the rigging crew) logs in under its member name, with the technician's role
    crews = sorted((m["name"] for m in team if m["kind"] == "crew"), key=natural_key)
    staff.extend((n, "technician", n) for n in crews)
    logins = []
    for name, role, crew in staff:
        password = secrets.token_urlsafe(9)
        if accounts.user(name) is None:
            accounts.add_user(name, password, role, crew=crew)
        else:
            accounts.set_password(name, password)
        logins.append((name, role, crew, password))
    return logins
