"""Reading secrets for commands: never from the command line, where `ps` shows them."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from fieldops.core.problems import DesignError, Problem

MQTT_PASSWORD_ENV = "FIELDOPS_MQTT_PASSWORD"
ROBOTS_PASSWORD_ENV = "FIELDOPS_ROBOTS_PASSWORD"


def mqtt_password(path: Path | None = None) -> str | None:
    """The MQTT password for a broker URL without one: the first line of ``path``, else
    ``$FIELDOPS_MQTT_PASSWORD``, else None."""
    if path is not None:
        return read_password(path, confirm=False)
    return os.environ.get(MQTT_PASSWORD_ENV) or None


def robots_password() -> str | None:
    """The robot bridge's MQTT password: ``$FIELDOPS_ROBOTS_PASSWORD`` (its own user), else
    ``$FIELDOPS_MQTT_PASSWORD``."""
    return os.environ.get(ROBOTS_PASSWORD_ENV) or mqtt_password()


def read_password(path: Path | None, *, confirm: bool = True) -> str:
    """The first line of ``path`` ('-': standard input), else a prompt (typed twice)."""
    if path is not None:
        try:
            text = sys.stdin.readline() if str(path) == "-" else path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or str(exc)
            raise DesignError(
                [Problem(str(path), 0, "", f"cannot read the password file: {why}")]
            ) from None
        return text.splitlines()[0] if text else ""
    pw = getpass.getpass("Password: ")
    if confirm and getpass.getpass("Again: ") != pw:
        raise DesignError([Problem("password", 0, "", "the two passwords differ")])
    return pw
