"""``fieldops serve``'s processes: gunicorn workers on one listening socket, and beside them the
embedded MQTT broker the workers share when no broker is given (several workers) and the
robot bridge (``--robots``), each in a process of its own.

gunicorn is the process manager: it forks the workers (``gthread``: each serves ``threads``
requests at once, an open live view holding one), restarts a worker that dies, stops them on
SIGTERM/SIGINT, and its workers leave when the master is gone. Each worker builds its own
parts after the fork (:func:`fieldops.bootstrap.bootstrap`): nothing database- or
network-side crosses a fork. The broker and the bridge run in fresh interpreters
(``python -m fieldops.web.server broker|robots``) and leave when the process that started
them is gone.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

from gunicorn.app.base import BaseApplication

log = logging.getLogger("fieldops.serve")

# A request thread back from the database waits for the GIL up to the switch interval (5 ms by
# default) at each of its round trips; 1 ms cut the p95 of 200 tablets on PostgreSQL from 254
# to 133 ms (benchmarks/bench_web.py, lockstep, 1 worker).
SWITCH_INTERVAL_S = 0.001


class WebServer(BaseApplication):
    """gunicorn, configured in code, serving :func:`fieldops.web.create_app` on ``sock``."""

    def __init__(self, settings, sock, *, workers: int = 1, threads: int = 32):
        self.settings = settings
        self.sock = sock
        self.workers = workers
        self.threads = threads
        self._parts = None
        self._number = 1  # this worker's number, 1..workers (in a worker, after the fork)
        super().__init__()

    def load_config(self) -> None:
        os.set_inheritable(self.sock.fileno(), True)
        for key, value in {
            "bind": [f"fd://{self.sock.fileno()}"],
            "workers": self.workers,
            "worker_class": "gthread",
            "threads": self.threads,
            "worker_connections": 1000,
            "backlog": 1024,
            "timeout": 120,  # the master restarts a worker silent this long
            "graceful_timeout": 10,
            "keepalive": 5,
            "proc_name": "fieldops",
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "pre_fork": self._pre_fork,
            "post_fork": self._post_fork,
            "post_worker_init": self._post_worker_init,
            "worker_exit": self._worker_exit,
        }.items():
            self.cfg.set(key, value)

    def _pre_fork(self, server, worker) -> None:
        """In the master: the lowest worker number no live worker holds (a restarted worker
        takes its predecessor's), for ``{n}`` in the broker URL's user."""
        taken = {getattr(w, "fieldops_number", 0) for w in server.WORKERS.values()}
        worker.fieldops_number = min(set(range(1, self.workers + 2)) - taken)

    def _post_fork(self, _server, worker) -> None:
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self._number = getattr(worker, "fieldops_number", 1)

    def load(self):
        """In each worker, after the fork: its own store, hub and app; its own MQTT user
        when the broker URL names one per worker (``mqtt://fieldops-web-{n}@host``)."""
        from fieldops.bootstrap import bootstrap, worker_broker_url
        from fieldops.web import create_app

        settings = self.settings.but(
            broker_url=worker_broker_url(self.settings.broker_url, self._number)
        )
        self._parts = bootstrap(settings)
        return create_app(parts=self._parts)

    def _post_worker_init(self, worker) -> None:
        """On SIGTERM, end the open live streams first (else each holds its thread for up to
        55 s): the browsers reconnect to another worker, or later."""
        handle = worker.handle_exit

        def leave(sig, frame):
            if self._parts is not None and self._parts.hub is not None:
                self._parts.hub.stop_streams()
            handle(sig, frame)

        signal.signal(signal.SIGTERM, leave)

    def _worker_exit(self, _server, _worker) -> None:
        if self._parts is not None:
            self._parts.close()
            self._parts = None


# ---------------------------------------------------------------- processes beside the web


def start_beside(role: str, settings, *args: str) -> subprocess.Popen:
    """Run ``python -m fieldops.web.server ROLE ARGS`` beside the web workers (``broker``,
    ``robots``): a fresh interpreter that leaves when this process is gone. Settings travel in
    the environment (``FIELDOPS_*``), never on the command line, where ps shows them."""
    env = {**os.environ, **settings_env(settings), "FIELDOPS_PARENT_PID": str(os.getpid())}
    return subprocess.Popen([sys.executable, "-m", "fieldops.web.server", role, *args], env=env)


def settings_env(settings) -> dict[str, str]:
    from fieldops.config import ENV

    out = {}
    for name, var in ENV.items():
        value = getattr(settings, name)
        if value not in (None, ""):
            out[var] = str(value)
    return out


def stop_beside(procs, timeout_s: float = 10.0) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + timeout_s
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(2)


def _until_told(parent_pid: int) -> threading.Event:
    """An event set on SIGTERM, or when the parent is gone (kill -9 included)."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the parent, which stops us

    def watch():
        while not done.wait(1.0):
            if os.getppid() != parent_pid:
                done.set()

    threading.Thread(target=watch, name="fieldops-parent-watch", daemon=True).start()
    return done


def run_broker(host: str, port: int, done: threading.Event) -> None:
    """The embedded MQTT broker, until ``done``."""
    from fieldops.bootstrap import embedded_broker

    logging.getLogger("amqtt").setLevel(logging.CRITICAL)  # not every port probe as an error
    broker = embedded_broker(host, port).start()
    try:
        done.wait()
    finally:
        broker.stop()


def run_robot_bridge(done: threading.Event) -> None:
    """The robot bridge on the active plan, with parts of its own, until ``done``."""
    from fieldops.bootstrap import bootstrap
    from fieldops.config import Settings
    from fieldops.services.robots import start_robot_bridge

    logging.basicConfig(level=logging.WARNING, format="fieldops robots: %(message)s")
    parts = bootstrap(Settings.from_env())
    bridge = start_robot_bridge(parts)
    try:
        done.wait()
    finally:
        if bridge is not None:
            bridge.stop()
        parts.close()


def main(argv: list[str]) -> int:
    role, *rest = argv
    done = _until_told(int(os.environ["FIELDOPS_PARENT_PID"]))
    if role == "broker":
        run_broker(rest[0], int(rest[1]), done)
    elif role == "robots":
        run_robot_bridge(done)
    else:
        print(f"fieldops.web.server: unknown role {role!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
