"""fieldops demo: the whole loop on the embedded defaults, on one machine, nothing to install.

Plans the sample lab hall (CSV, JSON, PDFs), starts the embedded MQTT broker, two simulated
robots and the web app with the plan loaded, and prints the URL and one-off demo logins.
"""

from __future__ import annotations

import secrets
import sys
import threading
import time
from pathlib import Path

from fieldops.core.problems import DesignError, Problem

DEMO_USERS = (
    ("lead", "lead", ""),
    ("admin", "admin", ""),
    ("tech1", "technician", "technician-1"),
    ("tech2", "technician", "technician-2"),
)


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
    from fieldops.adapters.mqtt.acl import fleet_serials
    from fieldops.adapters.mqtt.broker import EmbeddedBroker
    from fieldops.adapters.mqtt.simulator import SimulatedRobot
    from fieldops.bootstrap import sample_design
    from fieldops.cli.serve import _load, _start_bridge, _store

    if not 0 <= args.port < 65536 or not 0 <= args.mqtt_port < 65536:
        raise DesignError([Problem("--port", 0, "", "ports must be 0..65535")])
    if args.time_scale <= 0:
        raise DesignError([Problem("--time-scale", 0, "", "must be above 0")])
    design = args.design or sample_design()
    out = args.out.resolve()
    plan_dir = out / "plan"
    say = lambda msg: print(f"  {msg}", flush=True)  # noqa: E731

    print(f"fieldops demo: planning {design} into {plan_dir}", flush=True)
    result = services.plan_design(design, plan_dir, pdf=not args.no_pdf, progress=say)
    print(services.plan_summary(result), flush=True)

    broker = EmbeddedBroker(host="127.0.0.1", port=args.mqtt_port or _free_port()).start()
    robots: list = []
    bridge = None
    server = None
    db_url = f"sqlite:///{out / 'demo.db'}"
    store = _store(db_url)
    try:
        _load(store, plan_dir, Path(design))
        logins = _demo_users(store)
        profiles = services.robot_profiles()
        by_profile: dict[str, list[str]] = {}
        for member in store.team():
            if member["kind"] == "robot" and member["profile"] in profiles:
                by_profile.setdefault(member["profile"], []).append(member["name"])
        for name, members in sorted(by_profile.items()):
            profile = profiles[name]
            # the same serials the bridge addresses its orders to
            for serial in fleet_serials(profile.serial_number, len(members)):
                robots.append(
                    SimulatedRobot(
                        profile,
                        broker.url,
                        serial_number=serial,
                        time_scale=args.time_scale,
                        map_id=store.hall(),
                    ).start()
                )
        bridge = _start_bridge(store, broker.url)

        from waitress import create_server

        from fieldops.web import create_app

        app = create_app({"DATABASE_URL": db_url, "STORE": store, "MQTT_BROKER": broker.url})
        server = create_server(app, host=args.host, port=args.port, threads=16, ident="fieldops")
        url = f"http://{args.host}:{server.effective_port}/"
        thread = threading.Thread(target=server.run, name="fieldops-web", daemon=True)
        thread.start()
        print(f"\nfieldops demo is running: {url}", flush=True)
        print(
            f"  MQTT broker {broker.url}; {len(robots)} simulated robot(s) at {args.time_scale:g}x speed",
            flush=True,
        )
        print("  logins (new each run):", flush=True)
        for name, role, pw in logins:
            print(f"    {name:6} {pw}  ({role})", flush=True)
        print(f"  plan and PDFs: {plan_dir}\n  Ctrl-C to stop.", flush=True)
        deadline = None if args.exit_after is None else time.monotonic() + args.exit_after
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        print("fieldops demo: stopping", file=sys.stderr, flush=True)
        if server is not None:
            server.close()
        if bridge is not None:
            bridge.stop()
        for robot in robots:
            robot.stop()
        broker.stop()
        store.close()
    return 0


def _demo_users(store) -> list[tuple[str, str, str]]:
    """Create (or reset) the demo accounts with fresh random passwords."""
    logins = []
    for name, role, crew in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        if store.user(name) is None:
            store.add_user(name, password, role, crew=crew)
        else:
            store.set_password(name, password)
        logins.append((name, role, password))
    return logins


def _free_port() -> int:
    from fieldops.adapters.mqtt.broker import free_port

    return free_port()
