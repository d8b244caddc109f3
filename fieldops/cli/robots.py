"""fieldops robots: dispatch VDA 5050 orders, simulate robots, generate broker ACLs."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

from fieldops.cli._args import add_password_file, robot_list
from fieldops.cli._secrets import mqtt_password
from fieldops.core.dispatcher import STATE_TIMEOUT_S
from fieldops.core.problems import DesignError, Problem
from fieldops.core.vda5050 import ORDER_MAX_ACTIONS, ORDER_MAX_BYTES, ORDER_MAX_STOPS


def register(sub) -> None:
    p = sub.add_parser(
        "robots",
        help="robot fleet over MQTT (VDA 5050): dispatch, simulate, acl",
        description="Speak VDA 5050 2.x over MQTT: send robots their orders and follow their state "
        "(dispatch), run a simulated robot (simulate), or write Mosquitto password and ACL files "
        "for a fleet (acl). Topics: uagv/v2/{manufacturer}/{serialNumber}/{topic}; see docs/robots.md.",
    )
    rsub = p.add_subparsers(dest="robots_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    d = rsub.add_parser(
        "dispatch",
        help="send each robot its orders and follow its state until every robot step is final",
        description="Plan a design (or read a plan folder's workorders.json), send every robot of the "
        "team its VDA 5050 order over MQTT, follow state/connection/factsheet and write step status "
        "to a JSON file. Exits 0 when every robot step is done or awaiting a technician, 1 when some "
        "are blocked or the timeout passed.",
    )
    d.add_argument(
        "source",
        metavar="PLAN_DIR_OR_DESIGN",
        help="a design directory (planned now) or a plan folder holding workorders.json",
    )
    d.add_argument(
        "--broker",
        default="mqtt://127.0.0.1:1883",
        metavar="URL",
        help="MQTT broker, mqtt://[user@]host:port (default mqtt://127.0.0.1:1883); with a "
        "user, the password comes from env FIELDOPS_MQTT_PASSWORD",
    )
    d.add_argument(
        "--status",
        type=Path,
        default=None,
        metavar="FILE",
        help="step status JSON file (default: step-status.json in the plan folder, or ./step-status.json)",
    )
    d.add_argument(
        "--timeout",
        type=float,
        default=0,
        metavar="S",
        help="give up after S seconds (default 0: wait until every robot step is final)",
    )
    d.add_argument(
        "--window",
        type=int,
        default=2,
        metavar="N",
        help="stops released ahead of each robot; the rest is horizon (default 2)",
    )
    d.add_argument(
        "--order-stops",
        type=int,
        default=ORDER_MAX_STOPS,
        metavar="N",
        help=f"most nodes one order or order update carries, base + horizon (default {ORDER_MAX_STOPS})",
    )
    d.add_argument(
        "--order-bytes",
        type=int,
        default=ORDER_MAX_BYTES,
        metavar="B",
        help="byte budget of one order or order update; the horizon, then the base, is cut to fit "
        f"(default {ORDER_MAX_BYTES}, a quarter of VDA 5050's 4 MiB message limit)",
    )
    d.add_argument(
        "--order-actions",
        type=int,
        default=ORDER_MAX_ACTIONS,
        metavar="N",
        help="actions one orderId may hold before the next stops go out as a new order; bounds "
        f"the robot's state messages, which list every action of the current order (default {ORDER_MAX_ACTIONS})",
    )
    d.add_argument(
        "--vda-version",
        default="2.1.0",
        choices=("2.0.0", "2.1.0"),
        help="VDA 5050 version for robots whose profile (vda_version) and factsheet do not "
        "say (default 2.1.0); 2.0.0 flattens object-valued action parameters into dotted keys",
    )
    d.add_argument(
        "--state-timeout",
        type=float,
        default=STATE_TIMEOUT_S,
        metavar="S",
        help="a robot with steps in hand that sends no state for S seconds is lost: its steps "
        f"go back to ready and a problem names them (default {STATE_TIMEOUT_S:g}, over VDA "
        "5050's 30 s state heartbeat; a hung robot is found sooner by its MQTT keepalive)",
    )
    d.add_argument(
        "--robots",
        default=None,
        metavar="LIST",
        help="robots to plan with, e.g. 'lift-robot=2,cabling-robot' (design input only; default: every robot profile)",
    )
    d.add_argument(
        "--crew",
        type=int,
        default=None,
        metavar="N",
        help="technicians to plan with (design input only)",
    )
    d.add_argument(
        "--profiles",
        type=Path,
        default=None,
        metavar="DIR",
        help="robot profile folder (default: robot_profiles/)",
    )
    d.add_argument(
        "--hold-for-technician",
        action="store_true",
        help="robot+technician steps end with waitForTrigger: the robot waits for the confirmation",
    )
    d.add_argument(
        "--assume-done",
        default="none",
        choices=("none", "technicians", "all"),
        help="steps of others taken as done, since no technician confirms anything in this run: "
        "'technicians' = every technician step and the technician's part of robot+technician "
        "steps; 'all' = every step not sent to a robot here, and those parts. Default 'none' "
        "(safe): a robot step is only sent once every step it depends on is done, so robot "
        "steps that wait for people are not sent (listed, exit 1). In `fieldops serve` the "
        "technicians' confirmations release the robots' work",
    )
    d.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    d.set_defaults(func=run_dispatch)

    s = rsub.add_parser(
        "simulate",
        help="run a simulated VDA 5050 robot from a robot profile",
        description="Connect a simulated robot (last will, factsheet, state) that executes the orders "
        "it is sent, at the profile's speed and action times, until Ctrl-C or SIGTERM (then it says OFFLINE).",
    )
    s.add_argument(
        "--profile",
        type=Path,
        required=True,
        metavar="FILE",
        help="robot profile YAML, e.g. robot_profiles/lift-robot.yaml",
    )
    s.add_argument(
        "--broker",
        default="mqtt://127.0.0.1:1883",
        metavar="URL",
        help="MQTT broker, mqtt://host:port (default mqtt://127.0.0.1:1883); the username is "
        "--serial",
    )
    s.add_argument(
        "--serial",
        default=None,
        help="serial number (default: the profile's); also the MQTT username when the URL has none",
    )
    add_password_file(
        s,
        "MQTT password when the URL has none: the first line of FILE ('-' for stdin); "
        "else $FIELDOPS_MQTT_PASSWORD. Never on the command line, where ps shows it",
    )
    s.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="simulated seconds per real second (default 1)",
    )
    s.add_argument(
        "--fail-rate",
        type=float,
        default=0.0,
        metavar="F",
        help="fraction of actions that fail, 0..1 (default 0)",
    )
    s.add_argument("--seed", type=int, default=0, help="random seed for failures (default 0)")
    s.add_argument(
        "--vda-version",
        default="2.1.0",
        choices=("2.0.0", "2.1.0"),
        help="VDA 5050 version in headers (default 2.1.0)",
    )
    s.add_argument(
        "--state-interval",
        type=float,
        default=1.0,
        metavar="S",
        help="publish state at least every S real seconds (default 1)",
    )
    s.set_defaults(func=run_simulate)

    a = rsub.add_parser(
        "acl",
        help="write Mosquitto password + ACL files for the robot fleet",
        description="Write acl, passwd (hashed, $7$ PBKDF2-SHA512), credentials.json (plain, mode 0600) "
        "and fieldops.conf (broker settings: use_username_as_clientid, so every client ID is its "
        "user and nobody can take over another's session) into OUTDIR. Each robot (username = "
        "serial number) reads only its own order/instantActions and writes only its own "
        "state/connection/factsheet/visualization; the 'fieldops' user writes orders; web workers "
        "log in as fieldops-web-1..N; fieldops-monitor only reads. Existing passwords in "
        "OUTDIR/credentials.json are kept.",
    )
    a.add_argument(
        "--profiles",
        type=Path,
        default=None,
        metavar="DIR",
        help="robot profile folder (default: robot_profiles/)",
    )
    a.add_argument(
        "-o", "--out", type=Path, required=True, metavar="OUTDIR", help="output directory"
    )
    a.add_argument(
        "--robots",
        default=None,
        metavar="LIST",
        help="fleet size per profile, e.g. 'lift-robot=2,cabling-robot' (default: each profile's count)",
    )
    a.add_argument(
        "--web-workers",
        type=int,
        default=4,
        metavar="N",
        help="web worker users fieldops-web-1..N, one per 'fieldops serve' worker (default 4)",
    )
    a.set_defaults(func=run_acl)


# ---------------------------------------------------------------- dispatch


def run_dispatch(args) -> int:
    from fieldops.services.robots import check_broker_url, plan_dispatch

    check_broker_url(args.broker)
    if args.window < 1:
        raise DesignError([Problem("--window", 0, "", "must be 1 or more")])
    if args.order_stops < 2:
        raise DesignError([Problem("--order-stops", 0, "", "must be 2 or more")])
    if not 4096 <= args.order_bytes <= 4 * 1024 * 1024:
        raise DesignError(
            [Problem("--order-bytes", 0, "", "must be 4096..4194304 (VDA 5050's message limit)")]
        )
    if args.order_actions < 1:
        raise DesignError([Problem("--order-actions", 0, "", "must be 1 or more")])
    if not 1 <= args.state_timeout <= 3600:
        raise DesignError([Problem("--state-timeout", 0, "", "must be 1..3600 seconds")])
    say = (
        (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    )
    work = plan_dispatch(
        Path(args.source),
        status=args.status,
        crew=args.crew,
        robots=robot_list(args),
        profiles_dir=args.profiles,
        assume_done=args.assume_done,
        hold_for_technician=args.hold_for_technician,
    )
    for w in work.warnings:
        say(f"  {w}")
    total = work.total
    if not total:
        print(
            "fieldops robots dispatch: the plan has no robot steps; nothing to send",
            file=sys.stderr,
        )
        return 0
    status_path = work.status_path
    never = work.never
    first = work.first_never() if never else None
    sink = work.open_status()  # records the never-released steps as pending
    if never:
        print(
            f"{len(never)} of {total} robot step(s) wait for steps nobody completes in this run "
            f"(e.g. {first} waits for {never[first]}): they are not sent. "
            "--assume-done technicians takes the technicians' work as done; under fieldops "
            "serve the technicians' confirmations release them.",
            file=sys.stderr,
        )
        if not work.assignments:
            sink.close()
            print(f"robot steps: pending {len(never)}; status in {status_path}")
            return 1
    bridge = work.bridge(
        args.broker,
        password=mqtt_password(),
        version=args.vda_version,
        window=args.window,
        order_stops=args.order_stops,
        order_bytes=args.order_bytes,
        order_actions=args.order_actions,
        state_timeout_s=args.state_timeout,
    )
    say(
        f"dispatching {total - len(never)} steps to {len(work.assignments)} robot(s) on map {work.map_id} via {args.broker}"
    )
    bridge.start()
    deadline = time.monotonic() + args.timeout if args.timeout > 0 else None
    try:
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            if bridge.wait(5.0 if left is None else min(5.0, left)) or bridge.stalled():
                break
            counts = bridge.counts()
            waiting = bridge.waiting_for()
            say(
                "  "
                + ", ".join(f"{k} {counts[k]}" for k in sorted(counts))
                + (f"; waiting for {', '.join(waiting[:3])}" if waiting else "")
                + ("" if bridge.connected.is_set() else " (broker unreachable, retrying)")
            )
    except KeyboardInterrupt:
        say("interrupted")
    finally:
        bridge.stop()
        sink.close()
    counts = bridge.counts()
    if never:
        counts["pending"] = counts.get("pending", 0) + len(never)
    print(
        f"robot steps: {', '.join(f'{k} {counts[k]}' for k in sorted(counts))}; status in {status_path}"
    )
    for problem in sink.problems:
        print(f"problem: {problem['reason']}", file=sys.stderr)
    if bridge.stalled():
        print(
            "stopped: the remaining robot steps depend on blocked steps (see the status file)",
            file=sys.stderr,
        )
    if bridge.dropped:
        print(f"dropped {bridge.dropped} malformed message(s) (see the log)", file=sys.stderr)
    ok = bridge.all_final() and not counts.get("blocked") and not never
    return 0 if ok else 1


# ---------------------------------------------------------------- simulate


def run_simulate(args) -> int:
    from fieldops.services.robots import check_broker_url, simulated_robot

    check_broker_url(args.broker)
    if not 0 <= args.fail_rate <= 1:
        raise DesignError(
            [Problem("--fail-rate", 0, "", f"{args.fail_rate} is not between 0 and 1")]
        )
    if args.time_scale <= 0:
        raise DesignError([Problem("--time-scale", 0, "", "must be above 0")])
    robot = simulated_robot(
        args.profile,
        args.broker,
        serial_number=args.serial,
        password=mqtt_password(args.password_file),
        time_scale=args.time_scale,
        fail_rate=args.fail_rate,
        seed=args.seed,
        version=args.vda_version,
        state_interval_s=args.state_interval,
    )
    profile = robot.profile
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    robot.start()
    print(
        f"robot {robot.manufacturer}/{robot.serial} ({profile.name}) simulating via {args.broker}; Ctrl-C to stop",
        flush=True,
    )
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        robot.stop()
    return 0


# ---------------------------------------------------------------- acl


def run_acl(args) -> int:
    from fieldops.services.robots import write_fleet_acl

    fleet, files = write_fleet_acl(
        args.out, profiles_dir=args.profiles, robots=robot_list(args), web_workers=args.web_workers
    )
    print(
        f"{len(fleet)} robot(s) + fieldops, {args.web_workers} web worker(s), a monitor: "
        f"wrote {', '.join(str(p) for p in files.values())}"
    )
    print("keep credentials.json secret; give each robot its own password only")
    print(f"add {files['conf']} to mosquitto.conf: each client ID is bound to its user")
    return 0
