"""`fieldops demo` runs the whole loop on the embedded defaults and stops cleanly."""

import re
import subprocess
import sys
import time
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
            "20",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
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
            if url and line.strip().startswith("plan and PDFs"):
                break
            assert time.monotonic() < deadline, "".join(lines)
        assert url, "".join(lines)
        text = "".join(lines)
        logins = dict(re.findall(r"^\s+(lead|admin|tech1|tech2)\s+(\S+)\s+\(", text, re.M))
        assert set(logins) == {"lead", "admin", "tech1", "tech2"} and len(set(logins.values())) == 4
        assert "2 simulated robot(s)" in text
        with urllib.request.urlopen(url + "login", timeout=10) as resp:
            page = resp.read().decode()
        assert resp.status == 200 and "password" in page.lower()
        rest, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, "".join(lines) + rest
    for name in ("cutsheet.csv", "bom.csv", "routes.json", "workorders.json", "schedule.csv"):
        assert (out / "plan" / name).stat().st_size > 0
    assert "Traceback" not in "".join(lines) + rest
