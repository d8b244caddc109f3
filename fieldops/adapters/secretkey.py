"""The web app's session-signing key, kept beside the database: made once, mode 0600, the
same for every process that opens the same database."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from flask import Flask
from sqlalchemy.engine import make_url


def secret_key_for(db_url: str, instance_path: str) -> str:
    """The app's secret key, generated on first run and stored beside the SQLite database.

    Several processes starting at once agree on one key: the first to create the file wins
    (an exclusive hard link), the others read its key.
    """
    u = make_url(db_url)
    if u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:"):
        path = Path(u.database + ".secret")
    else:
        path = Path(instance_path) / "secret_key"
    key = _read_key(path)
    if key:
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            theirs = _read_key(path)
            if theirs:
                return theirs
            os.replace(tmp, path)  # a short or empty key file: replace it
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return key


def _read_key(path: Path) -> str | None:
    try:
        key = path.read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return key if len(key) >= 32 else None


def default_instance_path() -> str:
    """Flask's instance folder for this package (where a PostgreSQL setup keeps its key)."""
    return Flask(__name__, instance_relative_config=True).instance_path


def resolve_secret_key(settings) -> str:
    """The settings' secret key (``FIELDOPS_SECRET_KEY``), else the key kept beside the
    database (made on first run). ``fieldops serve --workers N`` resolves it once for all."""
    return settings.secret_key or secret_key_for(settings.database_url, default_instance_path())
