"""Interoperability with an independent VDA 5050 implementation: the npm ``vda-5050-lib``.

1. fieldops' golden 2.0.0 payloads pass the library's VDA 5050 2.0 JSON-schema validators
   (and the 2.1.0 order, whose object-valued parameters 2.0 forbids, does not);
2. the library's virtual AGV (with fieldops' action types registered, ``agv.js``) takes the
   orders fieldops sends, drives them and reports every action FINISHED: six hand-made
   mounts, and every robot order of both sample halls through ``fieldops serve --robots``.

vda-5050-lib 1.4.0 (the newest) speaks 1.1.0 and 2.0.0 only: its AGV refuses a 2.1.0 client
setting, so the 2.1.0 side is covered by fieldops' own simulator (tests/integration).

Needs Node.js and ``npm ci`` in this folder (``scripts/bootstrap --test`` does both).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from fieldops.adapters.mqtt.bridge import MemoryStepSink, RobotAssignment, RobotBridge
from tests.fixtures_mqtt import hand_robot_steps, sample_profiles

HERE = Path(__file__).resolve().parent
GOLDEN = HERE.parent / "golden" / "vda5050"


@pytest.fixture(scope="session")
def vda_lib() -> Path:
    """This folder, with node_modules/vda-5050-lib at the version package-lock.json pins
    (``scripts/bootstrap --test`` runs ``npm ci`` here; nothing is downloaded by the tests)."""
    if not shutil.which("node"):
        pytest.fail("the interop tests need Node.js: run scripts/bootstrap --test")
    installed = HERE / "node_modules" / "vda-5050-lib" / "package.json"
    if not installed.exists():
        pytest.fail("vda-5050-lib is not installed in tests/interop: run scripts/bootstrap --test")
    locked = json.loads((HERE / "package-lock.json").read_text())
    version = json.loads(installed.read_text())["version"]
    want = locked["packages"]["node_modules/vda-5050-lib"]["version"]
    if version != want:
        pytest.fail(
            f"tests/interop has vda-5050-lib {version}, the lock says {want}: "
            "run scripts/bootstrap --test"
        )
    return HERE


@pytest.mark.slow
def test_fieldops_payloads_pass_the_librarys_json_schemas(vda_lib):
    files = sorted(str(p) for p in GOLDEN.glob("*.json"))
    out = subprocess.run(
        ["node", "agv.js", "--validate", *files],
        cwd=vda_lib,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert set(result) == {Path(f).stem for f in files}
    # 2.1.0 renamed the instant-action list to "actions"; the 2.0 schema asks for "instantActions"
    assert result.pop("instant_actions") == [
        {"keywordLocation": "#/allOf/1/required", "instanceLocation": "#/instantActions"}
    ]
    # 2.1.0 allows an object as a parameter's value (a cable end); 2.0 does not: fieldops
    # flattens it for 2.0 robots (order_2.0.0 passes)
    (refused,) = result.pop("order")
    assert refused["keywordLocation"].endswith("actionParameters/items/properties/value/type")
    assert result == dict.fromkeys(result, [])


@pytest.mark.slow
def test_the_librarys_virtual_agv_executes_fieldops_orders(vda_lib, mosquitto):
    profile = sample_profiles()["lift-robot"]
    steps = hand_robot_steps()["lift-robot"]  # 6 mounts at 3 racks: an order plus updates
    agv = subprocess.Popen(
        ["node", "agv.js", mosquitto.url(), profile.manufacturer, profile.serial_number, "LAB"],
        cwd=vda_lib,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sink = MemoryStepSink()
    bridge = RobotBridge(
        mosquitto.url(),
        [RobotAssignment(profile, steps)],
        sink,
        map_id="LAB",
        version="2.0.0",
        window=1,
    ).start()
    try:
        finished = bridge.wait(90)
    finally:
        bridge.stop()
        agv.terminate()
        try:
            _out, err = agv.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            agv.kill()
            _out, err = agv.communicate()
    assert finished, f"{bridge.counts()} {sink.detail} {err[-800:]}"
    assert {s.id: sink.status[s.id] for s in steps} == {s.id: "done" for s in steps}, sink.detail
    assert bridge.dropped == 0
    lift = bridge._robot_by_serial(profile.serial_number)
    assert lift.update_id >= 2, "the virtual AGV accepted order updates (horizon releases)"
    assert lift.orders_sent == 1


# ---------------------------------------------------------------- both samples, through serve

REPO = HERE.parents[1]


def _agv(vda_lib: Path, url: str, manufacturer: str, serial: str, map_id: str):
    return subprocess.Popen(
        ["node", "agv.js", url, manufacturer, serial, map_id],
        cwd=vda_lib,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class Crew:
    """The plan's technicians: each confirms its next step as soon as it is ready (scanning
    the codes it expects), and checks the robots' work booked to it. Next steps are read from
    the store; confirmations go through the web API (the lead's token), so ``fieldops serve``
    tells its robot bridge at once, as it does for a tablet."""

    def __init__(self, store, technicians: list[str], server, token: str):
        import threading

        self.store, self.technicians = store, technicians
        self.server, self.token = server, token
        self.stop = threading.Event()
        self.confirmed = 0
        self.error: str | None = None
        self.thread = threading.Thread(target=self.run, daemon=True)

    def confirm(self, step: dict) -> None:
        import urllib.error
        import urllib.request

        codes = list(step.get("expect_codes") or [])
        if step.get("cable"):
            codes = [f"{c}/{end}" for c in codes for end in ("A", "B")]  # a label at each end
        body = {"client_id": f"crew-{self.confirmed}", "codes": codes[:40]}
        req = urllib.request.Request(
            f"{self.server.url}/api/steps/{step['id']}/confirm",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=30):
                pass  # 201: recorded
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{step['id']}: {exc.code} {exc.read()[:300]!r}") from None
        self.confirmed += 1

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                worked = False
                for who in self.technicians:
                    step = self.store.next_step(who)
                    if step is not None:
                        self.confirm(step)
                        worked = True
                if not worked:
                    self.stop.wait(0.1)
        except Exception as exc:  # the test reads it
            self.error = repr(exc)


@pytest.mark.slow
@pytest.mark.mosquitto
@pytest.mark.timeout(900)
@pytest.mark.parametrize(
    "hall",
    [
        "lab-hall",
        pytest.param(
            "gpu-hall",
            marks=pytest.mark.skipif(
                not os.environ.get("FIELDOPS_LONG_TESTS"),
                reason="the GPU hall's 430 robot steps take about 6 minutes through serve: "
                "FIELDOPS_LONG_TESTS=1 runs it (the lab hall always runs)",
            ),
        ),
    ],
)
def test_every_robot_order_of_the_samples_runs_on_the_librarys_2_0_agv_through_serve(
    vda_lib, mosquitto, tmp_path, hall
):
    """``fieldops serve --plan --design --robots --vda-version 2.0.0``: each robot of the plan
    is a vda-5050-lib virtual AGV (2.0.0). Technicians confirm their work as it becomes ready;
    every robot order and update is accepted (no error from the AGV), every action it was
    given is FINISHED, and every robot step ends done in the store, with no problem."""
    from fieldops import services
    from fieldops.adapters.mqtt.acl import fleet_serials
    from fieldops.adapters.store import Store
    from tests.fixtures_mqtt import Sniffer
    from tests.fixtures_web import LiveServer, seed_users

    design = REPO / "floorplans" / hall
    plan_dir = tmp_path / "plan"
    services.plan_design(design, plan_dir)
    doc = json.loads((plan_dir / "workorders.json").read_text())
    team, map_id = doc["team"], doc["design"]["hall"]
    profiles = sample_profiles()
    robots: list[tuple[str, str, str]] = []  # (name, manufacturer, serial)
    by_profile: dict[str, list[str]] = {}
    for member in sorted(team, key=lambda t: t["name"]):
        if member["kind"] == "robot":
            by_profile.setdefault(member["profile"], []).append(member["name"])
    for pname, names in sorted(by_profile.items()):
        p = profiles[pname]
        serials = fleet_serials(p.serial_number, len(names))
        robots += [(n, p.manufacturer, s) for n, s in zip(names, serials, strict=True)]
    technicians = [t["name"] for t in team if t["kind"] == "technician"]

    url = f"sqlite:///{tmp_path / 'interop.db'}"
    seeded = Store(url)
    seed_users(seeded)
    token = seeded.create_token("lee", "interop")
    seeded.close()
    sniffer = Sniffer(mosquitto.url(), "uagv/v2/#", client_id="interop-sniffer")
    server = LiveServer(
        url,
        tmp_path,
        broker=mosquitto.url(),
        extra_args=[
            "--plan",
            str(plan_dir),
            "--design",
            str(design),
            "--robots",
            "--vda-version",
            "2.0.0",
        ],
    ).start()
    agvs = [_agv(vda_lib, mosquitto.url(), m, s, map_id) for _n, m, s in robots]
    store = Store(url)
    crew = Crew(store, technicians, server, token)
    robot_ids = {s["id"] for name, _m, _s in robots for s in store.steps(assignee=name, limit=5000)}
    try:
        crew.thread.start()
        deadline = time.monotonic() + (150 if hall == "lab-hall" else 600)
        while time.monotonic() < deadline:
            left = [s for s in store.statuses(robot_ids).values() if s != "done"]
            if not left or crew.error:
                break
            time.sleep(1.0)
        statuses = store.statuses(robot_ids)
        problems = store.problems(status=None)
    finally:
        crew.stop.set()
        for agv in agvs:
            agv.terminate()
        errs = []
        for agv in agvs:
            try:
                _out, err = agv.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                agv.kill()
                _out, err = agv.communicate()
            errs.append(err)
        server.stop()
        sniffer.close()
        store.close()
    assert crew.error is None, crew.error
    not_done = {k: v for k, v in statuses.items() if v != "done"}
    assert not not_done, (len(not_done), list(not_done.items())[:5], problems[:3], errs)
    # the robots had real work: every rack-and-stack and cabling step the plan gave them
    assert len(robot_ids) >= (60 if hall == "lab-hall" else 300)
    assert problems == [], problems[:3]
    orders: dict[str, set[str]] = {}  # orderId -> the actions released to the robot
    finished: dict[str, set[str]] = {}  # orderId -> actions the AGV reported FINISHED
    for topic, _q, _r, payload in sniffer.messages:
        msg = json.loads(payload)
        if topic.endswith("/order"):
            assert msg["version"] == "2.0.0"
            released = {a["actionId"] for n in msg["nodes"] if n["released"] for a in n["actions"]}
            orders.setdefault(msg["orderId"], set()).update(released)
        elif topic.endswith("/state"):
            assert not [e for e in msg["errors"] if "order" in e["errorType"].lower()], msg[
                "errors"
            ]
            finished.setdefault(msg["orderId"], set()).update(
                a["actionId"] for a in msg["actionStates"] if a["actionStatus"] == "FINISHED"
            )
    assert orders and set(orders) <= set(finished), "an order the AGV never reported"
    for oid, actions in orders.items():
        assert actions <= finished[oid], (oid, sorted(actions - finished[oid])[:5])
    every = [a for acts in orders.values() for a in acts]
    assert len(every) == len(set(every)), "an action was given to a robot twice"
