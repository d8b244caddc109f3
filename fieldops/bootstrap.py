"""The composition root: the one place that picks concrete adapters and default locations."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


def data_dir(name: str) -> Path:
    """A top-level data folder (floorplans, robot_profiles, templates, static).

    From a source checkout these are the repo's folders; from an installed wheel they are
    shipped as ``fieldops/<name>`` (see setup.py).
    """
    for candidate in (REPO_DIR / name, PACKAGE_DIR / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"fieldops data folder '{name}' is missing from the installation")


def sample_design(name: str = "lab-hall") -> Path:
    return data_dir("floorplans") / name


def robot_profiles_dir() -> Path:
    return data_dir("robot_profiles")


# ---------------------------------------------------------------- the running parts


class Parts:
    """What one fieldops process runs on, wired once: the store, the live-event hub, and the
    use cases (``floor``: the floor's work, ``accounts``). Entry points (the web app, the CLI,
    the demo) get everything from here and close it when they stop."""

    def __init__(self, settings, store, hub):
        from fieldops.services.accounts import Accounts
        from fieldops.services.floorwork import FloorWork

        self.settings = settings
        self.store = store
        self.hub = hub
        self.floor = FloorWork(store, confirm_fault_delay_s=settings.confirm_fault_delay_s)
        self.accounts = Accounts(store)

    def close(self) -> None:
        if self.hub is not None:
            self.hub.close()
        self.store.close()


def open_store(settings, *, clock=None, migrate: bool = True, pool_size: int | None = None):
    """The store for ``settings.database_url`` (migrated unless ``migrate=False``).
    ``sqlite://`` is an in-memory database, for tests of the use cases."""
    import time

    from sqlalchemy.exc import OperationalError

    from fieldops.adapters.store import DatabaseUrlError, Store
    from fieldops.config import DEFAULT_DB, SettingsError

    try:
        return Store(
            settings.database_url or DEFAULT_DB,
            clock=clock or time.time,
            migrate=migrate,
            pool_size=pool_size or settings.db_pool_size,
        )
    except DatabaseUrlError as exc:
        raise SettingsError(str(exc), "database_url") from None
    except OperationalError as exc:
        why = str(exc.orig).strip().splitlines()[0]
        raise SettingsError(f"cannot open the database: {why}", "database_url") from None


def bootstrap(settings, *, store=None, clock=None, hub: bool = True) -> Parts:
    """Wire the parts for ``settings``: the given ``store`` (tests) or one opened from the
    database URL, and an event hub on ``settings.broker_url`` (none without ``hub``)."""
    from fieldops.adapters.mqtt.events import Hub

    store = store if store is not None else open_store(settings, clock=clock)
    the_hub = Hub(settings.broker_url, settings.mqtt_password) if hub else None
    if the_hub is not None:
        store.listeners.append(the_hub.on_event)
    return Parts(settings, store, the_hub)


def embedded_broker(host: str = "127.0.0.1", port: int = 0):
    """The zero-install MQTT broker (amqtt, no authentication: keep it on localhost)."""
    from fieldops.adapters.mqtt.broker import EmbeddedBroker

    return EmbeddedBroker(host, port)


def wait_for_port(host: str, port: int, timeout_s: float = 15.0) -> None:
    """Block until something accepts TCP connections on host:port (TimeoutError if not)."""
    from fieldops.adapters.mqtt.broker import wait_for_port as wait

    wait(host, port, timeout_s)


def secret_key(settings, instance_path: str | None = None) -> str:
    """The settings' secret key, else the one kept beside the database (made on first run;
    beside the app's ``instance_path`` for a database that is not a file)."""
    from fieldops.adapters.secretkey import resolve_secret_key, secret_key_for

    if instance_path is None or settings.secret_key:
        return resolve_secret_key(settings)
    return secret_key_for(settings.database_url, instance_path)


def simulated_fleet(parts, broker_url: str, *, time_scale: float = 1.0) -> list:
    """A started simulated robot for every robot of the active plan's team, addressed by the
    serial numbers the bridge sends its orders to (the demo's fleet)."""
    from fieldops.adapters.mqtt.acl import fleet_serials
    from fieldops.adapters.mqtt.simulator import SimulatedRobot
    from fieldops.services.planning import robot_profiles

    profiles = robot_profiles()
    by_profile: dict[str, list[str]] = {}
    for member in parts.store.team():
        if member["kind"] == "robot" and member["profile"] in profiles:
            by_profile.setdefault(member["profile"], []).append(member["name"])
    robots = []
    for name, members in sorted(by_profile.items()):
        profile = profiles[name]
        for serial in fleet_serials(profile.serial_number, len(members)):
            robots.append(
                SimulatedRobot(
                    profile,
                    broker_url,
                    serial_number=serial,
                    time_scale=time_scale,
                    map_id=parts.store.hall(),
                ).start()
            )
    return robots


def waitress_server(app, sock, *, threads: int = 16):
    """A WSGI server inside this process (the demo's, beside its broker and robots)."""
    from waitress import create_server

    return create_server(app, sockets=[sock], threads=threads, ident="fieldops")


def stop_waitress(server, thread, timeout_s: float = 5.0) -> None:
    """Stop a waitress server running in ``thread``: requests in hand finish first.

    ``server.close()`` from another thread closes the trigger pipe under a handler thread
    still answering a request (EBADF traceback on Ctrl-C); here the handlers drain, then the
    loop's own thread closes every socket, so nothing touches a closed descriptor.
    """
    from waitress import wasyncore

    server.task_dispatcher.shutdown(timeout=timeout_s)
    server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
    thread.join(timeout_s)


def worker_broker_url(url: str | None, number: int) -> str | None:
    """``{n}`` in a broker URL's user as a worker's number (one MQTT user per process)."""
    from fieldops.adapters.mqtt import worker_url

    return worker_url(url, number)
