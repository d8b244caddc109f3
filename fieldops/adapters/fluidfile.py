"""The fluid side file (``fluid:`` in design.yaml, ``fluid.yaml``): fluid ports and cooling
roles of device types, and the loop tests' pass rules.

A side file, so the device types stay exactly as the NetBox devicetype-library schema has them
(it has no fluid ports): ports are added to the loaded :class:`DeviceType` here, never written
back. Format and a complete example: docs/formats.md#fluid-network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from fieldops.adapters.yamlfile import Fields, display_path, read_yaml
from fieldops.core.model import (
    COOLING_ROLES,
    FLUID_LEGS,
    FLUID_PORT,
    DeviceType,
    FluidRules,
    PortTemplate,
)
from fieldops.core.problems import DesignError, Problem

_RANGE = re.compile(r"\{(\d+)\.\.(\d+)\}")
MAX_PORTS = 1_000


@dataclass
class FluidSide:
    """What a fluid side file adds: ports and cooling role per device type slug, and rules."""

    ports: dict[str, tuple[PortTemplate, ...]] = field(default_factory=dict)
    cooling: dict[str, str] = field(default_factory=dict)
    rules: FluidRules = FluidRules()


def expand_names(pattern: str) -> list[str]:
    """``S{1..3}`` -> ``['S1', 'S2', 'S3']``; one range at most, else the name itself.

    >>> expand_names("lc-s{1..2}")
    ['lc-s1', 'lc-s2']
    """
    m = _RANGE.search(pattern)
    if not m:
        return [pattern]
    lo, hi = int(m.group(1)), int(m.group(2))
    if hi < lo or hi - lo >= MAX_PORTS:
        return []
    return [pattern[: m.start()] + str(i) + pattern[m.end() :] for i in range(lo, hi + 1)]


def parse_fluid(data, file: str, problems: list[Problem]) -> FluidSide:
    f = Fields(data, file, "", problems)
    side = FluidSide()
    types = f.map("device_types", required=True)
    for slug in types:
        tf = Fields(
            types[slug], file, f"device_types.{slug}", problems, line=f.line_of("device_types")
        )
        role = tf.str("cooling", choices=COOLING_ROLES)
        ports: list[PortTemplate] = []
        for pf in tf.each("ports", required=True, max_items=MAX_PORTS):
            name = pf.str("name", max_len=64)
            leg = pf.str("leg", choices=FLUID_LEGS)
            connector = pf.str("connector", "", required=False, max_len=40) or ""
            pf.unknown()
            names = expand_names(name) if name else []
            if name and not names:
                pf.error(
                    "name", f"bad range in '{name}' (expected {{first..last}}, at most {MAX_PORTS})"
                )
            if leg:
                ports.extend(PortTemplate(n, FLUID_PORT, connector, fluid_leg=leg) for n in names)
        tf.unknown()
        if role:
            side.cooling[str(slug)] = role
        side.ports[str(slug)] = tuple(ports)
    t = Fields(f.map("tests"), file, "tests", problems, line=f.line_of("tests"))
    side.rules = FluidRules(
        test_kpa=t.number("test_kpa", 700.0, required=False, low=1, high=5_000),
        hold_min=t.number("hold_min", 30.0, required=False, low=1, high=1_440),
        max_drop_kpa=t.number("max_drop_kpa", 10.0, required=False, low=0, high=1_000),
        max_leaks=t.int("max_leaks", 0, required=False, low=0, high=100),
        source=t.source(),
        min_flow_lpm=t.number("min_flow_lpm", 0.0, required=False, low=0, high=100_000),
        max_supply_c=t.number("max_supply_c", 45.0, required=False, low=-50, high=150),
        max_return_c=t.number("max_return_c", 65.0, required=False, low=-50, high=150),
        max_rise_k=t.number("max_rise_k", 20.0, required=False, low=0, high=200),
    )
    t.unknown()
    f.unknown()
    return side


def load_fluid(path: Path, problems: list[Problem], base: Path | None = None) -> FluidSide:
    label = display_path(path, base)
    try:
        return parse_fluid(read_yaml(path, label), label, problems)
    except DesignError as exc:
        problems.extend(exc.problems)
        return FluidSide()


def apply_fluid(
    device_types: dict[str, DeviceType], side: FluidSide, file: str, problems: list[Problem]
) -> dict[str, DeviceType]:
    """Device types with the side file's fluid ports and cooling roles; a warning for a slug no
    device type has, an error for a fluid port named like one of the type's own ports."""
    out = dict(device_types)
    for slug, ports in side.ports.items():
        dt = out.get(slug)
        if dt is None:
            problems.append(
                Problem(
                    file, 0, f"device_types.{slug}", f"no device type '{slug}' (ignored)", "warning"
                )
            )
            continue
        clash = sorted({p.name for p in ports} & {p.name for p in dt.ports})
        if clash:
            problems.append(
                Problem(
                    file,
                    0,
                    f"device_types.{slug}",
                    f"fluid port(s) {', '.join(clash[:5])} already named in the device type",
                )
            )
            continue
        out[slug] = replace(dt, ports=dt.ports + ports, cooling=side.cooling.get(slug, ""))
    return out
