"""Ports the long-running commands listen on: a taken port is named, with the option that
changes it, before any other work starts."""

from __future__ import annotations

import errno
import socket

from fieldops.core.problems import DesignError, Problem


def _refuse(option: str, host: str, port: int, exc: OSError) -> DesignError:
    if exc.errno == errno.EADDRINUSE:
        why = f"{host}:{port} is taken (another program listens there)"
    elif exc.errno == errno.EACCES:
        why = f"{host}:{port} needs privileges this user lacks (ports below 1024)"
    elif exc.errno == errno.EADDRNOTAVAIL:
        why = f"{host} is not an address of this machine"
    else:
        why = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return DesignError(
        [
            Problem(
                option, 0, "", f"{why}; pick another with {option} N, or {option} 0 for a free one"
            )
        ]
    )


def listen(host: str, port: int, option: str = "--port") -> socket.socket:
    """A bound, listening, non-blocking socket (bound before any worker starts, so all
    share it); DesignError naming ``option`` when the port is taken."""
    if not 0 <= port <= 65535:
        raise DesignError(
            [Problem(option, 0, "", f"{port} is not a port (0..65535; 0 picks a free one)")]
        )
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise DesignError(
            [Problem("--host", 0, "", f"'{host}' is not an address: {exc}")]
        ) from None
    family, _, _, _, addr = infos[0]
    try:
        sock = socket.create_server(addr, family=family, backlog=1024)
    except OSError as exc:
        raise _refuse(option, host, port, exc) from None
    sock.setblocking(False)
    return sock


def ensure_free(host: str, port: int, option: str) -> int:
    """``port`` (a free one for 0) after checking nothing listens there; for servers that
    bind by themselves (the embedded broker)."""
    with listen(host, port, option) as sock:
        return sock.getsockname()[1]
