"""`fieldops demo` runs the whole loop on the embedded defaults and stops cleanly."""

import contextlib
import http.cookiejar
import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

import pytest

pytestmark = pytest.mark.slow


def test_demo_plans_serves_and_stops(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fieldops",
            "demo",
            "-o",
            str(out),
            "--port",
            "0",
            "--no-pdf",
            "--exit-after",
            "120",  # a safety net: the test stops it with Ctrl-C once it has looked
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # as a script's background job starts it: SIGINT ignored, which the demo must undo
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    lines = []
    url = None
    deadline = time.monotonic() + 120
    try:
        for line in proc.stdout:
            lines.append(line)
            m = re.search(r"fieldops demo is running: (http://\S+)", line)
            if m:
                url = m.group(1)
            if url and line.strip().startswith("Ctrl-C to stop"):
                break
            assert time.monotonic() < deadline, "".join(lines)
        assert url, "".join(lines)
        text = "".join(lines)
        logins = dict(re.findall(r"^\s+(\w+)\s+(\S+)\s+\((?:lead|admin|technician)", text, re.M))
        plan = json.loads((out / "plan" / "workorders.json").read_text())
        technicians = [m["name"] for m in plan["team"] if m["kind"] == "technician"]
        assert len(technicians) == 4  # the default crew
        # every technician the plan schedules can log in, as themselves
        assert set(logins) == {"lead", "admin"} | {f"tech{n[-1]}" for n in technicians}
        assert len(set(logins.values())) == len(logins)
        for tech in technicians:
            me = _login(url, f"tech{tech[-1]}", logins[f"tech{tech[-1]}"])
            assert me["crew"] == tech, me
        assert "2 simulated robot(s)" in text
        # the what-next block names the files written, one line each
        for name in ("workorders.json", "cutsheet.csv", "bom.csv", "schedule.csv"):
            assert re.search(rf"^\s+{re.escape(name)}\s+\S", text, re.M), name
        assert f"{url}lead/" in text
        with urllib.request.urlopen(url + "login", timeout=10) as resp:
            page = resp.read().decode()
        assert resp.status == 200 and "password" in page.lower()
        # Ctrl-C, as the demo says, while tablets are still asking: requests in hand finish
        # and nothing is written to a closed socket (it printed EBADF tracebacks once)
        with _tablets_asking(url + "login"):
            proc.send_signal(signal.SIGINT)
            rest, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, "".join(lines) + rest
    for name in ("cutsheet.csv", "bom.csv", "routes.json", "workorders.json", "schedule.csv"):
        assert (out / "plan" / name).stat().st_size > 0
    assert "Traceback" not in "".join(lines) + rest


class _tablets_asking:
    """Eight clients asking for a page in a loop for as long as the block runs."""

    def __init__(self, url: str, clients: int = 8):
        self.url, self.done = url, threading.Event()
        self.threads = [threading.Thread(target=self._ask) for _ in range(clients)]

    def _ask(self):
        while not self.done.is_set():
            # the server is going away: a refused or cut request is the point
            with contextlib.suppress(OSError), urllib.request.urlopen(self.url, timeout=5) as r:
                r.read()

    def __enter__(self):
        for t in self.threads:
            t.start()
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        self.done.set()
        for t in self.threads:
            t.join()


def _login(url: str, name: str, password: str) -> dict:
    """Log in through the login form (with its CSRF token) and return /api/me."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(url + "login", timeout=10).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": name, "password": password, "csrf_token": token})
    opener.open(url + "login", data=form.encode(), timeout=10).read()
    return json.loads(opener.open(url + "api/me", timeout=10).read())
