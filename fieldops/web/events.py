"""Live updates: server-sent events fed from the store's event log.

The event log in the database is the truth; a stream reads it from ``Last-Event-ID`` on, so a
reconnecting browser misses nothing. The :class:`Hub` wakes waiting streams as soon as an event
is committed: by this worker (a store listener) or by another worker (the event arrives over
MQTT on ``fieldops/events/{hall}``, published by whichever worker committed it). Without a
broker the streams also poll the log every ``SSE_POLL_S`` seconds, so several workers on one
database still agree, only a little later.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid

from flask import Blueprint, Response, current_app, g, request, stream_with_context

from fieldops.web.security import require, store

bp = Blueprint("events", __name__, url_prefix="/events")
log = logging.getLogger("fieldops.web.events")

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
        from fieldops.adapters.mqtt import connect, make_client

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


def sse_format(event: dict) -> str:
    data = json.dumps(
        {k: event[k] for k in ("id", "at", "hall", "kind", "step_id", "actor", "data")},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return f"id: {event['id']}\ndata: {data}\n\n"  # unnamed: every kind reaches onmessage


@bp.get("/stream")
@require()
def stream():
    """``text/event-stream`` of the event log after ``Last-Event-ID`` (or ``?after=``)."""
    raw = request.headers.get("Last-Event-ID") or request.args.get("after") or ""
    if raw == "now":
        after = store().last_event_id()
    else:
        try:
            after = int(raw or 0)
        except ValueError:
            return Response(
                "Last-Event-ID must be a whole number\n", status=400, mimetype="text/plain"
            )
    hub: Hub = current_app.extensions["fieldops_hub"]
    st = store()
    max_s = float(current_app.config["SSE_MAX_S"])
    poll_s = float(current_app.config["SSE_POLL_S"])
    user = g.user["name"]

    def gen():
        last = after
        started = time.monotonic()
        generation = hub.generation
        yield f"retry: 2000\n: hello {user}\n\n"
        while time.monotonic() - started < max_s and not hub.closed:
            events = st.events_after(last, limit=200)
            for ev in events:
                last = ev["id"]
                yield sse_format(ev)
            if len(events) == 200:
                continue
            new_generation = hub.wait(generation, poll_s)
            if new_generation == generation:
                yield ": keep-alive\n\n"
            generation = new_generation
        # the browser reconnects with Last-Event-ID; ending frees this worker thread

    resp = Response(stream_with_context(gen()), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp
