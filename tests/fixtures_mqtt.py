"""MQTT fixtures (a pytest plugin listed in tests/conftest.py): real brokers on free ports.

- ``mosquitto``: a real Mosquitto with a config in tmp (anonymous, large queues);
- ``mosquitto_secure``: the same with the generated password + ACL files for the sample fleet;
- ``embedded_broker``: fieldops' own embedded broker (amqtt).

Never port 1883: a system Mosquitto may listen there. A missing binary is installed with
apt-get (scripts/bootstrap does it for CI); if that fails the test fails with the reason.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
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
            "message_size_limit 0",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        if secure_dir is not None:
            lines += [
                "allow_anonymous false",
                f"password_file {secure_dir / 'passwd'}",
                f"acl_file {secure_dir / 'acl'}",
            ]
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
