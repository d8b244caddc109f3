"""A pynetbox client with a timeout, and NetBox's errors as clear one-line problems."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fieldops.core.problems import DesignError, Problem

TIMEOUT_S = 30.0
PAGE_SIZE = 1000  # NetBox's default MAX_PAGE_SIZE


def connect(url: str, token: str, *, timeout_s: float = TIMEOUT_S):
    """A ``pynetbox.api`` whose every request times out after ``timeout_s``."""
    try:
        import pynetbox
        import requests
    except ImportError:  # pragma: no cover - pynetbox is a declared dependency
        raise DesignError(
            [Problem(url, 0, "", "pynetbox is not installed (pip install 'fieldops[netbox]')")]
        ) from None
    api = pynetbox.api(url, token=token)
    session = requests.Session()
    request = session.request

    def call(method, target, **kw):
        kw.setdefault("timeout", timeout_s)
        return request(method, target, **kw)

    session.request = call
    api.http_session = session
    return api


def error_text(exc) -> str:
    """NetBox's answer to a refused request, one line: ``HTTP 400: [{'asset_tag': [...]}]``."""
    status = getattr(getattr(exc, "req", None), "status_code", "?")
    hint = " (check the token)" if status in (401, 403) else ""
    return f"NetBox answered HTTP {status}{hint}: {str(getattr(exc, 'error', exc))[:300]}"


@contextmanager
def netbox_errors(url: str, doing: str = "") -> Iterator[None]:
    """Turn pynetbox/requests failures inside the block into a DesignError naming ``url``."""
    import pynetbox
    import requests

    what = f" while {doing}" if doing else ""
    try:
        yield
    except pynetbox.RequestError as exc:
        raise DesignError([Problem(url, 0, "", error_text(exc) + what)]) from None
    except requests.RequestException as exc:
        raise DesignError(
            [
                Problem(
                    url,
                    0,
                    "",
                    f"cannot reach NetBox: {type(exc).__name__}: {str(exc)[:200]}{what}",
                )
            ]
        ) from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DesignError(
            [Problem(url, 0, "", f"unexpected NetBox response{what}: {str(exc)[:200]}")]
        ) from None
