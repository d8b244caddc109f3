"""``fieldops serve --workers 2``: two processes share one listening socket and one SQLite
database. A confirmation taken by one worker reaches a live event stream served by the other
(through the embedded broker the supervisor starts for them), a session made by one worker is
valid on the other (one secret key), and the workers leave with their supervisor."""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import time
import urllib.parse

import pytest

from tests.fixtures_web import PASSWORD, LiveServer, copy_seeded

pytestmark = pytest.mark.slow


class Conn:
    """One keep-alive HTTP connection, so every request on it reaches the same worker."""

    def __init__(self, port: int):
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        self.worker = self.get("/healthz")[2]["worker"]

    def get(self, path: str, headers: dict | None = None):
        self.http.request("GET", path, headers=headers or {})
        resp = self.http.getresponse()
        body = resp.read()
        ctype = resp.getheader("Content-Type", "")
        return resp.status, resp, (json.loads(body) if "json" in ctype else body.decode())

    def post(self, path: str, body: bytes, headers: dict):
        self.http.request("POST", path, body=body, headers=headers)
        resp = self.http.getresponse()
        return resp.status, resp, resp.read()


def connections_to_two_workers(port: int) -> tuple[Conn, Conn]:
    first = Conn(port)
    for _ in range(100):
        other = Conn(port)
        if other.worker != first.worker:
            return first, other
        other.http.close()
        time.sleep(0.02)
    raise AssertionError("every connection reached the same worker")


def start_two_workers(tmp_path, seeded_db) -> tuple[LiveServer, dict]:
    from fieldops.adapters.store import Store

    url = copy_seeded(seeded_db, tmp_path / "workers.db")
    st = Store(url)
    tokens = {name: st.create_token(name, "test") for name in ("ann", "lee")}
    st.close()
    return LiveServer(url, tmp_path, extra_args=["--workers", "2"]).start(), tokens


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory, seeded_db):
    server, tokens = start_two_workers(tmp_path_factory.mktemp("workers"), seeded_db)
    yield server, tokens
    server.stop()
    log = (server.workdir / f"serve-{server.port}.log").read_text()
    assert "Traceback" not in log and "exited with" not in log, log


def test_a_confirmation_through_one_worker_shows_live_on_the_other(two_workers):
    server, tokens = two_workers
    watcher, tablet = connections_to_two_workers(server.port)

    # the lead's live stream, served by one worker
    watcher.http.request(
        "GET", "/events/stream?after=now", headers={"Authorization": f"Bearer {tokens['lee']}"}
    )
    stream = watcher.http.getresponse()
    assert stream.status == 200
    assert stream.getheader("Content-Type").startswith("text/event-stream")
    assert stream.readline().startswith(b"retry: 2000")

    # the technician confirms through the other worker
    status, _, body = tablet.post(
        "/api/steps/rack-R01/confirm",
        json.dumps({"client_id": "two-workers-1"}).encode(),
        {"Authorization": f"Bearer {tokens['ann']}", "Content-Type": "application/json"},
    )
    assert status == 201, body

    events = []
    while not any(e["kind"] == "step_confirmed" for e in events):
        line = stream.readline()  # the socket timeout (15 s) fails the test if nothing comes
        assert line, "the stream ended before the confirmation arrived"
        if line.startswith(b"data: "):
            events.append(json.loads(line[6:]))
    confirmed = next(e for e in events if e["kind"] == "step_confirmed")
    assert (confirmed["step_id"], confirmed["actor"]) == ("rack-R01", "ann")
    watcher.http.close()


def test_a_session_made_by_one_worker_is_valid_on_the_other(two_workers):
    server, _ = two_workers
    a, b = connections_to_two_workers(server.port)
    _, resp, html = a.get("/login")
    cookie = resp.getheader("Set-Cookie").split(";", 1)[0]
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    form = urllib.parse.urlencode({"username": "lee", "password": PASSWORD, "csrf_token": csrf})
    status, resp, _ = a.post(
        "/login",
        form.encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    assert status == 302
    session = resp.getheader("Set-Cookie").split(";", 1)[0]
    status, _, me = b.get("/api/me", {"Cookie": session, "Accept": "application/json"})
    assert (status, me["name"], me["role"]) == (200, "lee", "lead")


def test_workers_leave_when_their_supervisor_is_killed(tmp_path, seeded_db):
    server, _ = start_two_workers(tmp_path, seeded_db)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(10)
    deadline = time.monotonic() + 15
    while True:  # the port closes once the last process holding the socket is gone
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                pass
        except OSError:
            break
        assert time.monotonic() < deadline, "a worker outlived its supervisor"
        time.sleep(0.1)
