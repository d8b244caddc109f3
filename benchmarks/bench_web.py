"""200 simulated tablets against one ``fieldops serve`` (waitress): each polls its next step
and confirms it, over and over, with its own API token and keep-alive connection.

Prints throughput and p50/p95/p99 latency per request kind, for SQLite and (when reachable)
PostgreSQL, with the load average of the machine before each run (other jobs share it), the
server's own CPU time per request and how busy the whole machine was while it ran.
Run: ``.venv/bin/python benchmarks/bench_web.py [--tablets 200] [--seconds 20] [--workers 2]
[--poll page]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fieldops.adapters.store import Store  # noqa: E402
from fieldops.core.workorder import Assignee, Location, Step, WorkOrder, WorkPlan  # noqa: E402

PG_DSN = os.environ.get("FIELDOPS_TEST_PG", "host=127.0.0.1 port=5432 user=postgres dbname=test")


def synthetic_plan(crews: int, steps_per_crew: int) -> WorkPlan:
    steps, wos = [], []
    for c in range(crews):
        who = f"technician-{c + 1}"
        ids = []
        for i in range(steps_per_crew):
            sid = f"s-{c:04d}-{i:04d}"
            prev = (f"s-{c:04d}-{i - 1:04d}",) if i else ()
            steps.append(
                Step(
                    sid,
                    "cable",
                    "run_cable",
                    f"Step {i} of {who}",
                    "Do the thing.",
                    Location(
                        rack=f"R{c % 50:02d}", u=1 + i % 40, x_mm=1000 + 600 * (c % 50), y_mm=3000
                    ),
                    depends_on=prev,
                    assignee=who,
                    duration_s=240,
                )
            )
            ids.append(sid)
        wos.append(WorkOrder(f"WO-{who}", who, who, 1, "", tuple(ids)))
    team = tuple(Assignee(f"technician-{c + 1}", "technician", "technician") for c in range(crews))
    return WorkPlan(steps=tuple(steps), workorders=tuple(wos), team=team)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str, tablets: int, steps_per_crew: int) -> list[str]:
    store = Store(url)
    store.load_plan(
        synthetic_plan(tablets, steps_per_crew), design="bench", revision="1", hall="BENCH"
    )
    store.password_method = "pbkdf2:sha256:1000"  # setup speed only; logins are not measured
    tokens = []
    for c in range(tablets):
        name = f"tech{c + 1}"
        store.add_user(name, "bench-password", "technician", crew=f"technician-{c + 1}")
        tokens.append(store.create_token(name, "bench"))
    store.close()
    return tokens


STEP_ON_PAGE = re.compile(rb'data-step="([^"]+)"')


class Tablet(threading.Thread):
    def __init__(
        self,
        port: int,
        token: str,
        stop_at: float,
        results: dict,
        think_s: float,
        poll: str = "api",
        jitter: float = 0.0,
    ):
        super().__init__(daemon=True)
        self.think_s = think_s
        self.poll = poll
        self.jitter = jitter
        self.measure_from = 0.0
        self.rng = random.Random(token)  # seeded: the same tablet thinks the same way each run
        self.port, self.token, self.stop_at, self.results = port, token, stop_at, results
        self.errors = 0

    def call(self, kind: str, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        t0 = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            payload = resp.read()
        except (OSError, http.client.HTTPException):
            self.errors += 1
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            return None, None
        if t0 >= self.measure_from:  # the warm-up (cold pools, caches, connects) is not counted
            self.results[kind].append(time.perf_counter() - t0)
        return resp.status, payload

    def think(self) -> None:
        """The technician reads, walks, works: think_s on average, +-jitter of it."""
        j = self.jitter
        time.sleep(self.think_s * self.rng.uniform(1 - j, 1 + j))

    def run(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        if self.jitter:  # tablets do not start in the same millisecond either
            time.sleep(self.rng.uniform(0, self.think_s))
        while time.monotonic() < self.stop_at:
            if self.poll == "page":  # the tablet's page: step, floor map, rack elevation
                status, payload = self.call("next", "GET", "/tech/")
                m = STEP_ON_PAGE.search(payload or b"")
                if status != 200 or m is None:
                    self.errors += status is not None
                    if payload and (b"All done" in payload or b"Nothing ready" in payload):
                        break
                    continue
                step = {"id": m.group(1).decode()}
            else:
                status, payload = self.call("next", "GET", "/api/next")
                if status != 200:
                    self.errors += status is not None
                    continue
                step = json.loads(payload)["step"]
            if step is None:
                break
            self.think()  # the technician reads the step and does it
            status, _ = self.call(
                "confirm",
                "POST",
                f"/api/steps/{step['id']}/confirm",
                {"client_id": uuid.uuid4().hex},
            )
            if status not in (200, 201):
                self.errors += 1
            self.think()
        self.conn.close()


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] * 1000


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its live descendants (the
    workers of ``serve --workers``); 0 where /proc is not there."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (not idle or waiting on I/O)."""
    try:
        ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def run_one(
    label: str,
    url: str,
    tablets: int,
    seconds: float,
    threads: int,
    think_s: float,
    workers: int = 1,
    poll: str = "api",
    jitter: float = 0.0,
    warmup_s: float = 0.0,
) -> list[str]:
    tokens = prepare(url, tablets, steps_per_crew=400)
    port = free_port()
    env = {**os.environ, "FIELDOPS_SECRET_KEY": "bench-" + "k" * 40}
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server process
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fieldops",
            "serve",
            "--db",
            url,
            "--port",
            str(port),
            "--threads",
            str(threads),
            *(["--workers", str(workers)] if workers > 1 else []),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        results: dict[str, list[float]] = {"next": [], "confirm": []}
        load = load_average()
        stop_at = time.monotonic() + seconds
        tabs = [Tablet(port, t, stop_at, results, think_s, poll, jitter) for t in tokens]
        for t in tabs:
            t.measure_from = time.perf_counter() + warmup_s
        t0 = time.monotonic()
        for t in tabs:
            t.start()
        time.sleep(warmup_s)
        cpu0, busy0 = tree_cpu_s(proc.pid), machine_busy_s()
        for t in tabs:
            t.join()
        wall = time.monotonic() - t0
        # the tablets stop within a think time of stop_at: CPU is read when the last one ends
        cpu, busy = tree_cpu_s(proc.pid) - cpu0, machine_busy_s() - busy0
        errors = sum(t.errors for t in tabs)
    finally:
        proc.terminate()
        proc.wait(10)
    st = Store(url, migrate=False)
    done = st.counts()["confirmations"]
    st.close()
    wall -= warmup_s
    rows = []
    label = f"{label}, {workers} worker{'s' if workers > 1 else ''}, load {load}"
    for kind in ("next", "confirm"):
        xs = results[kind]
        rows.append(
            f"| {label} | {kind if kind != 'next' or poll == 'api' else 'next (page)'} | {len(xs):,} | {len(xs) / wall:,.0f} | {pct(xs, 50):.1f} | {pct(xs, 95):.1f} | {pct(xs, 99):.1f} | {statistics.fmean(xs) * 1000 if xs else float('nan'):.1f} |"
        )
    all_xs = results["next"] + results["confirm"]
    rows.append(
        f"| {label} | all | {len(all_xs):,} | {len(all_xs) / wall:,.0f} | {pct(all_xs, 50):.1f} | {pct(all_xs, 95):.1f} | {pct(all_xs, 99):.1f} | errors {errors}, {done:,} confirmations in the store |"
    )
    if all_xs:
        rows.append(
            f"| {label} | server CPU | {cpu * 1000 / len(all_xs):.2f} ms per request | "
            f"{cpu / wall:.0%} of a core | machine busy {busy / wall / (os.cpu_count() or 1):.0%} "
            "of all cores | | | |"
        )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tablets", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--threads", type=int, default=32, help="fieldops serve --threads")
    ap.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="seconds each tablet waits after each request (0: closed loop, saturation)",
    )
    ap.add_argument("--only", choices=("sqlite", "postgresql"), default=None)
    ap.add_argument("--workers", type=int, default=1, help="fieldops serve --workers")
    ap.add_argument(
        "--jitter",
        type=float,
        default=0.5,
        help="each think time is uniform in think*(1-J)..think*(1+J) and each tablet starts at "
        "a random moment of the first think time (default 0.5, technicians do not work in "
        "step; 0: all tablets in lockstep, the worst case: 200 requests arrive together)",
    )
    ap.add_argument(
        "--warmup",
        type=float,
        default=3.0,
        metavar="S",
        help="requests started in the first S seconds are not counted (cold connection pools, "
        "token caches, TCP connects); default 3",
    )
    ap.add_argument(
        "--poll",
        choices=("api", "page"),
        default="api",
        help="what a tablet polls: GET /api/next (JSON) or GET /tech/ (the HTML page with the "
        "floor map and rack elevation)",
    )
    args = ap.parse_args()
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="fieldops-bench-"))
    if args.only in (None, "sqlite"):
        rows += run_one(
            "SQLite (WAL)",
            f"sqlite:///{tmp / 'bench.db'}",
            args.tablets,
            args.seconds,
            args.threads,
            args.think,
            args.workers,
            args.poll,
            args.jitter,
            args.warmup,
        )
    if args.only in (None, "postgresql"):
        try:
            import psycopg

            schema = "bench_" + uuid.uuid4().hex[:10]
            with psycopg.connect(PG_DSN, autocommit=True, connect_timeout=2) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
        except Exception as exc:  # noqa: BLE001
            print(f"PostgreSQL skipped: {exc}", file=sys.stderr)
        else:
            p = dict(kv.split("=", 1) for kv in PG_DSN.split())
            url = f"postgresql+psycopg://{p.get('user', 'postgres')}@{p.get('host', '127.0.0.1')}:{p.get('port', '5432')}/{p.get('dbname', 'test')}?options=-csearch_path%3D{schema}"
            try:
                rows += run_one(
                    "PostgreSQL",
                    url,
                    args.tablets,
                    args.seconds,
                    args.threads,
                    args.think,
                    args.workers,
                    args.poll,
                    args.jitter,
                    args.warmup,
                )
            finally:
                with psycopg.connect(PG_DSN, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    print(
        f"\n{args.tablets} tablets (think time {args.think:g} s between requests), {args.seconds:g} s each run (the first {args.warmup:g} s not counted), think jitter {args.jitter:g}, fieldops serve --threads {args.threads} --workers {args.workers} (waitress), {os.cpu_count()} cores shared with the load generator; load = 1/5/15-min load average before the run\n"
    )
    print("| database | request | count | req/s | p50 ms | p95 ms | p99 ms | mean ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
