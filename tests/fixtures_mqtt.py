"""MQTT fixtures (a pytest plugin listed in tests/conftest.py): real brokers on free ports.

- ``mosquitto``: a real Mosquitto with a config in tmp (anonymous, large queues);
- ``mosquitto_secure``: the same with the generated password + ACL files for the sample fleet;
- ``embedded_broker``: fieldops' own embedded broker (amqtt).

Never port 1883: a system Mosquitto may listen there. A missing binary is installed with
apt-get (scripts/bootstrap does it for CI); if that fails the test fails with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fieldops.adapters.mqtt.broker import EmbeddedBroker, free_port, wait_for_port

MOSQUITTO = "/usr/sbin/mosquitto"
SAMPLE_FLEET = (("FieldBotics", "LIFT-001"), ("FieldBotics", "CABLE-001"))


def mosquitto_binary() -> str:
    found = MOSQUITTO if Path(MOSQUITTO).exists() else shutil.which("mosquitto")
    if found:
        return found
    try:
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True, timeout=300)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "mosquitto"],
            check=True,
            capture_output=True,
            timeout=600,
            env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        pytest.fail(
            f"mosquitto is not installed and 'apt-get install mosquitto' failed: {exc} {detail.decode(errors='replace')[-500:]} (run scripts/bootstrap --test as root)"
        )
    found = MOSQUITTO if Path(MOSQUITTO).exists() else shutil.which("mosquitto")
    if not found:
        pytest.fail(
            "apt-get installed mosquitto but no mosquitto binary is on PATH or in /usr/sbin"
        )
    return found


class Mosquitto:
    """A Mosquitto process on 127.0.0.1:port; ``restart()`` keeps the port and config."""

    def __init__(self, binary: str, workdir: Path, *, secure_dir: Path | None = None):
        self.binary = binary
        self.workdir = workdir
        self.host = "127.0.0.1"
        self.port = free_port()
        self.secure_dir = secure_dir
        self.credentials: dict[str, str] = {}
        self.conf = workdir / "mosquitto.conf"
        lines = [
            f"listener {self.port} {self.host}",
            "persistence false",
            "max_queued_messages 1000000",
            "max_queued_bytes 0",
            "max_inflight_messages 0",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        if os.geteuid() == 0:  # else Mosquitto drops to its own user, which cannot read tmp
            lines.append("user root")
        if secure_dir is not None:  # the generated settings, as deployed
            lines += (secure_dir / "fieldops.conf").read_text().splitlines()
            self.credentials = json.loads((secure_dir / "credentials.json").read_text())["users"]
        else:
            lines += ["allow_anonymous true"]
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen | None = None

    def url(self, user: str | None = None) -> str:
        if user is None:
            return f"mqtt://{self.host}:{self.port}"
        return f"mqtt://{user}:{self.credentials[user]}@{self.host}:{self.port}"

    def start(self) -> Mosquitto:
        self.log = open(self.workdir / "mosquitto.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf)], stdout=self.log, stderr=self.log
        )
        try:
            wait_for_port(self.host, self.port, 10)
        except TimeoutError:
            self.stop()
            pytest.fail(
                f"mosquitto did not start: {(self.workdir / 'mosquitto.log').read_text()[-800:]}"
            )
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()

    def restart(self, down_s: float = 0.5) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()


@pytest.fixture(scope="session")
def mosquitto_bin() -> str:
    return mosquitto_binary()


@pytest.fixture
def mosquitto(mosquitto_bin, tmp_path):
    broker = Mosquitto(mosquitto_bin, tmp_path).start()
    yield broker
    broker.stop()


@pytest.fixture
def mosquitto_secure(mosquitto_bin, tmp_path):
    from fieldops.adapters.mqtt.acl import write_fleet_files

    secure = tmp_path / "fleet"
    write_fleet_files(SAMPLE_FLEET, secure)
    broker = Mosquitto(mosquitto_bin, tmp_path, secure_dir=secure).start()
    yield broker
    broker.stop()


@pytest.fixture
def embedded_broker():
    broker = EmbeddedBroker(port=free_port()).start()
    yield broker
    broker.stop()


# ---------------------------------------------------------------- helpers for robot tests


class Sniffer:
    """Records every message (topic, qos, retain, payload) under a filter, paho style."""

    def __init__(self, url: str, topic_filter: str = "uagv/v2/#", client_id: str = "sniffer"):
        import threading

        from fieldops.adapters.mqtt import connect, make_client

        self.messages: list[tuple[str, int, bool, bytes]] = []
        self._cond = threading.Condition()
        self.client = make_client(url, client_id)
        self.subscribed = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic_filter, qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self.subscribed.set()
        self.client.on_message = self._on_message
        connect(self.client)
        if not self.subscribed.wait(10):
            raise TimeoutError(f"sniffer could not subscribe to {topic_filter}")

    def _on_message(self, client, userdata, msg):
        with self._cond:
            self.messages.append((msg.topic, msg.qos, bool(msg.retain), bytes(msg.payload)))
            self._cond.notify_all()

    def on(self, topic: str) -> list[tuple[str, int, bool, bytes]]:
        with self._cond:
            return [m for m in self.messages if m[0] == topic]

    def wait_for(self, predicate, timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def sample_profiles() -> dict:
    from fieldops.adapters.designfile import load_robot_profile
    from fieldops.bootstrap import robot_profiles_dir

    return {
        p.name: p
        for p in (load_robot_profile(f) for f in sorted(robot_profiles_dir().glob("*.yaml")))
    }


def hand_robot_steps() -> dict[str, tuple]:
    """Robot steps in the lab hall's frame, built by hand: 6 device mounts over 3 racks for the
    lift robot, 6 cable runs over 2 racks for the cabling robot (profile name -> steps)."""
    from fieldops.core.workorder import CONFIRM_ROBOT, Location, Part, Step

    def loc(rack, x, u):
        return Location(
            rack=rack,
            location_id=f"1A-{rack}",
            face="front",
            u=u,
            x_mm=x,
            y_mm=1500,
            theta_deg=90.0,
        )

    lift = tuple(
        Step(
            f"stack/gpu-{i:02d}",
            "stack",
            "mount_device",
            f"Mount gpu-{i:02d}",
            "Mount",
            loc(f"R0{1 + i // 2}", 1800 + 600 * (i // 2), 10 + 8 * (i % 2)),
            confirm=CONFIRM_ROBOT,
            parts=(Part("device", f"gpu-{i:02d}"),),
            assignee="lift-robot-1",
        )
        for i in range(6)
    )
    cable = tuple(
        Step(
            f"cable/C-{i:07d}",
            "cable",
            "run_cable",
            f"Run C-{i:07d}",
            "Run",
            loc(f"R0{1 + i // 3}", 1800 + 600 * (i // 3), 40),
            confirm=CONFIRM_ROBOT,
            parts=(Part("cable", f"C-{i:07d}"),),
            expect_codes=(f"C-{i:07d}",),
            assignee="cabling-robot-1",
        )
        for i in range(6)
    )
    return {"lift-robot": lift, "cabling-robot": cable}


def planner_available() -> bool:
    import importlib.util

    return (
        importlib.util.find_spec("fieldops.core.workplan") is not None
        and importlib.util.find_spec("fieldops.adapters.workfiles") is not None
    )


def simulate_process(
    url: str, profile: str, time_scale: float = 1.0, *extra: str, env: dict | None = None
) -> subprocess.Popen:
    """``fieldops robots simulate`` as its own process (stdout and stderr piped)."""
    from fieldops.bootstrap import robot_profiles_dir

    cmd = [
        sys.executable,
        "-m",
        "fieldops",
        "robots",
        "simulate",
        "--profile",
        str(robot_profiles_dir() / f"{profile}.yaml"),
        "--broker",
        url,
        "--time-scale",
        str(time_scale),
        "--state-interval",
        "0.2",
        *extra,
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
