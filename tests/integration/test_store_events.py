"""Live updates: two web workers on one database stay consistent through a real Mosquitto
broker (topic fieldops/events/{hall}), and the SSE stream replays the event log."""

from __future__ import annotations

import json
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from tests.fixtures_db import SAMPLE_FLOOR, sample_plan
from tests.fixtures_web import login, seed_users

pytestmark = pytest.mark.mosquitto


def wait_for(predicate, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def start_two_workers(tmp_path, broker_url: str, password: str | None = None) -> list:
    """Two web workers; ``{n}`` in the URL's user is the worker's number (as fieldops serve)."""
    from fieldops.adapters.mqtt import worker_url
    from fieldops.adapters.store import Store
    from fieldops.web import create_app

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    s = Store(url)
    s.load_plan(sample_plan(), design="tiny", revision="1", hall="TINY", floor=SAMPLE_FLOOR)
    seed_users(s)
    s.close()
    apps = [
        create_app(
            {
                "TESTING": True,
                "DATABASE_URL": url,
                "SECRET_KEY": "k" * 40,
                "MQTT_BROKER": worker_url(broker_url, n),
                "MQTT_PASSWORD": password,
                "SSE_MAX_S": 1.0,
                "SSE_POLL_S": 30.0,
            }
        )
        for n in (1, 2)
    ]
    for a in apps:
        wait_for(lambda a=a: a.extensions["fieldops_hub"].client.is_connected())
    time.sleep(0.3)  # subscriptions settle
    return apps


def stop_workers(apps) -> None:
    for a in apps:
        a.extensions["fieldops_hub"].close()
        a.extensions["fieldops"].store.close()


@pytest.fixture
def two_workers(tmp_path, mosquitto):
    apps = start_two_workers(tmp_path, mosquitto.url())
    yield apps
    stop_workers(apps)


def test_workers_share_events_through_the_production_acl(tmp_path, mosquitto_secure):
    """Mosquitto with the generated password + ACL files and one identity per client: the
    workers log in as fieldops-web-1 and fieldops-web-2 (their one password from
    MQTT_PASSWORD, not the URL) and the ACL lets their events through."""
    b = mosquitto_secure
    apps = start_two_workers(
        tmp_path, f"mqtt://fieldops-web-{{n}}@{b.host}:{b.port}", b.credentials["fieldops-web-1"]
    )
    try:
        hub_b = apps[1].extensions["fieldops_hub"]
        before = hub_b.received
        apps[0].extensions["fieldops"].store.confirm(
            "rack-R01", client_id="acl-1", actor="ann", crew="technician-1"
        )
        wait_for(lambda: hub_b.received > before)
    finally:
        stop_workers(apps)


def test_an_event_committed_by_one_worker_is_published_and_wakes_the_other(two_workers, mosquitto):
    a, b = two_workers
    seen: list[tuple[str, dict, bool, int]] = []
    sniffer = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sniffer")
    sniffer.on_message = lambda c, u, m: seen.append(
        (m.topic, json.loads(m.payload), m.retain, m.qos)
    )
    sniffer.connect("127.0.0.1", mosquitto.port)
    sniffer.subscribe("fieldops/events/#", qos=1)
    sniffer.loop_start()
    time.sleep(0.3)
    try:
        hub_b = b.extensions["fieldops_hub"]
        before = hub_b.received
        gen_b = hub_b.generation
        a.extensions["fieldops"].store.confirm(
            "rack-R01", client_id="w1", actor="ann", crew="technician-1"
        )
        wait_for(lambda: hub_b.received > before and hub_b.generation > gen_b)
        wait_for(lambda: seen)
        topic, payload, retain, qos = seen[0]
        assert (topic, retain, qos) == ("fieldops/events/TINY", False, 1)
        assert (payload["kind"], payload["step_id"], payload["actor"], payload["hall"]) == (
            "step_confirmed",
            "rack-R01",
            "ann",
            "TINY",
        )
        assert payload["worker"] == a.extensions["fieldops_hub"].worker_id
        # worker B reads the same event from the shared log
        ids = [e["id"] for e in b.extensions["fieldops"].store.events_after(0)]
        assert payload["id"] in ids
    finally:
        sniffer.loop_stop()
        sniffer.disconnect()


def test_the_sse_stream_of_one_worker_carries_an_event_recorded_by_the_other(two_workers):
    a, b = two_workers
    client = b.test_client()
    login(client, "lee")
    last = b.extensions["fieldops"].store.last_event_id()
    got: list[str] = []

    def read():
        resp = client.get(f"/events/stream?after={last}", buffered=False)
        assert resp.mimetype == "text/event-stream"
        for chunk in resp.response:
            got.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
            if any("step_confirmed" in c for c in got):
                break
        resp.close()

    t = threading.Thread(target=read)
    t.start()
    time.sleep(0.2)
    a.extensions["fieldops"].store.confirm(
        "rack-R01", client_id="w2", actor="ann", crew="technician-1"
    )
    t.join(10)
    text = "".join(got)
    assert "retry: 2000" in text
    m = [line for line in text.splitlines() if line.startswith("data: ")]
    assert json.loads(m[0][6:])["kind"] == "step_confirmed"
    assert f"id: {last + 1}" in text


def test_sse_refuses_a_bad_last_event_id(two_workers):
    client = two_workers[0].test_client()
    login(client, "lee")
    r = client.get("/events/stream", headers={"Last-Event-ID": "abc"})
    assert r.status_code == 400
    assert client.application.test_client().get("/events/stream").status_code == 401
