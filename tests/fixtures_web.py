"""Web fixtures: ``app``/``client``/``runner`` on a SQLite store with ``sample_plan()`` and one
user per role (password ``PASSWORD``), ``login(client, name)`` helpers, and ``live_server``:
a real ``fieldops serve`` subprocess on a free port for the e2e tests."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.fixtures_db import SAMPLE_FLOOR, sample_plan

PASSWORD = "floor-pass-1"
USERS = {
    "ann": ("technician", "technician-1"),
    "bob": ("technician", "technician-2"),
    "lee": ("lead", ""),
    "pat": ("planner", ""),
    "ada": ("admin", ""),
    "nia": ("technician", ""),  # a technician without a crew
}
REPO = Path(__file__).resolve().parent.parent


def seed_users(store) -> None:
    store.password_method = "pbkdf2:sha256:1000"  # fast for tests; production uses scrypt
    for name, (role, crew) in USERS.items():
        store.add_user(name, PASSWORD, role, crew=crew)


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory) -> Path:
    """A migrated SQLite file with ``sample_plan()`` and ``USERS``, made once; tests copy it."""
    from fieldops.adapters.store import Store

    path = tmp_path_factory.mktemp("seed") / "seed.db"
    store = Store(f"sqlite:///{path}")
    store.load_plan(sample_plan(), design="tiny", revision="1", hall="TINY", floor=SAMPLE_FLOOR)
    seed_users(store)
    store.close()
    return path


def copy_seeded(seeded_db: Path, dest: Path) -> str:
    shutil.copyfile(seeded_db, dest)
    return f"sqlite:///{dest}"


@pytest.fixture
def app(tmp_path, clock, seeded_db):
    from fieldops.adapters.store import Store
    from fieldops.web import create_app

    url = copy_seeded(seeded_db, tmp_path / "web.db")
    store = Store(url, clock=clock)
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "STORE": store,
            "SECRET_KEY": "test-secret-key-" + "x" * 32,
            "SSE_MAX_S": 0.5,
            "SSE_POLL_S": 0.1,
        }
    )
    yield app
    app.extensions["fieldops_hub"].close()
    store.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def store_of(app):
    return app.extensions["fieldops"].store


def csrf_of(client, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    m = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert m, f"no CSRF token on {path}"
    return m.group(1)


def login(client, name: str, password: str = PASSWORD):
    """Log ``client`` in; returns the CSRF token for its session."""
    token = csrf_of(client)
    resp = client.post("/login", data={"username": name, "password": password, "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return csrf_of(client, "/login")


@pytest.fixture
def as_user(app):
    """``as_user("ann")`` -> (client, csrf) logged in as that user."""

    def make(name: str):
        c = app.test_client()
        return c, login(c, name)

    return make


@pytest.fixture
def token_for(store_of):
    def make(name: str) -> dict:
        return {"Authorization": f"Bearer {store_of.create_token(name, 'test')}"}

    return make


# ---------------------------------------------------------------- a real server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``fieldops serve`` in a subprocess; ``restart()`` keeps database and port."""

    def __init__(
        self,
        db_url: str,
        workdir: Path,
        env: dict | None = None,
        broker: str | None = None,
        extra_args: list[str] | None = None,
    ):
        self.db_url = db_url
        self.extra_args = list(extra_args or [])
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.env.pop("FIELDOPS_SECRET_KEY", None)
        self.broker = broker
        self.proc: subprocess.Popen | None = None

    def start(self, extra_env: dict | None = None) -> LiveServer:
        cmd = [
            sys.executable,
            "-m",
            "fieldops",
            "serve",
            "--db",
            self.db_url,
            "--port",
            str(self.port),
            "--threads",
            "16",
        ]
        if self.broker:
            cmd += ["--broker", self.broker]
        cmd += self.extra_args
        log = open(self.workdir / f"serve-{self.port}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._log = log
        self.proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env={**self.env, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() takes master and workers
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"fieldops serve exited: {(self.workdir / f'serve-{self.port}.log').read_text()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("fieldops serve did not come up in 30 s")

    def kill(self) -> None:
        """SIGKILL to every process of the server (master and workers): no clean shutdown,
        like a power cut."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        if getattr(self, "_log", None):
            self._log.close()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "_log", None):
            self._log.close()

    def restart(self, extra_env: dict | None = None) -> LiveServer:
        self.kill()
        return self.start(extra_env)


@pytest.fixture
def live_server(tmp_path, seeded_db):
    """A real ``fieldops serve`` on a free port over a SQLite file with ``sample_plan()`` and
    the ``USERS`` loaded. Yields the LiveServer (``.url``, ``.restart()``)."""
    url = copy_seeded(seeded_db, tmp_path / "live.db")
    server = LiveServer(url, tmp_path).start()
    yield server
    server.stop()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium_browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"{CHROMIUM} is missing: apt-get update && apt-get install -y chromium (scripts/bootstrap --test does it)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
