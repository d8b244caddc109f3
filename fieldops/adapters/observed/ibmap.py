"""The InfiniBand map (``fieldops/data/infiniband.yaml``, and ``--ib-map FILE`` on top): which
device types are InfiniBand switches and how they number their ports; which HCA is which host
port. Format: docs/reconcile.md#infiniband."""

from __future__ import annotations

from pathlib import Path

from fieldops.adapters.yamlfile import Fields, read_yaml
from fieldops.core.model import frozen_map
from fieldops.core.observation import InfinibandMap, SwitchNumbering
from fieldops.core.problems import DesignError, Problem

BUILTIN = Path(__file__).resolve().parents[2] / "data" / "infiniband.yaml"


def load_ib_map(path: Path | None = None) -> InfinibandMap:
    """The bundled map, with ``path``'s entries over it (per device type); DesignError on any
    problem in either file."""
    switches, hcas = _read(BUILTIN, "fieldops/data/infiniband.yaml")
    if path is not None:
        more_switches, more_hcas = _read(path, str(path))
        switches.update(more_switches)
        hcas.update(more_hcas)
    return InfinibandMap(frozen_map(switches), frozen_map(hcas))


def _read(path: Path, label: str) -> tuple[dict, dict]:
    data = read_yaml(path, label)
    problems: list[Problem] = []
    if data is None:
        data = {}
    f = Fields(data, label, "", problems)
    switches: dict[str, SwitchNumbering] = {}
    sw = f.map("switches")
    for slug in sw:
        s = Fields(
            sw[slug] if sw[slug] is not None else {},
            label,
            f"switches.{slug}",
            problems,
            line=sw.line_of(slug) if hasattr(sw, "line_of") else 0,
        )
        ports_raw = s.map("ports")
        ports: dict[int, str] = {}
        for k, v in ports_raw.items():
            if (
                isinstance(k, bool)
                or not isinstance(k, int)
                or k < 1
                or not isinstance(v, str)
                or not v
            ):
                s.error(
                    "ports",
                    f"ports maps a port number (1, 2, ...) to a port name; got {k!r}: {v!r}",
                )
                continue
            ports[k] = v
        numbering = SwitchNumbering(
            pattern=s.str("pattern", "", max_len=100),
            lanes=s.int("lanes", 1, low=1, high=16),
            first_cage=s.int("first_cage", 1, low=0, high=1000),
            first_lane=s.int("first_lane", 1, low=0, high=1000),
            ports=frozen_map(ports),
        )
        if numbering.pattern:
            try:
                numbering.pattern.format(port=1, cage=1, lane=1)
            except (KeyError, IndexError, ValueError) as exc:
                s.error(
                    "pattern",
                    f"use {{port}}, {{cage}} and {{lane}} only ({type(exc).__name__}: {exc})",
                )
        s.unknown()
        switches[str(slug)] = numbering
    hcas: dict[str, dict[str, str]] = {}
    hm = f.map("hcas")
    for slug in hm:
        entry = hm[slug] if hm[slug] is not None else {}
        if not isinstance(entry, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in entry.items()
        ):
            problems.append(
                Problem(
                    label,
                    hm.line_of(slug) if hasattr(hm, "line_of") else 0,
                    f"hcas.{slug}",
                    "expected HCA name -> port name, e.g. {mlx5_0: ib0}",
                )
            )
            continue
        hcas[str(slug)] = frozen_map(dict(entry))
    f.unknown()
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise DesignError(errors)
    return switches, hcas
