"""MQTT adapters: the embedded broker, the VDA 5050 bridge, a simulated robot, broker ACLs.

The payloads themselves are built and checked by the pure :mod:`fieldops.core.vda5050`; these
modules only move bytes (paho-mqtt) and keep time.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

DEFAULT_PORT = 1883
TLS_SCHEMES = ("mqtts", "ssl")  # TLS with the system's CA certificates, port 8883 by default


def parse_broker_url(url: str) -> tuple[str, int, str | None, str | None]:
    """``mqtt://user:password@host:port`` -> (host, port, username, password).

    >>> parse_broker_url("mqtt://fieldops:s3cret@localhost:18830")
    ('localhost', 18830, 'fieldops', 's3cret')
    """
    if "://" not in url:
        url = "mqtt://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp", *TLS_SCHEMES):
        raise ValueError(
            f"broker URL '{url}': scheme must be mqtt:// or mqtts:// (got '{parts.scheme}://')"
        )
    try:
        port = parts.port or (8883 if parts.scheme in TLS_SCHEMES else DEFAULT_PORT)
    except ValueError:
        raise ValueError(f"broker URL '{url}': the port is not a number 1..65535") from None
    if not parts.hostname:
        raise ValueError(f"broker URL '{url}': no host")
    return parts.hostname, port, parts.username, parts.password


def worker_url(url: str | None, n: int) -> str | None:
    """``{n}`` in a broker URL (``mqtt://fieldops-web-{n}@host``) as worker ``n``'s number:
    with a broker that takes each client's user name as its client ID, every worker process
    logs in as its own user.

    >>> worker_url("mqtt://fieldops-web-{n}@broker:1883", 2)
    'mqtt://fieldops-web-2@broker:1883'
    """
    return url.replace("{n}", str(n)) if url else url


def without_user(url: str) -> str:
    """The URL without its user and password (the caller gives its own).

    >>> without_user("mqtt://fieldops-web-1:pw@broker:1883")
    'mqtt://broker:1883'
    """
    if "://" not in url:
        url = "mqtt://" + url
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def make_client(
    url: str, client_id: str, *, username: str | None = None, password: str | None = None
):
    """A paho-mqtt (v2 callback API, MQTT 3.1.1) client for ``url``; credentials in the URL
    win over the arguments (``mqtt://fieldops@host`` takes ``password``, so the password need
    not be on a command line). Reconnects with a short back-off; nothing is connected yet."""
    import paho.mqtt.client as mqtt

    host, port, url_user, url_password = parse_broker_url(url)
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv311,
        clean_session=True,
    )
    user = url_user or username
    if user:
        client.username_pw_set(user, url_password if url_password is not None else password)
    if url.split("://", 1)[0] in TLS_SCHEMES:
        client.tls_set()
    client.reconnect_delay_set(min_delay=0.1, max_delay=1)
    client.max_queued_messages_set(0)
    client.max_inflight_messages_set(1000)
    client._fieldops_address = (host, port)  # noqa: SLF001 - where connect_async() goes
    return client


def connect(client, *, keepalive: int = 10) -> None:
    """Start the network thread; paho keeps reconnecting when the broker goes away."""
    host, port = client._fieldops_address  # noqa: SLF001
    client.connect_async(host, port, keepalive=keepalive)
    client.loop_start()
