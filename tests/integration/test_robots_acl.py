"""The generated Mosquitto password + ACL files, enforced by a real Mosquitto.

[LIFT-001] -x- reads CABLE-001/order      [LIFT-001] -x- writes CABLE-001/state
[LIFT-001] --> reads LIFT-001/order       [LIFT-001] --> writes LIFT-001/state
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from fieldops.adapters.mqtt import connect, make_client
from fieldops.adapters.mqtt.acl import build_acl, check_password, hash_password, write_fleet_files
from fieldops.adapters.mqtt.broker import EmbeddedBroker, free_port, wait_for_port
from fieldops.cli import main
from fieldops.core.problems import DesignError
from tests.fixtures_mqtt import Sniffer, simulate_process

LIFT = "uagv/v2/FieldBotics/LIFT-001"
CABLE = "uagv/v2/FieldBotics/CABLE-001"


class Client:
    def __init__(self, url: str, client_id: str):
        self.got: list[tuple[str, bytes]] = []
        self.granted: list = []
        self.connected = threading.Event()
        self.reason = None
        self.c = make_client(url, client_id)
        self.c.on_connect = self._on_connect
        self.c.on_message = lambda c, u, m: self.got.append((m.topic, bytes(m.payload)))
        self.subscribed = threading.Event()
        self.c.on_subscribe = lambda c, u, mid, rcs, p: (
            self.granted.extend(rcs),
            self.subscribed.set(),
        )
        connect(self.c)

    def _on_connect(self, c, u, flags, rc, p):
        self.reason = rc
        if not rc.is_failure:
            self.connected.set()

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


@pytest.mark.mosquitto
def test_a_robot_reads_only_its_own_orders_and_writes_only_its_own_state(mosquitto_secure):
    b = mosquitto_secure
    lift = Client(b.url("LIFT-001"), "LIFT-001")
    bridge = Sniffer(b.url("fieldops"), client_id="fieldops")
    try:
        assert lift.connected.wait(10)
        lift.c.subscribe([(f"{LIFT}/order", 0), (f"{CABLE}/order", 0), ("uagv/v2/#", 0)])
        assert lift.subscribed.wait(10)
        # the ACL check happens per message: Mosquitto grants the filters but delivers nothing foreign
        for topic, payload in (
            (f"{LIFT}/order", b'{"mine":1}'),
            (f"{CABLE}/order", b'{"theirs":1}'),
            (f"{CABLE}/instantActions", b'{"theirs":2}'),
        ):
            bridge.client.publish(topic, payload, qos=1).wait_for_publish(5)
        lift.c.publish(f"{LIFT}/state", b'{"own":1}', qos=1).wait_for_publish(5)
        lift.c.publish(f"{CABLE}/state", b'{"spoof":1}', qos=1).wait_for_publish(5)
        lift.c.publish(f"{CABLE}/order", b'{"forged":1}', qos=1).wait_for_publish(5)
        assert bridge.wait_for(lambda s: s.on(f"{LIFT}/state"), 5)
        # a marker published last: when it arrives, everything before it has been routed
        bridge.client.publish(f"{LIFT}/instantActions", b"marker", qos=1).wait_for_publish(5)
        deadline = threading.Event()
        for _ in range(50):
            if any(p == b"marker" for _t, p in lift.got):
                break
            deadline.wait(0.1)
        robot_topics = sorted({t for t, _p in lift.got})
        assert robot_topics == [f"{LIFT}/instantActions", f"{LIFT}/order"]
        assert (f"{LIFT}/order", b'{"mine":1}') in lift.got
        assert bridge.on(f"{LIFT}/state")[0][3] == b'{"own":1}'
        assert bridge.on(f"{CABLE}/state") == []
        assert [m for m in bridge.on(f"{CABLE}/order") if m[3] == b'{"forged":1}'] == []
    finally:
        lift.close()
        bridge.close()


@pytest.mark.mosquitto
@pytest.mark.parametrize("user,password", [("LIFT-001", "wrong"), ("nobody", "x"), (None, None)])
def test_bad_or_missing_credentials_are_refused(mosquitto_secure, user, password):
    url = f"mqtt://{mosquitto_secure.host}:{mosquitto_secure.port}"
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="intruder")
    if user:
        c.username_pw_set(user, password)
    codes = []
    done = threading.Event()
    c.on_connect = lambda cl, u, f, rc, p: (codes.append(rc), done.set())
    c.connect(mosquitto_secure.host, mosquitto_secure.port)
    c.loop_start()
    try:
        assert done.wait(10), url
        assert codes[0].is_failure and str(codes[0]) == "Not authorized"
    finally:
        c.loop_stop()


def test_password_hashes_match_mosquitto_passwd(tmp_path):
    pw = tmp_path / "pw"
    subprocess.run(
        ["mosquitto_passwd", "-c", "-b", str(pw), "u1", "s3cret"], check=True, capture_output=True
    )
    theirs = pw.read_text().strip().split(":", 1)[1]
    assert check_password("s3cret", theirs) and not check_password("s3cret!", theirs)
    ours = hash_password("s3cret", salt=b"0123456789ab")
    assert ours == "$7$101$MDEyMzQ1Njc4OWFi$" + ours.rsplit("$", 1)[1]
    assert check_password("s3cret", ours)


def test_acl_text_is_sorted_and_per_robot():
    text = build_acl([("FieldBotics", "LIFT-001"), ("FieldBotics", "CABLE-001")])
    assert text == build_acl([("FieldBotics", "CABLE-001"), ("FieldBotics", "LIFT-001")])
    sections = text.split("\n\n")
    users = [sec.split("\n")[0] for sec in sections[1:]]
    assert users == [
        "user fieldops",
        *(f"user fieldops-web-{n}" for n in range(1, 5)),
        "user fieldops-monitor",
        "user CABLE-001",
        "user LIFT-001",
    ]
    assert sections[2] == "user fieldops-web-1\ntopic readwrite fieldops/events/#"
    assert sections[7] == "\n".join(
        [
            "user CABLE-001",
            f"topic read {CABLE}/order",
            f"topic read {CABLE}/instantActions",
            f"topic write {CABLE}/state",
            f"topic write {CABLE}/connection",
            f"topic write {CABLE}/factsheet",
            f"topic write {CABLE}/visualization",
        ]
    )
    with pytest.raises(DesignError, match="used twice"):
        build_acl([("A", "X-1"), ("B", "X-1")])
    with pytest.raises(DesignError, match="clashes with a fieldops user"):
        build_acl([("A", "fieldops-web-2")])
    with pytest.raises(ValueError):
        build_acl([("A", "X/1")])


def test_acl_command_writes_secret_files_and_keeps_passwords(tmp_path, capsys):
    out = tmp_path / "fleet"
    assert main(["robots", "acl", "-o", str(out), "--robots", "lift-robot=2,cabling-robot"]) == 0
    creds = json.loads((out / "credentials.json").read_text())["users"]
    assert sorted(creds) == [
        "CABLE-001",
        "LIFT-001-1",
        "LIFT-001-2",
        "fieldops",
        "fieldops-monitor",
        *(f"fieldops-web-{n}" for n in range(1, 5)),
    ]
    # one password for the web workers (one config starts them), one each for the others
    assert len({creds[f"fieldops-web-{n}"] for n in range(1, 5)}) == 1
    assert len({creds[u] for u in creds if not u.startswith("fieldops-web")}) == 5
    for name in ("passwd", "credentials.json"):
        assert stat.S_IMODE(os.stat(out / name).st_mode) == 0o600
    conf = (out / "fieldops.conf").read_text().splitlines()
    assert "use_username_as_clientid true" in conf and "allow_anonymous false" in conf
    assert f"password_file {(out / 'passwd').resolve()}" in conf
    hashes = dict(line.split(":", 1) for line in (out / "passwd").read_text().splitlines())
    assert all(check_password(creds[u], hashes[u]) for u in creds)
    assert main(["robots", "acl", "-o", str(out), "--robots", "lift-robot=3,cabling-robot"]) == 0
    again = json.loads((out / "credentials.json").read_text())["users"]
    assert {u: again[u] for u in creds} == creds and "LIFT-001-3" in again
    assert main(["robots", "acl", "-o", str(out), "--robots", "nosuch=1"]) == 2
    assert "no robot profile 'nosuch'" in capsys.readouterr().err


def test_write_fleet_files_refuses_a_foreign_credentials_file(tmp_path):
    (tmp_path / "credentials.json").write_text("[not json")
    with pytest.raises(DesignError, match="not a fieldops credentials file"):
        write_fleet_files([("M", "S")], tmp_path)


def test_embedded_broker_sends_retained_messages_only_for_own_subscriptions():
    with EmbeddedBroker(port=free_port()) as b:
        watcher = Sniffer(b.url, topic_filter="uagv/v2/+/+/factsheet", client_id="watcher")
        pub = Client(b.url, "publisher")
        try:
            assert pub.connected.wait(10)
            pub.c.publish(f"{LIFT}/factsheet", b"f", qos=0, retain=True).wait_for_publish(5)
            pub.c.publish(f"{LIFT}/connection", b"c", qos=1, retain=True).wait_for_publish(5)
            assert watcher.wait_for(lambda s: s.messages, 5)
            late = Sniffer(b.url, topic_filter="uagv/v2/+/+/connection", client_id="late")
            assert late.wait_for(lambda s: s.messages, 5)
            watcher.wait_for(lambda s: False, 0.5)
            assert late.messages == [(f"{LIFT}/connection", 1, True, b"c")]
            late.close()
        finally:
            pub.close()
            watcher.close()


@pytest.mark.mosquitto
def test_the_shipped_production_config_runs_with_generated_fleet_files(mosquitto_bin, tmp_path):
    from tests.fixtures_mqtt import SAMPLE_FLEET

    repo = Path(__file__).resolve().parents[2]
    fleet = tmp_path / "fleet"
    write_fleet_files(SAMPLE_FLEET, fleet)
    port = free_port()
    conf = (repo / "deploy" / "mosquitto" / "mosquitto.conf").read_text()
    conf = conf.replace("/etc/mosquitto/fieldops", str(fleet)).replace(
        "listener 1883", f"listener {port} 127.0.0.1"
    )
    conf = conf.replace(
        "persistence_location /var/lib/mosquitto/", f"persistence_location {tmp_path}/"
    ).replace("log_dest syslog", "log_dest stderr")
    if os.geteuid() == 0:
        conf += "user root\n"
    (tmp_path / "prod.conf").write_text(conf)
    proc = subprocess.Popen(
        [mosquitto_bin, "-c", str(tmp_path / "prod.conf")], stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for_port("127.0.0.1", port, 10)
        creds = json.loads((fleet / "credentials.json").read_text())["users"]
        ok = Client(f"mqtt://fieldops:{creds['fieldops']}@127.0.0.1:{port}", "fieldops")
        bad = Client(f"mqtt://127.0.0.1:{port}", "anonymous")
        assert ok.connected.wait(10)
        for _ in range(100):
            if bad.reason is not None:
                break
            threading.Event().wait(0.05)
        assert bad.reason is not None and bad.reason.is_failure
        ok.close()
        bad.close()
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.mosquitto
@pytest.mark.parametrize("how", ["file", "env", "wrong file", "none"])
def test_simulated_robot_logs_in_with_a_password_from_a_file_or_the_environment(
    mosquitto_secure, tmp_path, how
):
    """`fieldops robots simulate` takes the robot's password from --password-file or
    $FIELDOPS_MQTT_PASSWORD (the command line has no password option); with the right one its
    state reaches the bridge through the ACL, with a wrong one or none nothing arrives."""
    b = mosquitto_secure
    secret = b.credentials["LIFT-001"]
    extra: list[str] = []
    env = {k: v for k, v in os.environ.items() if k != "FIELDOPS_MQTT_PASSWORD"}
    if how in ("file", "wrong file"):
        pw_file = tmp_path / "lift.password"
        pw_file.write_text((secret if how == "file" else "not-" + secret) + "\n")
        extra = ["--password-file", str(pw_file)]
    elif how == "env":
        env["FIELDOPS_MQTT_PASSWORD"] = secret
    bridge = Sniffer(b.url("fieldops"), client_id="fieldops")
    proc = simulate_process(f"mqtt://{b.host}:{b.port}", "lift-robot", 1.0, *extra, env=env)
    try:
        arrived = bridge.wait_for(
            lambda s: s.on(f"{LIFT}/state"), 20 if how in ("file", "env") else 4
        )
        assert bool(arrived) == (how in ("file", "env"))
    finally:
        proc.terminate()
        proc.wait(10)
        bridge.close()


def _count_disconnects(client) -> list:
    """Wrap a paho client's on_disconnect: the list grows by one per disconnect."""
    seen: list = []
    inner = client.on_disconnect

    def on_disconnect(*a):
        seen.append(a[3])
        if inner is not None:
            inner(*a)

    client.on_disconnect = on_disconnect
    return seen


def _takeover(broker, stolen: str) -> tuple[list, list]:
    """LIFT-001 logs in with its own password but the client ID ``stolen``; returns the
    disconnects the bridge ('fieldops') and the cabling robot ('robot-CABLE-001') saw."""
    from fieldops.adapters.mqtt.bridge import MemoryStepSink, RobotAssignment, RobotBridge
    from fieldops.adapters.mqtt.simulator import SimulatedRobot
    from tests.fixtures_mqtt import hand_robot_steps, sample_profiles

    cabling = sample_profiles()["cabling-robot"]
    bridge = RobotBridge(
        broker.url("fieldops"),
        [RobotAssignment(cabling, hand_robot_steps()["cabling-robot"])],
        MemoryStepSink(),
        map_id="LAB",
        client_id="fieldops",
    )
    robot = SimulatedRobot(cabling, broker.url("CABLE-001"), state_interval_s=0.2)
    bridge_drops = _count_disconnects(bridge.client)
    robot_drops = _count_disconnects(robot.client)
    intruder = None
    try:
        bridge.start()
        robot.start()
        assert bridge.connected.wait(10) and robot.connected.wait(10)
        assert poll(lambda: robot.snapshot()["order_id"], 10), "the robot got no order"
        intruder = Client(broker.url("LIFT-001"), stolen)
        assert intruder.connected.wait(10), intruder.reason  # its own password is good
        threading.Event().wait(1.5)
        return list(bridge_drops), list(robot_drops)  # before the polite goodbyes below
    finally:
        if intruder is not None:
            intruder.close()
        robot.stop()
        bridge.stop()


def poll(predicate, timeout: float) -> bool:
    deadline = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return True
        deadline.wait(0.05)
    return bool(predicate())


@pytest.mark.slow
@pytest.mark.mosquitto
@pytest.mark.parametrize("stolen", ["fieldops", "robot-CABLE-001"])
def test_a_robot_cannot_take_over_another_clients_session(mosquitto_secure, stolen):
    """[LIFT-001, own password, client ID 'fieldops' / 'robot-CABLE-001'] -x- the bridge and
    CABLE-001 stay connected: the generated config binds each client ID to its user."""
    bridge_drops, robot_drops = _takeover(mosquitto_secure, stolen)
    assert bridge_drops == [] and robot_drops == []


@pytest.mark.slow
@pytest.mark.mosquitto
def test_without_the_generated_setting_the_takeover_succeeds(mosquitto_bin, tmp_path):
    """The control for the test above: the same broker without use_username_as_clientid lets
    LIFT-001 disconnect the bridge, so that test would notice a config that lost the line."""
    from tests.fixtures_mqtt import SAMPLE_FLEET, Mosquitto

    secure = tmp_path / "fleet"
    write_fleet_files(SAMPLE_FLEET, secure)
    broker = Mosquitto(mosquitto_bin, tmp_path, secure_dir=secure)
    text = broker.conf.read_text()
    assert "use_username_as_clientid true" in text
    broker.conf.write_text(text.replace("use_username_as_clientid true\n", ""))
    broker.start()
    try:
        bridge_drops, _robot_drops = _takeover(broker, "fieldops")
    finally:
        broker.stop()
    assert bridge_drops, "without the setting the intruder should have taken the session"
