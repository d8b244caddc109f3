"""Settings, read once: from ``FIELDOPS_*`` environment variables, overridden by command-line
flags (or a test's config). Nothing else in fieldops reads the environment.

=============================  ======================================================
variable                       setting
=============================  ======================================================
``FIELDOPS_DB``                ``database_url`` (unset: the command's default,
                               ``sqlite:///fieldops.db`` for the CLI)
``FIELDOPS_BROKER``            ``broker_url``: MQTT for live events and robots
``FIELDOPS_MQTT_PASSWORD``     ``mqtt_password`` for the broker URL's user
``FIELDOPS_SECRET_KEY``        ``secret_key`` (else made once, kept beside the database)
``FIELDOPS_FAULT_CONFIRM_DELAY_S``  ``confirm_fault_delay_s``: a test hook that holds a
                               confirmation open (kill-9 trials); 0 in production
``FIELDOPS_ROBOTS_USER``       ``robots_user``: the robot bridge's own MQTT user
``FIELDOPS_ROBOTS_PASSWORD``   ``robots_password``: its password (else the MQTT password)
``FIELDOPS_VDA_VERSION``       ``vda_version``: VDA 5050 version for robots whose profile
                               and factsheet do not say (2.0.0 or 2.1.0; default 2.1.0)
``FIELDOPS_PROXY``             ``proxy``: served behind a TLS-terminating reverse proxy
                               (1/true/yes/on or 0/false/no/off; default off): trust its
                               X-Forwarded-* headers, Secure cookies, HSTS
=============================  ======================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

DEFAULT_DB = "sqlite:///fieldops.db"

ENV = {
    "database_url": "FIELDOPS_DB",
    "broker_url": "FIELDOPS_BROKER",
    "mqtt_password": "FIELDOPS_MQTT_PASSWORD",
    "secret_key": "FIELDOPS_SECRET_KEY",
    "confirm_fault_delay_s": "FIELDOPS_FAULT_CONFIRM_DELAY_S",
    "robots_password": "FIELDOPS_ROBOTS_PASSWORD",
    "robots_user": "FIELDOPS_ROBOTS_USER",
    "vda_version": "FIELDOPS_VDA_VERSION",
    "proxy": "FIELDOPS_PROXY",
}
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class SettingsError(ValueError):
    """A setting that cannot be used: ``setting`` names it (a Settings field), the message
    says why in one line; entry points name their flag or variable for it."""

    def __init__(self, message: str, setting: str = ""):
        super().__init__(message)
        self.setting = setting


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None  # None: the entry point's default (DEFAULT_DB)
    broker_url: str | None = None
    mqtt_password: str | None = None
    secret_key: str | None = None
    db_pool_size: int = 10
    confirm_fault_delay_s: float = 0.0
    sse_max_s: float = 55.0  # how long one live event stream lives
    sse_poll_s: float = 2.0  # how often a stream polls the event log without a broker
    login_max_failures: int = 10  # per user name per window
    login_window_s: float = 900.0
    # the robot bridge: its VDA 5050 version for robots whose profile and factsheet do not
    # say, and its own MQTT identity (else the broker URL's user)
    vda_version: str | None = None
    robots_user: str | None = None
    robots_password: str | None = None
    # behind a TLS-terminating reverse proxy (deploy/Caddyfile): X-Forwarded-For/-Proto/-Host
    # from one proxy hop are trusted, the session cookie is Secure, responses carry HSTS
    proxy: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Settings from ``FIELDOPS_*`` variables, then ``overrides`` (flags; None = unset)."""
        env = os.environ if environ is None else environ
        values: dict = {}
        for name, var in ENV.items():
            raw = env.get(var)
            if raw:
                values[name] = _parse(name, raw, var)
        values.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
        return cls(**values)

    def but(self, **changes) -> Settings:
        """A copy with ``changes`` applied (None = keep)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _parse(name: str, raw: str, var: str):
    if name == "vda_version" and raw not in ("2.0.0", "2.1.0"):
        raise SettingsError(
            f"{var}: '{raw}' is not a VDA 5050 version fieldops speaks (2.0.0, 2.1.0)"
        )
    if name == "proxy":
        if raw.strip().lower() not in TRUE + FALSE:
            raise SettingsError(f"{var}: '{raw}' is not one of {'/'.join(TRUE + FALSE)}")
        return raw.strip().lower() in TRUE
    if name == "confirm_fault_delay_s":
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{var}: '{raw}' is not a number of seconds") from None
        if not 0 <= value <= 60:
            raise SettingsError(f"{var}: {value} is not between 0 and 60 seconds")
        return value
    return raw
