"""Robot feed throughput through a real Mosquitto, fieldops side by side with raw paho.

1,000 robots x 10 steps (``--robots``, ``--steps``). Each round, interleaved:

- **orders out**: raw paho publishes order bytes; fieldops publishes the orders it built
  ahead (``Dispatcher.prepare``), each stamped with its header as it goes (the publish
  stage); and the whole path: the robots report in (a hello ``state`` each, from a fleet
  process) and the bridge parses the state, checks precedence and sends the order. Each
  timed from the first publish (hello or order) to the last order received by an observer
  process, in 4 alternating chunks of robots per round;
- **state ingest**: the fleet process streams ``--states`` ``state`` messages (QoS 0, ~1.7
  KB: the robots' action states, RUNNING then FINISHED, step by step). The receiver's
  network loop is paused while they are published (the broker queues them), then resumed
  and timed until the last is processed: so the receiver alone is measured, not the
  publisher. Raw and fieldops alternate over 4 chunks of the stream per round. Raw paho ``json.loads`` each message; fieldops' bridge parses it, maps action
  states to step status and hands each batch to the sink (in memory; ``--store``: also a
  SQLite store, one transaction per batch);
- **status lag**: a busy fleet of 200 robots at 1,000 states/s, bridge live: the time from
  a robot publishing FINISHED to the sink having ``done`` (p50 / p95).

The table gives the median of ``--rounds`` rounds, the ratio to raw paho in the same run and
the load average. Targets (issue 17): ingest and orders out >= 80 % of raw paho.

    .venv/bin/python benchmarks/bench_mqtt.py [--robots 1000] [--steps 10] [--states 50000]
        [--rounds 3] [--store]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import shutil
import statistics
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
PREFIX = "BENCH"


def fleet(robots: int, steps: int, prefix: str = "B") -> list[RobotAssignment]:
    profile = RobotProfile(
        "bench-lift", "robot", MANUFACTURER, "B", actions=("mount_device",), speed_m_s=1.0
    )
    out = []
    for r in range(robots):
        mine = tuple(
            Step(
                f"{prefix}{r:04d}/S{s:02d}",
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
        out.append(RobotAssignment(profile, mine, f"{prefix}{r:04d}"))
    return out


def _state(header: v.Header, order_id: str, seq: int, actions) -> bytes:
    return v.encode(
        v.build_state(
            header,
            order_id=order_id,
            order_update_id=0,
            last_node_id="n",
            last_node_sequence_id=seq,
            driving=False,
            position=(0.0, 0.0, 0.0, "BENCH"),
            action_states=[(a, t, x, "") for a, (t, x) in actions.items()],
        )
    )


def hellos(serials: list[str]) -> list[tuple[str, bytes]]:
    """Each robot reports in: no order, standing at the origin."""
    ts = v.iso_timestamp(time.time())
    return [
        (
            v.topic(MANUFACTURER, s, "state"),
            v.encode(
                v.build_state(
                    v.Header(0, ts, MANUFACTURER, s),
                    order_id="",
                    order_update_id=0,
                    last_node_id="",
                    last_node_sequence_id=0,
                    driving=False,
                    position=(0.0, 0.0, 0.0, "BENCH"),
                )
            ),
        )
        for s in serials
    ]


def state_stream(assignments, states: int) -> tuple[list[tuple[str, bytes]], dict[int, str]]:
    """The states every robot sends while it works through its order (orderId and action
    IDs are fieldops' own, so they are known ahead): each action RUNNING, then FINISHED.
    Returns the messages and, for each message index that finishes a step, the step."""
    ts = v.iso_timestamp(time.time())
    plans = {}
    for a in assignments:
        ids = []
        for i, s in enumerate(a.steps):
            # every step stands at a rack of its own: finePositioning, then the mount
            ids += [(2 * (i + 1), f"{s.id}:0", "finePositioning", None)]
            ids += [(2 * (i + 1), f"{s.id}:1", "installDevice", s.id)]
        plans[a.serial] = ids
    out: list[tuple[str, bytes]] = []
    finishing: dict[int, str] = {}
    progress = {a.serial: {} for a in assignments}
    hid = dict.fromkeys(plans, 1)
    per_robot = states // len(assignments)
    for k in range(per_robot):
        for a in assignments:
            serial = a.serial
            plan = plans[serial]
            idx, phase = divmod(k, 2)
            seq = 0
            if idx < len(plan):
                seq, aid, at, step_done = plan[idx]
                progress[serial][aid] = (at, "RUNNING" if phase == 0 else "FINISHED")
                if phase == 1 and step_done:
                    finishing[len(out)] = step_done
            else:
                seq = plan[-1][0]
            header = v.Header(hid[serial], ts, MANUFACTURER, serial)
            hid[serial] += 1
            out.append(
                (
                    v.topic(MANUFACTURER, serial, "state"),
                    _state(header, f"{PREFIX}-{serial}-1", seq, progress[serial]),
                )
            )
    return out, finishing


# ---------------------------------------------------------------- helper processes


def fleet_process(url: str, job: str, go, done, result_path: str, rate: float) -> None:
    """Publish the messages of ``job`` (a JSON file of [topic, hex payload]) once ``go`` is
    set, as fast as paho goes (or at ``rate`` per second); write when each message left."""
    msgs = [(t, bytes.fromhex(p)) for t, p in json.loads(Path(job).read_text())]
    client = make_client(url, f"bench-fleet-{time.time_ns()}")
    connect(client, keepalive=120)
    while not client.is_connected():
        time.sleep(0.01)
    go.wait(300)
    sent_at = []
    t0 = time.time()
    for i, (topic, payload) in enumerate(msgs):
        if rate:
            ahead = i / rate - (time.time() - t0)
            if ahead > 0:
                time.sleep(ahead)
        client.publish(topic, payload, qos=0)
        sent_at.append(time.time())
    Path(result_path).write_text(json.dumps(sent_at))
    done.wait(600)
    client.disconnect()
    client.loop_stop()


def run_fleet(url: str, tmp: Path, msgs: list[tuple[str, bytes]], name: str, rate: float = 0):
    job = tmp / f"{name}.json"
    job.write_text(json.dumps([(t, p.hex()) for t, p in msgs]))
    ctx = mp.get_context("spawn")
    go, done = ctx.Event(), ctx.Event()
    result = tmp / f"{name}.sent.json"
    proc = ctx.Process(target=fleet_process, args=(url, str(job), go, done, str(result), rate))
    proc.start()
    return proc, go, done, result


def observer_process(url: str, expect: int, ready, result_path: str) -> None:
    """Count the orders that arrive; write the time of the last and their bytes."""
    got = [0, 0, 0.0]
    finished = threading.Event()
    client = make_client(url, f"bench-observer-{time.time_ns()}")

    def on_message(c, u, msg):
        got[0] += 1
        got[1] += len(msg.payload)
        if got[0] >= expect:
            got[2] = time.time()
            finished.set()

    client.on_message = on_message
    sub = threading.Event()
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"uagv/v2/{MANUFACTURER}/+/order", 0)
    client.on_subscribe = lambda *a: sub.set()
    connect(client, keepalive=120)
    sub.wait(30)
    ready.set()
    finished.wait(300)
    Path(result_path).write_text(json.dumps({"count": got[0], "bytes": got[1], "last": got[2]}))
    client.disconnect()
    client.loop_stop()


def observe_orders(url: str, tmp: Path, expect: int, name: str):
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    result = tmp / f"{name}.orders.json"
    proc = ctx.Process(target=observer_process, args=(url, expect, ready, str(result)))
    proc.start()
    ready.wait(60)
    return proc, result


# ---------------------------------------------------------------- receivers in this process


class RawReceiver:
    """Raw paho: subscribe, json.loads each message (the least any Python consumer does)."""

    def __init__(self, url: str, topic_filter: str, expect: int):
        self.expect, self.count = expect, 0
        self.last = 0.0
        self.done = threading.Event()
        self.client = make_client(url, f"bench-raw-{time.time_ns()}")
        sub = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic_filter, 0)
        self.client.on_subscribe = lambda *a: sub.set()
        self.client.on_message = self._on_message
        connect(self.client, keepalive=120)
        sub.wait(10)

    def _on_message(self, c, u, msg):
        json.loads(msg.payload)
        self.count += 1
        if self.count >= self.expect:
            self.last = time.time()
            self.done.set()

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


class TimedSink:
    """In memory, in batches as the store takes them; when each step became done."""

    def __init__(self) -> None:
        self.done_at: dict[str, float] = {}
        self.calls = 0

    def set_status(self, step_id, status, detail):
        self.set_statuses([(step_id, status, detail)])

    def set_statuses(self, updates):
        self.calls += 1
        now = time.time()
        for step_id, status, _detail in updates:
            if status == "done":
                self.done_at.setdefault(step_id, now)

    def statuses(self, step_ids):
        return {}


def wait_for(predicate, timeout: float, every: float = 0.002) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


def make_bridge(url: str, assignments, sink) -> RobotBridge:
    bridge = RobotBridge(
        url,
        assignments,
        sink,
        map_id="BENCH",
        order_prefix=PREFIX,
        window=len(assignments[0].steps),
        resend_after_s=600,
        state_timeout_s=3600,
        keepalive_s=120,
        client_id=f"bench-bridge-{time.time_ns()}",
    ).start()
    bridge.connected.wait(10)
    time.sleep(0.3)
    return bridge


def paused(client, publish) -> float:
    """Stop reading ``client``'s socket, let ``publish()`` run (the broker queues), resume:
    the time reading resumed."""
    client.loop_stop()
    publish()
    time.sleep(0.5)  # the last messages reach the broker's queue
    t0 = time.time()
    client.loop_start()
    return t0


def publish_all(url, tmp, msgs, name):
    proc, go, done, res = run_fleet(url, tmp, msgs, name)
    go.set()
    wait_for(lambda: res.exists(), 300, 0.05)
    done.set()
    proc.join(30)


CHUNKS = 4  # raw and fieldops alternate this many times per round: both see the same load


def one_round(url: str, tmp: Path, assignments, stream, k: int, store_url: str | None):
    n = len(assignments)
    out: dict[str, float] = dict.fromkeys(
        (
            "orders_fieldops_s",
            "orders_stamped_s",
            "orders_raw_s",
            "ingest_raw_s",
            "ingest_fieldops_s",
            "order_bytes",
        ),
        0.0,
    )
    sink = TimedSink()
    bridge = make_bridge(url, assignments, sink)
    pub = make_client(url, f"bench-raw-pub-{time.time_ns()}")
    connect(pub, keepalive=120)
    wait_for(pub.is_connected, 10)
    size = -(-n // CHUNKS)
    for c in range(CHUNKS):
        group = assignments[c * size : (c + 1) * size]
        if not group:
            continue
        # ---- orders out: the publish stage alone, the orders prepared ahead stamped and sent
        robots = [bridge.robots[(MANUFACTURER, a.serial)] for a in group]
        obs, obs_res = observe_orders(url, tmp, len(group), f"s{k}-{c}")
        t0 = time.time()
        for r in robots:
            header = v.Header(
                r.ids.next("bench"), v.iso_timestamp(time.time()), MANUFACTURER, r.serial
            )
            pub.publish(
                v.topic(MANUFACTURER, r.serial, "order"), r.prepared_order[2].payload(header), qos=0
            )
        obs.join(300)
        got = json.loads(obs_res.read_text())
        assert got["count"] == len(group), f"stamped orders: {got['count']}/{len(group)}"
        out["orders_stamped_s"] += got["last"] - t0
        # ---- orders out: fieldops (hellos in, orders out) ...
        obs, obs_res = observe_orders(url, tmp, len(group), f"f{k}-{c}")
        proc, go, done, sent = run_fleet(url, tmp, hellos([a.serial for a in group]), f"h{k}-{c}")
        go.set()
        obs.join(300)
        done.set()
        proc.join(30)
        got = json.loads(obs_res.read_text())
        assert got["count"] == len(group), f"orders: {got['count']}/{len(group)}"
        out["orders_fieldops_s"] += got["last"] - json.loads(sent.read_text())[0]
        out["order_bytes"] += got["bytes"]
        # ... raw paho publishing the same bytes
        orders = [
            (v.topic(MANUFACTURER, a.serial, "order"), bridge.robots[(MANUFACTURER, a.serial)])
            for a in group
        ]
        orders = [(t, r.last_prepared.stamp(*r.last_stamp)) for t, r in orders]
        obs, obs_res = observe_orders(url, tmp, len(group), f"r{k}-{c}")
        t0 = time.time()
        for topic, payload in orders:
            pub.publish(topic, payload, qos=0)
        obs.join(300)
        got = json.loads(obs_res.read_text())
        assert got["count"] == len(group), f"raw orders: {got['count']}/{len(group)}"
        out["orders_raw_s"] += got["last"] - t0
    out["order_bytes"] /= n
    pub.disconnect()
    pub.loop_stop()
    # ---- state ingest, in chunks: raw paho (on topics the bridge does not read), then the
    # bridge the same chunk (its orders are out: the stream's orderIds are those)
    size = -(-len(stream) // CHUNKS)
    for c in range(CHUNKS):
        chunk = stream[c * size : (c + 1) * size]
        if not chunk:
            continue
        raw_chunk = [(t.replace("uagv/v2/", "bench/raw/", 1), p) for t, p in chunk]
        raw = RawReceiver(url, "bench/raw/#", len(chunk))
        t0 = paused(raw.client, lambda ch=raw_chunk, c=c: publish_all(url, tmp, ch, f"raw{k}-{c}"))
        assert raw.done.wait(300), f"raw ingest: {raw.count}/{len(chunk)}"
        out["ingest_raw_s"] += raw.last - t0
        raw.close()
        base = bridge.processed
        t0 = paused(bridge.client, lambda ch=chunk, c=c: publish_all(url, tmp, ch, f"b{k}-{c}"))
        ok = wait_for(lambda ch=chunk, base=base: bridge.processed >= base + len(ch), 300)
        out["ingest_fieldops_s"] += time.time() - t0
        assert ok, f"bridge ingest: {bridge.processed - base}/{len(chunk)}"
    out["steps_done"] = len(sink.done_at)
    out["sink_batches"] = sink.calls
    out["dropped"] = bridge.dropped
    bridge.stop()
    if store_url:
        out.update(store_round(url, tmp, assignments, stream, store_url, k))
    return out


def lag_round(url: str, tmp: Path, robots: int, steps: int, rate: float) -> dict:
    """A busy fleet at ``rate`` states/s with the bridge live: FINISHED -> 'done' lag."""
    assignments = fleet(robots, steps, prefix="L")
    stream, finishing = state_stream(assignments, robots * 4 * steps)
    sink = TimedSink()
    bridge = make_bridge(url, assignments, sink)
    publish_all(url, tmp, hellos([a.serial for a in assignments]), "lag-hello")
    wait_for(lambda: all(r.order_id for r in bridge.robots.values()), 60, 0.05)
    proc, go, done, res = run_fleet(url, tmp, stream, "lag", rate=rate)
    go.set()
    wait_for(lambda: res.exists(), 600, 0.05)
    wait_for(lambda: len(sink.done_at) >= len(finishing), 60, 0.05)
    done.set()
    proc.join(30)
    bridge.stop()
    sent_at = json.loads(res.read_text())
    lags = sorted(
        sink.done_at[step] - sent_at[i] for i, step in finishing.items() if step in sink.done_at
    )
    return {
        "lag_p50_ms": 1000 * lags[len(lags) // 2],
        "lag_p95_ms": 1000 * lags[int(len(lags) * 0.95)],
        "lag_states": len(stream),
        "lag_done": len(lags),
        "lag_steps": len(finishing),
    }


def store_round(url, tmp, assignments, stream, store_url, k) -> dict:
    """The bridge into a SQLite store (the web app's sink): one transaction per batch."""
    from fieldops.adapters.store import Store
    from fieldops.core.workorder import Assignee, WorkOrder, WorkPlan

    store = Store(store_url)
    steps = [s for a in assignments for s in a.steps]
    team = [Assignee(f"bench-{i}", "bench-lift", "robot") for i in range(len(assignments))]
    plan = WorkPlan(
        steps=steps,
        workorders=[
            WorkOrder(f"WO-{a.serial}", "bench", f"bench-{i}", 0, "", tuple(s.id for s in a.steps))
            for i, a in enumerate(assignments)
        ],
        team=team,
    )
    store.load_plan(plan, design="bench", revision=str(time.time_ns()), hall="BENCH", floor={})
    bridge = make_bridge(url, assignments, store)
    publish_all(url, tmp, hellos([a.serial for a in assignments]), f"store-hello{k}")
    wait_for(lambda: bridge.processed >= len(assignments), 60, 0.05)
    time.sleep(1.0)
    base = bridge.processed
    t0 = paused(bridge.client, lambda: publish_all(url, tmp, stream, f"store{k}"))
    ok = wait_for(lambda: bridge.processed >= base + len(stream), 900, 0.01)
    elapsed = time.time() - t0
    bridge.stop()
    done_steps = sum(1 for s in store.statuses([s.id for s in steps]).values() if s == "done")
    store.close()
    return {"ingest_store_s": elapsed if ok else float("nan"), "store_done": done_steps}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--robots", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--states", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--lag-rate", type=float, default=1000.0, help="states/s of the lag fleet")
    ap.add_argument("--store", action="store_true", help="also ingest into a SQLite store")
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
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 2000000\nmax_queued_bytes 0\nmax_inflight_messages 0\nuser root\n"
    )
    broker = subprocess.Popen(
        [binary, "-c", str(tmp / "m.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    loads = [Path("/proc/loadavg").read_text().split()[0]]
    rounds = []
    try:
        wait_for_port("127.0.0.1", port)
        url = f"mqtt://127.0.0.1:{port}"
        assignments = fleet(args.robots, args.steps)
        stream, _finishing = state_stream(assignments, args.states)
        size = sum(len(p) for _t, p in stream) / len(stream)
        for k in range(args.rounds):
            store_url = f"sqlite:///{tmp / f'store-{k}.db'}" if args.store else None
            rounds.append(one_round(url, tmp, assignments, stream, k, store_url))
            loads.append(Path("/proc/loadavg").read_text().split()[0])
        lag = lag_round(url, tmp, 200, args.steps, args.lag_rate)
        loads.append(Path("/proc/loadavg").read_text().split()[0])
    finally:
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)

    def med(key):
        return statistics.median(r[key] for r in rounds)

    def each(key, n):
        return " ".join(f"{n / r[key]:,.0f}" for r in rounds)

    n, m = args.robots, len(stream)
    orders_f, orders_r = n / med("orders_fieldops_s"), n / med("orders_raw_s")
    orders_s = n / med("orders_stamped_s")
    ingest_f, ingest_r = m / med("ingest_fieldops_s"), m / med("ingest_raw_s")
    rows = [
        ("robots x steps", f"{n:,} x {args.steps}", f"{args.rounds} rounds interleaved, median"),
        (
            "orders out, raw paho (same bytes)",
            f"{orders_r:,.0f} /s",
            f"{med('order_bytes') / 1024:.1f} KB each, publish -> received; rounds: {each('orders_raw_s', n)}",
        ),
        (
            "orders out, fieldops: prepared, stamped + published",
            f"{orders_s:,.0f} /s",
            f"built ahead (Dispatcher.prepare); {100 * orders_s / orders_r:.0f} % of raw; "
            f"rounds: {each('orders_stamped_s', n)}",
        ),
        (
            "orders out, fieldops: robot reports in -> order",
            f"{orders_f:,.0f} /s",
            f"hello sent -> order received; {100 * orders_f / orders_r:.0f} % of raw; "
            f"rounds: {each('orders_fieldops_s', n)}",
        ),
        (
            "state ingest, raw paho + json.loads",
            f"{ingest_r:,.0f} /s",
            f"{m:,} states of {size / 1024:.2f} KB; rounds: {each('ingest_raw_s', m)}",
        ),
        (
            "state ingest, fieldops bridge",
            f"{ingest_f:,.0f} /s",
            f"parse + step status + sink batches; {100 * ingest_f / ingest_r:.0f} % of raw; "
            f"rounds: {each('ingest_fieldops_s', m)}",
        ),
        (
            "steps done / sink batches / dropped",
            f"{rounds[-1]['steps_done']:,} / {rounds[-1]['sink_batches']:,} / {rounds[-1]['dropped']}",
            "last round",
        ),
        (
            "status lag p50 / p95, busy fleet",
            f"{lag['lag_p50_ms']:,.0f} / {lag['lag_p95_ms']:,.0f} ms",
            f"200 robots, {args.lag_rate:,.0f} states/s, FINISHED published -> sink 'done' "
            f"({lag['lag_done']}/{lag['lag_steps']} steps)",
        ),
    ]
    if args.store:
        ingest_s = m / med("ingest_store_s")
        rows.append(
            (
                "state ingest into a SQLite store",
                f"{ingest_s:,.0f} /s",
                f"one transaction per batch; {100 * ingest_s / ingest_r:.0f} % of raw; "
                f"{rounds[-1]['store_done']:,} steps done",
            )
        )
    rows.append(("load average (1 min)", " ".join(loads), "at start, after each round, after lag"))
    w = max(len(r[0]) for r in rows)
    print(f"{'measure':<{w}}  {'value':>22}  note")
    for name, value, note in rows:
        print(f"{name:<{w}}  {value:>22}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
