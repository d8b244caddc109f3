"""Helpers shared by the benchmark scripts (run from the repo root or anywhere: each script puts
the repo root on ``sys.path`` first, then imports ``benchmarks.common`` and the synthetic halls
of ``tests/samples_routing.py``, the one place sample halls are built, so tests exercise the
same builder at small sizes that the benchmarks run at 1,000 racks)."""

from __future__ import annotations

import os
import resource


def rss_mb() -> float:
    """The process's peak resident memory so far, in MB (``ru_maxrss``)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_note() -> str:
    """The 1-minute load average against the core count: wall times suffer when others run."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
