"""Live updates: server-sent events fed from the store's event log.

The event log in the database is the truth; a stream reads it from ``Last-Event-ID`` on, so a
reconnecting browser misses nothing. The hub (``fieldops.adapters.mqtt.events.Hub``, wired by
the composition root) wakes waiting streams as soon as an event is committed, by this worker
or another; without a broker the streams also poll the log every ``sse_poll_s`` seconds, so
several workers on one database still agree, only a little later.
"""

from __future__ import annotations

import json
import time

from flask import Blueprint, Response, current_app, g, request, stream_with_context

from fieldops.web.api import MAX_ID, event_scope
from fieldops.web.security import floorwork, require

bp = Blueprint("events", __name__, url_prefix="/events")


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
        after = floorwork().last_event_id()
    else:
        raw = raw or "0"
        after = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 10 else -1
        if not 0 <= after <= MAX_ID:
            return Response(
                f"Last-Event-ID must be a whole number from 0 to {MAX_ID}\n",
                status=400,
                mimetype="text/plain",
            )
    hub = current_app.extensions["fieldops_hub"]
    st = floorwork()
    max_s = float(current_app.config["SSE_MAX_S"])
    poll_s = float(current_app.config["SSE_POLL_S"])
    user = g.user["name"]
    crew = event_scope()  # technicians: their crew's steps' events only

    def gen():
        last = after
        started = time.monotonic()
        generation = hub.generation
        yield f"retry: 2000\n: hello {user}\n\n"
        while time.monotonic() - started < max_s and not hub.closed:
            events, last, at_end = st.events_for(last, limit=200, crew=crew)
            for ev in events:
                yield sse_format(ev)
            if not at_end:  # more of the log is waiting
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
