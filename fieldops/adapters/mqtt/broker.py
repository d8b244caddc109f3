"""The embedded MQTT broker: zero-install default for one machine (amqtt in a thread).

Production deployments use Mosquitto with ``deploy/mosquitto/`` (auth + per-robot ACL); the
embedded broker is for the laptop demo and for tests, and listens on localhost by default.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time

log = logging.getLogger(__name__)


class EmbeddedBroker:
    """An amqtt broker running on its own event loop in a daemon thread.

    >>> with EmbeddedBroker(port=0) as b:   # doctest: +SKIP
    ...     print(b.url)
    mqtt://127.0.0.1:41234
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 1883):
        self.host = host
        self.port = port or free_port(host)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def config(self) -> dict:
        return {
            "listeners": {
                "default": {"type": "tcp", "bind": f"{self.host}:{self.port}", "max_connections": 0}
            },
            "timeout_disconnect_delay": 0,
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        self._thread = threading.Thread(
            target=self._run, name=f"mqtt-broker-{self.port}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(
                f"embedded MQTT broker did not start on {self.host}:{self.port} within {timeout:.0f} s"
            )
        if self._error is not None:
            raise RuntimeError(
                f"embedded MQTT broker could not listen on {self.host}:{self.port}: {self._error}"
            )
        return self

    def _run(self) -> None:
        Broker = _patched_broker_class()  # noqa: N806

        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._broker = Broker(self.config(), loop=loop)
            loop.run_until_complete(self._broker.start())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    def stop(self, timeout: float = 10.0) -> None:
        loop, broker = self._loop, self._broker
        if loop is None or broker is None or self._error is not None:
            return
        if loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(broker.shutdown(), loop)
            try:
                fut.result(timeout)
            except Exception as exc:  # shutting down anyway
                log.debug("embedded broker shutdown: %s", exc)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout)
        self._loop = self._broker = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _patched_broker_class():
    """amqtt's Broker with one fix: on CONNECT, amqtt 0.12 sends a new client the retained
    messages matching *every* client's subscriptions (at QoS 0), not only its own. Here a
    client only gets retained messages for filters it subscribed to, at its own QoS."""
    from amqtt.broker import Broker

    class FieldopsBroker(Broker):
        async def _publish_retained_messages_for_subscription(self, subscription, session) -> None:
            topic_filter, _qos = subscription
            own = [
                q
                for s, q in self._subscriptions.get(topic_filter, ())
                if s.client_id == session.client_id
            ]
            if own:
                await super()._publish_retained_messages_for_subscription(
                    (topic_filter, own[0]), session
                )

    return FieldopsBroker


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"nothing listens on {host}:{port} after {timeout:.0f} s"
                ) from None
            time.sleep(0.05)
