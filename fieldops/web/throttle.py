"""Failed-login throttling: password guessing is slowed to a few tries per window.

A user name that failed ``max_failures`` times within ``window_s`` seconds is refused (429)
until its oldest failure in the window ages out, whatever password comes next; so is a client
address that failed ``max_failures_per_address`` times (one address guessing many names). A
successful login clears the name's failures. Per process: with ``serve --workers N`` an
attacker gets at most N times the tries, still a handful per window.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    MAX_KEYS = 100_000  # memory bound: beyond it the oldest-looking keys are dropped

    def __init__(
        self,
        *,
        max_failures: int = 10,
        max_failures_per_address: int = 50,
        window_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.limits = {"user": max_failures, "addr": max_failures_per_address}
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(user: str, address: str) -> list[tuple[str, str]]:
        return [("user", user.strip().lower()[:100]), ("addr", address or "?")]

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._failures.get(key)
        if q is None:
            return deque()
        while q and q[0] <= now - self.window_s:
            q.popleft()
        if not q:
            del self._failures[key]
        return q

    def retry_after_s(self, user: str, address: str) -> int:
        """0 when a login may be tried now, else the seconds until it may."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in self._keys(user, address):
                q = self._recent(key, now)
                if len(q) >= self.limits[key[0]]:
                    wait = max(wait, q[0] + self.window_s - now)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, user: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) >= self.MAX_KEYS:
                for key in list(self._failures)[: self.MAX_KEYS // 10]:
                    del self._failures[key]
            for key in self._keys(user, address):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._failures.pop(self._keys(user, "")[0], None)
