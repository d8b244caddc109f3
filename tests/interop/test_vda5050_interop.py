"""Interoperability with an independent VDA 5050 implementation: the npm ``vda-5050-lib``.

1. fieldops' golden payloads pass the library's VDA 5050 2.0 JSON-schema validators;
2. the library's virtual AGV (with fieldops' action types registered, ``agv.js``) takes the
   orders fieldops sends, drives them and reports every action FINISHED.

Needs Node.js; ``npm install`` (from the npm registry) runs once into a cache directory.
"""

from __future__ import annotations

import hashlib
import json
import os
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
    """A folder with agv.js and node_modules/vda-5050-lib installed (cached by package.json)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.fail("the interop test needs Node.js and npm (apt-get install nodejs npm)")
    spec = (HERE / "package.json").read_bytes()
    cache = (
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        / "fieldops-interop"
        / hashlib.sha256(spec).hexdigest()[:16]
    )
    if not (cache / "node_modules" / "vda-5050-lib" / "package.json").exists():
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "package.json").write_bytes(spec)
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--silent"],
            cwd=cache,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            pytest.fail(f"npm install vda-5050-lib failed: {done.stderr[-800:]}")
    shutil.copy(HERE / "agv.js", cache / "agv.js")
    return cache


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
