"""Live events between processes: the hub every web worker (and the robot bridge) holds.

The store's event log is the truth. The hub wakes this process's waiting event streams as soon
as an event is committed here (the store calls :meth:`Hub.on_event`) and publishes it on
``fieldops/events/{hall}``; events other workers committed arrive over MQTT and wake the
streams here too, and reach ``remote_listeners`` (the robot bridge hears reassignments so).
Without a broker, streams poll the log instead.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid

from fieldops.adapters.mqtt import connect, make_client

log = logging.getLogger("fieldops.events")

TOPIC_PREFIX = "fieldops/events/"


def topic_for(hall: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in hall) or "_"
    return TOPIC_PREFIX + safe


class Hub:
    """Wakes waiting streams; publishes committed events to MQTT when a broker is configured."""

    def __init__(self, broker_url: str | None = None, password: str | None = None):
        self.cond = threading.Condition()
        self.generation = 0
        self.broker_url = broker_url
        self.client = None
        self.worker_id = uuid.uuid4().hex[:8]
        self._own_marker = f'"worker":"{self.worker_id}"'.encode()  # on_event's compact JSON
        self.received = 0
        self.closed = False  # set on shutdown: open streams end at once
        self.remote_listeners: list = []  # called with other workers' events (parsed)
        if broker_url:
            self._connect(broker_url, password)

    def notify(self) -> None:
        with self.cond:
            self.generation += 1
            self.cond.notify_all()

    def wait(self, generation: int, timeout: float) -> int:
        with self.cond:
            if self.generation == generation:
                self.cond.wait(timeout)
            return self.generation

    # the store calls this after each commit
    def on_event(self, event: dict) -> None:
        self.notify()
        if self.client is not None:
            payload = json.dumps(
                {**event, "worker": self.worker_id},
                sort_keys=True,
                separators=(",", ":"),
                default=str,
            )
            self.client.publish(topic_for(event.get("hall", "")), payload, qos=1, retain=False)

    def _on_message(self, _client, _userdata, msg) -> None:
        self.received += 1
        if self._own_marker in msg.payload:  # our own events woke the streams already
            return
        self.notify()
        if self.remote_listeners:
            try:
                event = json.loads(msg.payload)
            except ValueError:
                return
            if isinstance(event, dict):
                for listener in list(self.remote_listeners):
                    try:
                        listener(event)
                    except Exception:  # a broken listener must not stop the others
                        log.exception("events: a listener failed")

    def _connect(self, url: str, password: str | None) -> None:
        client = make_client(url, f"fieldops-web-{self.worker_id}", password=password)

        def on_connect(c, _userdata, _flags, reason_code, _props):
            if not reason_code.is_failure:
                c.subscribe(TOPIC_PREFIX + "#", qos=1)

        client.on_connect = on_connect
        client.on_message = self._on_message
        connect(client, keepalive=30)
        self.client = client

    def stop_streams(self) -> None:
        """End every open stream now (the browsers reconnect, to another worker or later)."""
        self.closed = True
        self.notify()

    def close(self) -> None:
        self.closed = True
        if self.client is not None:
            self.client.loop_stop()
            self.client.disconnect()
            self.client = None
        self.notify()
