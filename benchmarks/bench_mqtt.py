"""Robot feed throughput through a real Mosquitto: orders out, state in, step-status lag.

1,000 robots x 10 steps = 10,000 robot steps. The bridge (fieldops.adapters.mqtt.bridge)
publishes every robot's order and its order updates (window 2); a fleet process plays the
robots: it reads the orders and streams 50,000 ``state`` messages (QoS 0, as VDA 5050 says)
carrying the action states; the bridge parses them and sets step status in a sink.

Reports msgs/s each way and the step-status lag (robot publishes FINISHED -> sink has ``done``).

    .venv/bin/python benchmarks/bench_mqtt.py [--robots 1000] [--steps 10] [--states 50000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fieldops.adapters.mqtt import connect, make_client  # noqa: E402
from fieldops.adapters.mqtt.bridge import RobotAssignment, RobotBridge  # noqa: E402
from fieldops.adapters.mqtt.broker import free_port, wait_for_port  # noqa: E402
from fieldops.core import vda5050 as v  # noqa: E402
from fieldops.core.model import RobotProfile  # noqa: E402
from fieldops.core.workorder import CONFIRM_ROBOT, Location, Step  # noqa: E402

MANUFACTURER = "BenchBotics"


def fleet(robots: int, steps: int) -> list[RobotAssignment]:
    profile = RobotProfile(
        "bench-lift", "robot", MANUFACTURER, "B", actions=("mount_device",), speed_m_s=1.0
    )
    out = []
    for r in range(robots):
        mine = tuple(
            Step(
                f"R{r:04d}/S{s:02d}",
                "stack",
                "mount_device",
                "Mount",
                "Mount",
                Location(
                    rack=f"R{r:04d}-{s:02d}",
                    face="front",
                    u=10,
                    x_mm=600 * s,
                    y_mm=1200 * r,
                    theta_deg=90.0,
                ),
                confirm=CONFIRM_ROBOT,
                assignee=f"bench-{r}",
            )
            for s in range(steps)
        )
        out.append(RobotAssignment(profile, mine, f"B{r:04d}"))
    return out


def publish_orders(url: str, assignments) -> tuple[int, int, float, bool]:
    """Build and publish one full order per robot (every stop released); time until received."""
    got = [0]
    done = threading.Event()
    sub = make_client(url, "bench-orders-sub")
    subscribed = threading.Event()
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe(f"uagv/v2/{MANUFACTURER}/+/order", 0)
    sub.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()

    def on_message(c, u, m):
        got[0] += 1
        if got[0] == len(assignments):
            done.set()

    sub.on_message = on_message
    connect(sub)
    subscribed.wait(10)
    pub = make_client(url, "bench-orders-pub")
    connect(pub)
    time.sleep(0.3)
    ts = v.iso_timestamp(time.time())
    size = 0
    t0 = time.perf_counter()
    for a in assignments:
        route = v.build_route(
            a.steps,
            start=v.Pose("start", 0, 0),
            declared=v.declared_action_types(a.profile.actions),
        )
        payload = v.encode(
            v.build_order(
                route,
                v.Header(0, ts, MANUFACTURER, a.serial),
                order_id=f"raw-{a.serial}",
                map_id="BENCH",
            )
        )
        size += len(payload)
        pub.publish(v.topic(MANUFACTURER, a.serial, "order"), payload, qos=0)
    ok = done.wait(60)
    elapsed = time.perf_counter() - t0
    for c in (pub, sub):
        c.disconnect()
        c.loop_stop()
    return len(assignments), size, elapsed, ok and got[0] == len(assignments)


class TimedSink:
    def __init__(self) -> None:
        self.done_at: dict[str, float] = {}
        self.calls = 0

    def set_status(self, step_id: str, status: str, detail: dict) -> None:
        self.calls += 1
        if status == "done":
            self.done_at[step_id] = time.time()


def robots_process(
    url: str, robots: int, states: int, ready, result_path: str, rate: float = 0.0
) -> None:
    """The fleet: read orders, then stream state messages; record when each step finished."""
    orders: dict[str, dict] = {}
    order_msgs = [0, 0, 0.0, 0.0]  # count, bytes, first, last
    lock = threading.Lock()
    client = make_client(url, "bench-fleet")

    def on_message(c, u, msg):
        now = time.time()
        data = json.loads(msg.payload)
        with lock:
            order_msgs[0] += 1
            order_msgs[1] += len(msg.payload)
            order_msgs[2] = order_msgs[2] or now
            order_msgs[3] = now
            serial = data["serialNumber"]
            o = orders.setdefault(serial, {"orderId": data["orderId"], "nodes": {}, "update": 0})
            o["update"] = max(o["update"], data["orderUpdateId"])
            for n in data["nodes"]:
                o["nodes"][n["sequenceId"]] = [
                    (a["actionId"], a["actionType"]) for a in n["actions"]
                ]

    client.on_message = on_message
    subscribed = threading.Event()
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"uagv/v2/{MANUFACTURER}/+/order", 0)
    client.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()
    connect(client)
    subscribed.wait(10)
    ids = v.HeaderIds()
    ts = v.iso_timestamp(time.time())

    def header(serial):
        return v.Header(ids.next(serial), ts, MANUFACTURER, serial)

    serials = [f"B{r:04d}" for r in range(robots)]
    for s in serials:  # hello: no order yet, standing at the origin
        st = v.build_state(
            header(s),
            order_id="",
            order_update_id=0,
            last_node_id="",
            last_node_sequence_id=0,
            driving=False,
            position=(0.0, 0.0, 0.0, "BENCH"),
        )
        client.publish(v.topic(MANUFACTURER, s, "state"), v.encode(st), qos=0)
    deadline = time.time() + 60
    while time.time() < deadline:
        with lock:
            if len(orders) == robots:
                break
        time.sleep(0.05)
    ready.set()
    # each robot: every action RUNNING then FINISHED, node by node; pad with repeats to `states`
    plans = {}
    with lock:
        for s in serials:
            o = orders[s]
            seq_actions = [
                (seq, aid, at) for seq in sorted(o["nodes"]) for aid, at in o["nodes"][seq]
            ]
            plans[s] = seq_actions
    per_robot = states // robots
    finish_times: dict[str, float] = {}
    sent = 0
    t0 = time.time()
    progress = {s: {} for s in serials}
    for k in range(per_robot):
        for s in serials:
            if rate > 0:
                ahead = sent / rate - (time.time() - t0)
                if ahead > 0:
                    time.sleep(ahead)
            plan = plans[s]
            idx, phase = divmod(k, 2)
            statuses = progress[s]
            seq = 0
            if idx < len(plan):
                seq, aid, at = plan[idx]
                statuses[aid] = (at, "RUNNING" if phase == 0 else "FINISHED")
            else:
                seq = plan[-1][0] if plan else 0
            with lock:
                upd = orders[s]["update"]
            st = v.build_state(
                header(s),
                order_id=orders[s]["orderId"],
                order_update_id=upd,
                last_node_id="n",
                last_node_sequence_id=seq,
                driving=False,
                position=(0.0, 0.0, 0.0, "BENCH"),
                action_states=[(a, t, x, "") for a, (t, x) in statuses.items()],
            )
            client.publish(v.topic(MANUFACTURER, s, "state"), v.encode(st), qos=0)
            sent += 1
            if (
                idx < len(plan)
                and phase == 1
                and (
                    idx + 1 == len(plan)
                    or plan[idx + 1][1].rsplit(":", 1)[0] != aid.rsplit(":", 1)[0]
                )
            ):
                finish_times[aid.rsplit(":", 1)[0]] = time.time()
    t1 = time.time()
    time.sleep(1.0)
    with lock:
        Path(result_path).write_text(
            json.dumps(
                {
                    "sent": sent,
                    "publish_s": t1 - t0,
                    "finish": finish_times,
                    "orders": order_msgs,
                    "start": t0,
                }
            )
        )
    client.disconnect()
    client.loop_stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--robots", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--states", type=int, default=50_000)
    ap.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="pace state publishing at N msgs/s (default: as fast as possible)",
    )
    args = ap.parse_args()
    binary = (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else shutil.which("mosquitto")
    )
    if not binary:
        print("mosquitto is not installed (scripts/bootstrap --test)", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="bench-mqtt-"))
    port = free_port()
    (tmp / "m.conf").write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 2000000\nmax_queued_bytes 0\nmax_inflight_messages 0\nuser root\n"
    )
    broker = subprocess.Popen(
        [binary, "-c", str(tmp / "m.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port("127.0.0.1", port)
        url = f"mqtt://127.0.0.1:{port}"
        assignments = fleet(args.robots, args.steps)
        raw = publish_orders(url, assignments)
        sink = TimedSink()
        bridge = RobotBridge(url, assignments, sink, map_id="BENCH", window=2, resend_after_s=30)
        bridge.start()
        ctx = mp.get_context("spawn")
        ready = ctx.Event()
        result = tmp / "result.json"
        proc = ctx.Process(
            target=robots_process,
            args=(url, args.robots, args.states, ready, str(result), args.rate),
        )
        proc.start()
        ready.wait(120)
        target = args.states + args.robots
        t0 = time.time()
        while bridge.received < target and time.time() - t0 < 300 and proc.is_alive():
            time.sleep(0.05)
        while bridge.received < target and time.time() - t0 < 300:
            time.sleep(0.05)
        t_ingest = time.time()
        proc.join(60)
        bridge.stop()
        data = json.loads(result.read_text())
    finally:
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    steps_total = args.robots * args.steps
    lags = sorted(sink.done_at[s] - t for s, t in data["finish"].items() if s in sink.done_at)
    n_orders, order_bytes, first, last = data["orders"]
    ingest_s = t_ingest - data["start"]

    def pct(p):
        return lags[min(len(lags) - 1, int(p * len(lags)))] * 1000 if lags else float("nan")

    rows = [
        ("robot steps", f"{steps_total:,}", f"{args.robots:,} robots x {args.steps}"),
        (
            "full orders built + published",
            f"{raw[0]:,}",
            f"{raw[1] / raw[0] / 1024:.1f} KB avg, all received: {raw[3]}",
        ),
        (
            "full orders msgs/s (publish -> received)",
            f"{raw[0] / raw[2]:,.0f}",
            f"{raw[1] / raw[2] / 1e6:.1f} MB/s, {raw[2]:.2f} s for {steps_total:,} steps",
        ),
        (
            "order messages (orders + updates)",
            f"{n_orders:,}",
            f"{order_bytes / n_orders / 1024:.1f} KB avg, {order_bytes / 1e6:.1f} MB",
        ),
        (
            "order msgs/s (bridge -> fleet)",
            f"{n_orders / max(last - first, 1e-9):,.0f}",
            "first to last order received",
        ),
        (
            "state messages published",
            f"{data['sent']:,}",
            f"in {data['publish_s']:.2f} s = {data['sent'] / data['publish_s']:,.0f} msgs/s",
        ),
        (
            "state messages ingested by bridge",
            f"{bridge.received - args.robots:,}",
            f"dropped (malformed) {bridge.dropped}",
        ),
        (
            "state ingest msgs/s",
            f"{(bridge.received - args.robots) / ingest_s:,.0f}",
            f"parse + map to step status, {ingest_s:.2f} s",
        ),
        ("steps done", f"{len(sink.done_at):,} / {steps_total:,}", ""),
        (
            "step-status lag p50 / p95 / max",
            f"{pct(0.5):,.0f} / {pct(0.95):,.0f} / {pct(1.0):,.0f} ms",
            "FINISHED published -> sink 'done'",
        ),
    ]
    w = max(len(r[0]) for r in rows)
    print(f"{'measure':<{w}}  {'value':>22}  note")
    for name, value, note in rows:
        print(f"{name:<{w}}  {value:>22}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
