"""Broker URLs: one parser for the bridge, the simulator and the web workers' event hub."""

from __future__ import annotations

import pytest

from fieldops.adapters.mqtt import make_client, parse_broker_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://127.0.0.1", ("127.0.0.1", 1883, None, None)),
        ("broker:1884", ("broker", 1884, None, None)),
        ("mqtt://fieldops@broker:1883", ("broker", 1883, "fieldops", None)),
        ("mqtts://fieldops:pw@broker", ("broker", 8883, "fieldops", "pw")),
        ("ssl://broker:9883", ("broker", 9883, None, None)),
    ],
)
def test_broker_urls(url, expected):
    assert parse_broker_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://broker", "scheme must be mqtt:// or mqtts://"),
        ("mqtt://broker:99999", "port is not a number"),
        ("mqtt://:1883", "no host"),
    ],
)
def test_bad_broker_urls_say_why(url, message):
    with pytest.raises(ValueError, match=message):
        parse_broker_url(url)


def test_a_password_from_outside_the_url_is_used_only_when_the_url_has_none():
    assert make_client("mqtt://fieldops@h", "c", password="env").password == "env"
    assert make_client("mqtt://fieldops:url@h", "c", password="env").password == "url"
    assert make_client("mqtts://h", "c")._ssl_context is not None  # TLS on
