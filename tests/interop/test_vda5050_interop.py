"""Interoperability with an independent VDA 5050 implementation: the npm ``vda-5050-lib``.

1. fieldops' golden payloads pass the library's VDA 5050 2.0 JSON-schema validators;
2. the library's virtual AGV (with fieldops' action types registered, ``agv.js``) takes the
   orders fieldops sends, drives them and reports every action FINISHED.

Needs Node.js and ``npm ci`` in this folder (``scripts/bootstrap --test`` does both).
"""

from __future__ import annotations

import json
import shutil
import subprocess
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
