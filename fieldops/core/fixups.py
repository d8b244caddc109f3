"""Located fix-up work: where a step happens, what it frees and needs, and a safe order.

Pure (no I/O). Shared by as-built reconciliation (:mod:`fieldops.core.reconcile`) and design
revisions (:mod:`fieldops.core.revision`): a :class:`WorkItem` says what a step does (ops folded
into the as-built record once confirmed), where (a rack face, U and stand-off pose from
:class:`_Locator`), and which ports and U it frees and needs; :func:`order_steps` turns work items
into :class:`~fieldops.core.workorder.Step` values ordered so a port or U is freed before it is
re-used, merging moves that free each other's places (a rotation) into one step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from fieldops.core.asbuilt import AsBuilt, split_port
from fieldops.core.model import Design
from fieldops.core.ordering import topological_order
from fieldops.core.workorder import CONFIRM_MANUAL, Location, Part, Step

STANDOFF_MM = 600  # fallback stand-off distance in front of a rack face


def _pretty(port: str) -> str:
    device, name = split_port(port)
    return f"{device} {name}"


def _where(rack: str, position, face: str) -> str:
    u = f"U{position}" if position is not None else "zero-U"
    return f"{rack} {u} {face}"


# ---------------------------------------------------------------- locations


Standoff = Callable[[str, str], tuple[int, int, float]]


def face_standoff(design: Design) -> Standoff:
    """Stand-off pose ``(x_mm, y_mm, theta_deg)`` in front of a rack face, facing the rack:
    the face centre pushed ``STANDOFF_MM`` into the aisle (used when no walking graph is given)."""
    fp = design.floorplan
    racks = {r.name: r for r in fp.racks}

    def pose(rack_name: str, face: str) -> tuple[int, int, float]:
        rack = racks.get(rack_name)
        rt = fp.rack_types.get(rack.rack_type) if rack else None
        if rack is None or rt is None:
            return (0, 0, 0.0)
        x, y = rack.face_point(rt, face, STANDOFF_MM)
        nx, ny = rack.front_normal()
        sign = 1 if face == "front" else -1
        theta = math.degrees(math.atan2(-sign * ny, -sign * nx))
        return (round(x), round(y), round(theta, 3) % 360.0)

    return pose


def walk_standoff(design: Design) -> Standoff:
    """Stand-off poses from the walking graph (:class:`fieldops.core.walking.WalkGraph`),
    converted to degrees; :func:`face_standoff` where the graph cannot be built or asked. The
    graph is built at the first question (a hall without fix-ups never pays for it)."""
    fallback = face_standoff(design)
    graph: list = []  # [WalkGraph] once built, [None] when the floor cannot have one

    def pose(rack_name: str, face: str) -> tuple[int, int, float]:
        if not graph:
            try:
                from fieldops.core.walking import WalkGraph

                graph.append(WalkGraph(design))
            except Exception:  # a floor the walking graph rejects still gets located steps
                graph.append(None)
        if graph[0] is None:
            return fallback(rack_name, face)
        try:
            x, y, theta_rad = graph[0].standoff(rack_name, face)
        except (KeyError, ValueError):
            return fallback(rack_name, face)
        return (round(x), round(y), round(math.degrees(theta_rad), 3) % 360.0)

    return pose


def port_face(design: Design, port: str, fallback: str = "") -> str:
    """The rack face a ``device:port`` is worked from (the planner's rule, see
    :func:`fieldops.core.routing.port_face`)."""
    from fieldops.core.routing import port_face as planner_port_face

    device_name, port_name = split_port(port)
    dev = design.device(device_name)
    if dev is None:
        return fallback or "front"
    dt = design.device_types.get(dev.device_type)
    tmpl = dt.port(port_name) if dt else None
    if dt is None or tmpl is None:
        return dev.ports_face or dev.face
    return planner_port_face(dev, dt, tmpl)


class _Locator:
    def __init__(self, design: Design, asbuilt: AsBuilt, standoff: Standoff):
        self.design = design
        self.asbuilt = asbuilt
        self.standoff = standoff
        self.devices = design.device_index()
        self.racks = {r.name: r for r in design.floorplan.racks}

    def device_at(self, name: str, *, found: bool = False) -> tuple[str, int | None, str]:
        got = self.asbuilt.devices.get(name)
        want = self.devices.get(name)
        if found and got is not None:
            return got.rack, got.position, got.face
        if want is not None:
            return want.rack, want.position, want.face
        if got is not None:
            return got.rack, got.position, got.face
        return "", None, "front"

    def location(self, rack: str, u: int | None, face: str) -> Location:
        fp = self.design.floorplan
        r = self.racks.get(rack)
        loc_id = fp.grid.location_id(*r.position) if r else ""
        x, y, theta = self.standoff(rack, face) if r else (0, 0, 0.0)
        return Location(
            rack=rack,
            location_id=loc_id,
            face=face,
            u=u,
            x_mm=int(x),
            y_mm=int(y),
            theta_deg=float(theta),
        )

    def port(self, port: str, *, found: bool = True) -> Location:
        rack, u, face = self.device_at(split_port(port)[0], found=found)
        return self.location(rack, u, port_face(self.design, port, face))

    def port_text(self, port: str) -> str:
        device, name = split_port(port)
        rack, u, face = self.device_at(device, found=True)
        where = f" ({_where(rack, u, port_face(self.design, port, face))})" if rack else ""
        return f"{device} {name}{where}"


# ---------------------------------------------------------------- fix-up steps


@dataclass
class WorkItem:
    key: str  # step ID suffix
    title: str
    instruction: str
    location: Location
    ops: list
    confirm: str = CONFIRM_MANUAL
    expect: tuple[str, ...] = ()
    parts: tuple[Part, ...] = ()
    drift: str = ""
    frees: set = field(default_factory=set)  # ports and ("U", rack, u) freed
    needs: set = field(default_factory=set)  # ports and ("U", rack, u) needed
    duration_s: float = 120.0
    after: set = field(default_factory=set)  # keys of work items that must be done first


def _device_units(design: Design, name: str, rack: str, position: int | None) -> set:
    if position is None or not rack:
        return set()
    dev = design.device(name)
    dt = design.device_types.get(dev.device_type) if dev else None
    height = dt.units if dt else 1
    return {("U", rack, u) for u in range(position, position + height)}


def _occupancy(design: Design, ab: AsBuilt) -> dict:
    """What holds each port and U now (ports -> cable ref, ("U", rack, u) -> device)."""
    occ: dict = dict(ab.port_map())
    for name, got in ab.devices.items():
        for slot in _device_units(design, name, got.rack, got.position):
            occ[slot] = name
    return occ


def order_steps(
    works: list[WorkItem], occupancy: dict, *, phase: str = "fixup", prefix: str = "fixup"
) -> tuple[Step, ...]:
    """Steps with dependencies (a port or U is freed before it is used), cycles merged into one
    step (a rotation of cables or devices is done in one visit), in a deterministic safe order."""
    freer: dict = {}
    for i, w in enumerate(works):
        for slot in w.frees:
            freer.setdefault(slot, i)
    edges: dict[int, set[int]] = {i: set() for i in range(len(works))}  # i depends on j
    by_key = {w.key: i for i, w in enumerate(works)}
    for i, w in enumerate(works):
        edges[i].update(by_key[k] for k in w.after if k in by_key and by_key[k] != i)
    for i, w in enumerate(works):
        for slot in w.needs:
            if slot in occupancy and slot in freer and freer[slot] != i:
                edges[i].add(freer[slot])
    comps = _scc(len(works), edges)
    comp_of = {i: ci for ci, comp in enumerate(comps) for i in comp}
    merged: list[WorkItem] = []
    for comp in comps:
        if len(comp) == 1:
            merged.append(works[comp[0]])
            continue
        members = sorted((works[i] for i in comp), key=lambda w: w.key)
        merged.append(
            WorkItem(
                members[0].key + f"+{len(members) - 1}",
                "Re-seat in one visit: " + "; ".join(m.title for m in members),
                " Then: ".join(m.instruction for m in members)
                + " (These moves free each other's places: take all out first, then put all in.)",
                members[0].location,
                [op for m in members for op in m.ops],
                members[0].confirm,
                tuple(sorted({c for m in members for c in m.expect})),
                tuple(p for m in members for p in m.parts),
                "+".join(sorted({m.drift for m in members})),
                duration_s=sum(m.duration_s for m in members),
            )
        )
    deps: dict[int, set[int]] = {ci: set() for ci in range(len(comps))}
    for i, js in edges.items():
        for j in js:
            if comp_of[i] != comp_of[j]:
                deps[comp_of[i]].add(comp_of[j])
    ids = [f"{prefix}-{w.key}" for w in merged]

    def sort_key(ci: int):
        w = merged[ci]
        return (
            w.location.rack,
            w.location.face,
            w.location.u if w.location.u is not None else -1,
            ids[ci],
        )

    # the components form no cycle: each cycle was merged into one step above
    done = topological_order([sorted(deps[ci]) for ci in range(len(comps))], key=sort_key)
    steps = []
    for ci in done:
        w = merged[ci]
        steps.append(
            Step(
                id=ids[ci],
                phase=phase,
                kind="fixup",
                title=w.title,
                instruction=w.instruction,
                location=w.location,
                confirm=w.confirm,
                expect_codes=w.expect,
                parts=w.parts,
                depends_on=tuple(sorted(ids[cj] for cj in deps[ci])),
                duration_s=w.duration_s,
                action={"type": "fixup", "reason": w.drift, "ops": w.ops},
                group=w.location.rack,
            )
        )
    return tuple(steps)


def _scc(n: int, edges: Mapping[int, Iterable[int]]) -> list[list[int]]:
    """Strongly connected components (scipy's csgraph), each sorted, in a stable order."""
    if n == 0:
        return []
    rows = [i for i, js in edges.items() for _ in js]
    cols = [j for js in edges.values() for j in js]
    graph = csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=True, connection="strong")
    comps: dict[int, list[int]] = {}
    for i, label in enumerate(labels.tolist()):
        comps.setdefault(label, []).append(i)
    return sorted(comps.values())


# ---------------------------------------------------------------- work-order document


def build_fixup_workorders(steps: Iterable[Step], *, prefix: str = "WO-FIXUP") -> tuple:
    """One work order per rack, steps in the given (safe) order."""
    from fieldops.core.workorder import WorkOrder

    per_rack: dict[str, list[str]] = {}
    for s in steps:
        per_rack.setdefault(s.location.rack or "-", []).append(s.id)
    return tuple(
        WorkOrder(f"{prefix}-{rack}", f"Fix-ups in rack {rack}", "", 0, rack, tuple(ids))
        for rack, ids in sorted(per_rack.items())
    )


def workorders_document(design: Design, steps: Iterable[Step], *, prefix: str = "WO-FIXUP") -> dict:
    """The ``workorders.json`` document (the current schema) for fix-up steps, so they flow
    into the same store, PDFs, tablet app and robot feed as day-0 steps."""
    from dataclasses import asdict

    from fieldops.core.floor import build_floor
    from fieldops.core.workorder import SCHEMA_VERSION, step_to_dict

    steps = list(steps)
    return {
        "schema": f"fieldops.workorders/{SCHEMA_VERSION}",
        "design": {"name": design.name, "revision": design.revision, "hall": design.floorplan.name},
        "team": [],
        "floor": build_floor(design),
        "steps": [step_to_dict(s) for s in steps],
        "workorders": [asdict(w) for w in build_fixup_workorders(steps, prefix=prefix)],
        "schedule": {
            "makespan_s": sum(s.duration_s for s in steps),
            "critical_path": [],
            "critical_path_s": 0.0,
            "walking_m": {},
        },
    }


def fixup_index(steps: Iterable[Step]) -> dict[str, str]:
    """Cable reference, device name or label code -> the ID of the step whose ops touch it."""
    out: dict[str, str] = {}
    for s in steps:
        for op in (s.action or {}).get("ops", ()):
            for key in ("cable", "device", "code"):
                if isinstance(op, Mapping) and op.get(key):
                    out.setdefault(str(op[key]), s.id)
    return out
