"""Drift between the as-built hall and its design, and the located fix-up steps that remove it.

Pure (no I/O). The pieces:

* :class:`Observations`: link-neighbour pairs seen by LLDP (or a CSV), and which devices
  reported (every port of a reporter was looked at, so a designed link missing there is real);
* :func:`merge_observed`: the as-built record with the observations laid over it;
* :func:`build_drift`: per cable and per device, one of ``CABLE_STATUSES`` /
  ``DEVICE_STATUSES``, with counts, and the as-built record with every cable's identity
  resolved (which designed cable each physical link is taken to be);
* :func:`build_fixups`: every mismatch as ordinary :class:`~fieldops.core.workorder.Step`
  values (phase and kind ``fixup``), located at a rack face and U with a stand-off pose, ordered
  so that a port or U is freed before it is re-used. Each step's ``action["ops"]`` is what
  :func:`fieldops.core.asbuilt.apply` folds into the record once the step is confirmed, so the
  fixed record matches the design.

Cable drift, for designed cables A = ``srv1:eth0 -- sw1:swp1`` and B = ``srv2:eth0 -- sw1:swp2``::

    as_designed  [srv1:eth0] --A-- [sw1:swp1]
    missing      [srv1:eth0]       [sw1:swp1]          (nothing seen where A should be)
    wrong_port   [srv1:eth0] --A-- [sw1:swp5]          (one end right, the other elsewhere)
    swapped      [srv1:eth0] --A-- [sw1:swp2]  and  [srv2:eth0] --B-- [sw1:swp1]
    mislabelled  [srv1:eth0] --B-- [sw1:swp1]          (A's ports, but it carries B's label)
    unexpected   [srv1:eth1] ----- [sw1:swp7]          (a link the design does not have)
    unobserved   neither end's device reported and no as-built record covers it
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from fieldops.core.asbuilt import (
    AsBuilt,
    is_unknown,
    split_port,
    unknown_ref,
    with_cables,
)
from fieldops.core.labels import assign_cable_ids
from fieldops.core.model import Design
from fieldops.core.ordering import topological_order
from fieldops.core.workorder import (
    CONFIRM_MANUAL,
    CONFIRM_SCAN_ASSET,
    CONFIRM_SCAN_LABEL,
    Location,
    Part,
    Step,
)

SCHEMA = "fieldops.drift/1.0"
CABLE_STATUSES = (
    "as_designed",
    "mislabelled",
    "missing",
    "swapped",
    "wrong_port",
    "unexpected",
    "unobserved",
)
DEVICE_STATUSES = ("as_designed", "wrong_u", "missing", "unexpected", "unobserved")
DRIFT_CABLE = ("mislabelled", "missing", "swapped", "wrong_port", "unexpected")
DRIFT_DEVICE = ("wrong_u", "missing", "unexpected")
STANDOFF_MM = 600  # fallback stand-off distance in front of a rack face


# ---------------------------------------------------------------- observations


@dataclass(frozen=True, slots=True)
class Observations:
    """Neighbour links seen in the hall. ``links`` are sorted ``(a, b)`` port pairs."""

    hall: str = ""
    reporters: frozenset[str] = frozenset()
    links: tuple[tuple[str, str], ...] = ()


def merge_observed(asbuilt: AsBuilt, obs: Observations) -> AsBuilt:
    """The record with the observations laid over it: on every reporter's ports and every
    observed port, what was seen wins. A seen link that the record already holds keeps its
    cable ID; a seen link on a port where the record had a labelled cable takes that label."""
    observed = {tuple(sorted(link)) for link in obs.links}
    seen_ports = {p for link in observed for p in link}
    cables: dict[str, tuple[str, ...]] = {}
    dropped: dict[str, str] = {}  # port -> ref of a record cable that the observation replaced
    for ref, ends in asbuilt.cables.items():
        touched = any(p in seen_ports or split_port(p)[0] in obs.reporters for p in ends)
        if not touched:
            cables[ref] = ends
        elif len(ends) == 2 and tuple(ends) in observed:
            cables[ref] = ends
            observed.discard(tuple(ends))
        else:
            for p in ends:
                dropped[p] = ref
    used = set(cables)
    for a, b in sorted(observed):
        ref = next(
            (
                dropped[p]
                for p in (a, b)
                if p in dropped and not is_unknown(dropped[p]) and dropped[p] not in used
            ),
            None,
        )
        ref = ref or unknown_ref(a, b)
        used.add(ref)
        cables[ref] = (a, b)
    return with_cables(asbuilt, cables)


# ---------------------------------------------------------------- drift


@dataclass(frozen=True, slots=True)
class CableDrift:
    cable: str  # designed cable ID; for unexpected links the observed reference
    status: str  # one of CABLE_STATUSES
    designed: tuple[str, ...] = ()  # designed ends (sorted); () for unexpected
    observed: tuple[str, ...] = ()  # ends as found; () when missing or unobserved
    partner: str = ""  # swapped: the other cable; mislabelled: the label it carries
    moves: tuple[tuple[str, str], ...] = ()  # (from port, to port) that put it right
    message: str = ""

    def to_dict(self) -> dict:
        return {
            "cable": self.cable,
            "status": self.status,
            "designed": list(self.designed),
            "observed": list(self.observed),
            "partner": self.partner,
            "moves": [list(m) for m in self.moves],
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class DeviceDrift:
    device: str
    status: str  # one of DEVICE_STATUSES
    designed: tuple = ()  # (rack, position, face)
    observed: tuple = ()
    message: str = ""

    def to_dict(self) -> dict:
        return {
            "device": self.device,
            "status": self.status,
            "designed": list(self.designed),
            "observed": list(self.observed),
            "message": self.message,
        }


@dataclass(frozen=True)
class DriftReport:
    design: str
    revision: str
    hall: str
    cables: tuple[CableDrift, ...]
    devices: tuple[DeviceDrift, ...]
    resolved: AsBuilt  # the as-built record with each link's identity decided
    cable_ids: Mapping = field(default_factory=dict, compare=False)

    @property
    def counts(self) -> dict:
        c = {s: 0 for s in CABLE_STATUSES}
        for d in self.cables:
            c[d.status] += 1
        v = {s: 0 for s in DEVICE_STATUSES}
        for d in self.devices:
            v[d.status] += 1
        return {
            "cables": c,
            "devices": v,
            "drift": sum(c[s] for s in DRIFT_CABLE) + sum(v[s] for s in DRIFT_DEVICE),
        }

    @property
    def has_drift(self) -> bool:
        return self.counts["drift"] > 0

    def drifted(self) -> list:
        return [d for d in self.cables if d.status in DRIFT_CABLE] + [
            d for d in self.devices if d.status in DRIFT_DEVICE
        ]

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "design": {"name": self.design, "revision": self.revision, "hall": self.hall},
            "counts": self.counts,
            "cables": [d.to_dict() for d in self.cables],
            "devices": [d.to_dict() for d in self.devices],
        }

    def summary_lines(self) -> list[str]:
        c = self.counts
        cab = ", ".join(f"{s.replace('_', ' ')} {n}" for s, n in c["cables"].items() if n)
        dev = ", ".join(f"{s.replace('_', ' ')} {n}" for s, n in c["devices"].items() if n)
        lines = [f"cables: {cab or 'none'}", f"devices: {dev or 'none'}"]
        lines += [f"  {d.message}" for d in self.drifted()]
        return lines


def _pretty(port: str) -> str:
    device, name = split_port(port)
    return f"{device} {name}"


def _other(ends: tuple[str, str], port: str) -> str:
    return ends[1] if ends[0] == port else ends[0]


def build_drift(
    design: Design,
    asbuilt: AsBuilt,
    *,
    scope: frozenset[str] | None = None,
    devices_recorded: bool = True,
    cable_ids: Mapping[tuple[str, str], str] | None = None,
) -> DriftReport:
    """Compare the as-built record (observations already merged) with the design.

    Parameters
    ----------
    scope:
        Devices whose ports were observed. A designed cable with neither end on one of them is
        ``unobserved`` rather than missing. ``None``: every cable is in scope (a full as-built
        record).
    devices_recorded:
        Whether the record's devices are meaningful (an as-built record was given); otherwise
        designed devices absent from it are ``unobserved``, not missing.

    Examples
    --------
    >>> # r = build_drift(design, merge_observed(AsBuilt(), obs), scope=obs.reporters)
    >>> # r.counts["cables"]["swapped"]
    """
    ids = dict(cable_ids) if cable_ids is not None else assign_cable_ids(design.cables)[0]
    dends: dict[str, tuple[str, str]] = {ids[c.key]: c.key for c in design.cables}
    dport = {p: cid for cid, ends in dends.items() for p in ends}
    links = asbuilt.links()
    remaining = {i: link for i, link in enumerate(links)}
    at_port: dict[str, int] = {}
    for i, (a, b, _) in remaining.items():
        at_port[a] = i
        at_port[b] = i
    matched: set[str] = set()
    out: list[CableDrift] = []
    resolved: dict[str, tuple[str, ...]] = {}

    def take(i: int, ref: str) -> None:
        a, b, _ = remaining.pop(i)
        del at_port[a], at_port[b]
        resolved[ref] = (a, b)

    # 1. in the designed ports: as designed, or carrying another label (a technician reading
    # the label would take it for another cable: the label is replaced)
    for i, (a, b, ref) in sorted(remaining.items()):
        cid = dport.get(a)
        if cid is not None and dport.get(b) == cid and cid not in matched:
            matched.add(cid)
            if is_unknown(ref) or ref == cid:
                drift = CableDrift(
                    cid, "as_designed", dends[cid], (a, b), message=f"{cid} as designed"
                )
            else:
                msg = f"{cid} mislabelled: the cable in {_pretty(a)} -- {_pretty(b)} carries the label {ref}"
                drift = CableDrift(cid, "mislabelled", dends[cid], (a, b), ref, message=msg)
            out.append(drift)
            take(i, cid)

    # 2. swapped: two cables whose ends were exchanged
    for i in sorted(remaining):
        if i not in remaining:
            continue
        a, b, ref = remaining[i]
        for x, y in ((a, b), (b, a)):
            c1, c2 = dport.get(x), dport.get(y)
            if not c1 or not c2 or c1 == c2 or c1 in matched or c2 in matched:
                continue
            x1, y1 = _other(dends[c1], x), _other(dends[c2], y)
            j = at_port.get(x1)
            if j is None or j == i or {remaining[j][0], remaining[j][1]} != {x1, y1}:
                continue
            ref2 = remaining[j][2]
            # option A: exchange ports y and x1 (the cable at x is c1); B: exchange x and y1
            if ref in (c1,) or ref2 in (c2,):
                option_a = True
            elif ref in (c2,) or ref2 in (c1,):
                option_a = False
            else:
                score_a = (
                    split_port(y)[0] == split_port(x1)[0],
                    _rack(design, y) == _rack(design, x1),
                )
                score_b = (
                    split_port(x)[0] == split_port(y1)[0],
                    _rack(design, x) == _rack(design, y1),
                )
                option_a = score_a >= score_b
            if option_a:
                m1, m2 = ((y, x1),), ((x1, y),)
                p, q = y, x1
            else:
                m1, m2 = ((y1, x),), ((x, y1),)
                p, q = x, y1
            obs1 = tuple(sorted((x, y))) if option_a else tuple(sorted((x1, y1)))
            obs2 = tuple(sorted((x1, y1))) if option_a else tuple(sorted((x, y)))
            msg = (
                f"{c1} and {c2} swapped: their ends at {_pretty(p)} and {_pretty(q)} are exchanged"
            )
            out.append(CableDrift(c1, "swapped", dends[c1], obs1, c2, m1, msg))
            out.append(CableDrift(c2, "swapped", dends[c2], obs2, c1, m2, msg))
            matched.update((c1, c2))
            take(i, c1 if option_a else c2)
            take(j, c2 if option_a else c1)
            break

    # 3. wrong port: one end right, the other elsewhere
    for i in sorted(remaining):
        a, b, ref = remaining[i]
        candidates = []
        for x, y in ((a, b), (b, a)):
            cid = dport.get(x)
            if cid and cid not in matched:
                w = _other(dends[cid], x)
                candidates.append((ref != cid, split_port(y)[0] != split_port(w)[0], cid, y, w, x))
        if not candidates:
            continue
        _, _, cid, y, w, x = min(candidates)
        matched.add(cid)
        where = "port" if split_port(y)[0] == split_port(w)[0] else "device"
        msg = f"{cid} wrong {where}: the end at {_pretty(y)} belongs in {_pretty(w)} (other end {_pretty(x)} is right)"
        out.append(CableDrift(cid, "wrong_port", dends[cid], (a, b), moves=((y, w),), message=msg))
        take(i, cid)

    # 4. unexpected links (a label on one is kept in the message, not as its identity)
    for _i, (a, b, ref) in sorted(remaining.items()):
        urf = unknown_ref(a, b)
        note = f" (labelled {ref})" if not is_unknown(ref) else ""
        out.append(
            CableDrift(
                urf,
                "unexpected",
                (),
                (a, b),
                message=f"unexpected link {_pretty(a)} -- {_pretty(b)}{note}: not in the design",
            )
        )
        resolved[urf] = (a, b)

    # loose ends: half-plugged cables from the record
    for ref, port in asbuilt.loose_ends():
        if ref in dends and ref not in matched:
            resolved[ref] = (port,)  # handled as missing below (the step re-runs it)
        else:
            urf = f"?{port}~"
            resolved[urf] = (port,)
            out.append(
                CableDrift(
                    urf,
                    "unexpected",
                    (),
                    (port,),
                    message=f"loose cable end at {_pretty(port)}{'' if is_unknown(ref) else f' (labelled {ref})'}: not in the design",
                )
            )

    # 5. designed cables nobody has seen
    for cid, ends in sorted(dends.items()):
        if cid in matched:
            continue
        in_scope = scope is None or any(split_port(p)[0] in scope for p in ends)
        if in_scope:
            half = (
                f" ({cid} is plugged at {_pretty(resolved[cid][0])} only)"
                if cid in resolved
                else ""
            )
            out.append(
                CableDrift(
                    cid,
                    "missing",
                    ends,
                    resolved.get(cid, ()),
                    message=f"{cid} missing: {_pretty(ends[0])} -- {_pretty(ends[1])}{half}",
                )
            )
        else:
            out.append(CableDrift(cid, "unobserved", ends, message=f"{cid} not observed"))

    devices = _device_drift(design, asbuilt, devices_recorded)
    out.sort(key=lambda d: (CABLE_STATUSES.index(d.status), d.cable))
    resolved_ab = with_cables(asbuilt, resolved)
    return DriftReport(
        design.name, design.revision, design.floorplan.name, tuple(out), devices, resolved_ab, ids
    )


def _rack(design: Design, port: str) -> str:
    dev = design.device(split_port(port)[0])
    return dev.rack if dev else ""


def _where(rack: str, position, face: str) -> str:
    u = f"U{position}" if position is not None else "zero-U"
    return f"{rack} {u} {face}"


def _device_drift(design: Design, asbuilt: AsBuilt, recorded: bool) -> tuple[DeviceDrift, ...]:
    out = []
    for d in sorted(design.devices, key=lambda d: d.name):
        want = (d.rack, d.position, d.face)
        got = asbuilt.devices.get(d.name)
        if got is None:
            status = "missing" if recorded else "unobserved"
            msg = (
                f"{d.name} missing: designed at {_where(*want)}"
                if recorded
                else f"{d.name} not observed"
            )
            out.append(DeviceDrift(d.name, status, want, (), msg))
            continue
        have = (got.rack, got.position, got.face)
        if have == want:
            out.append(DeviceDrift(d.name, "as_designed", want, have, f"{d.name} as designed"))
        else:
            out.append(
                DeviceDrift(
                    d.name,
                    "wrong_u",
                    want,
                    have,
                    f"{d.name} in the wrong place: found at {_where(*have)}, designed at {_where(*want)}",
                )
            )
    names = {d.name for d in design.devices}
    for name, got in sorted(asbuilt.devices.items()):
        if name not in names:
            have = (got.rack, got.position, got.face)
            out.append(
                DeviceDrift(
                    name,
                    "unexpected",
                    (),
                    have,
                    f"unexpected device {name} at {_where(*have)}: not in the design",
                )
            )
    out.sort(key=lambda d: (DEVICE_STATUSES.index(d.status), d.device))
    return tuple(out)


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
    converted to degrees; :func:`face_standoff` where the graph cannot be built or asked."""
    fallback = face_standoff(design)
    try:
        from fieldops.core.walking import WalkGraph

        graph = WalkGraph(design)
    except Exception:  # a floor the walking graph rejects still gets located steps
        return fallback

    def pose(rack_name: str, face: str) -> tuple[int, int, float]:
        try:
            x, y, theta_rad = graph.standoff(rack_name, face)
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


def build_fixups(
    design: Design, report: DriftReport, *, standoff: Standoff | None = None
) -> tuple[Step, ...]:
    """Located fix-up steps for every drift item, in a safe order (dependencies set).

    Applying ``StepDone(step.id, step.action)`` for every step, in order, to
    ``report.resolved`` gives a record that :func:`build_drift` finds free of drift.
    """
    loc = _Locator(design, report.resolved, standoff or walk_standoff(design))
    works: list[WorkItem] = []
    media_by_key = {c.key: c.media for c in design.cables}
    swapped_done: set[str] = set()
    by_cable = {d.cable: d for d in report.cables}
    for d in report.cables:
        if d.status == "missing":
            a, b = d.designed
            media = media_by_key.get(d.designed, "")
            ops = []
            if d.observed:  # half plugged: take it out and run it again
                ops.append({"op": "remove_cable", "cable": d.cable})
            ops.append({"op": "connect", "cable": d.cable, "a": a, "b": b})
            works.append(
                WorkItem(
                    f"{d.cable}",
                    f"Run missing cable {d.cable}",
                    f"Run {d.cable}{f' ({media})' if media else ''} from {loc.port_text(a)} to {loc.port_text(b)}; "
                    f"plug both ends and scan the label at each end.",
                    loc.port(a, found=False),
                    ops,
                    CONFIRM_SCAN_LABEL,
                    (d.cable,),
                    (Part("cable", d.cable, sku=""),),
                    "missing",
                    needs={a, b} - set(d.observed),
                    frees=set(),
                    duration_s=600.0,
                )
            )
        elif d.status == "wrong_port":
            ((src, dst),) = d.moves
            sd, sp = split_port(src)
            dd, dp = split_port(dst)
            target = dp if sd == dd else f"{dd} {dp}"
            works.append(
                WorkItem(
                    d.cable,
                    f"Move {d.cable} from {sd} {sp} to {target}",
                    f"Unplug {d.cable} from {sd} {sp}, plug into {target}, re-scan.",
                    loc.port(dst if sd != dd else src),
                    [
                        {"op": "unplug", "cable": d.cable, "port": src},
                        {"op": "plug", "cable": d.cable, "port": dst},
                    ],
                    CONFIRM_SCAN_LABEL,
                    (d.cable,),
                    drift="wrong_port",
                    frees={src},
                    needs={dst},
                )
            )
        elif d.status == "swapped" and d.cable not in swapped_done:
            other = by_cable[d.partner]
            swapped_done.update((d.cable, d.partner))
            ((p, q),) = d.moves
            c1, c2 = sorted((d.cable, other.cable))
            works.append(
                WorkItem(
                    f"{c1}-{c2}",
                    f"Exchange swapped cables {d.cable} and {other.cable}",
                    f"Unplug {d.cable} from {_pretty(p)} and {other.cable} from {_pretty(q)}; "
                    f"plug {d.cable} into {_pretty(q)} and {other.cable} into {_pretty(p)}; re-scan both labels.",
                    loc.port(p),
                    [
                        {"op": "unplug", "cable": d.cable, "port": p},
                        {"op": "unplug", "cable": other.cable, "port": q},
                        {"op": "plug", "cable": d.cable, "port": q},
                        {"op": "plug", "cable": other.cable, "port": p},
                    ],
                    CONFIRM_SCAN_LABEL,
                    (c1, c2),
                    drift="swapped",
                )
            )
        elif d.status == "mislabelled":
            a, b = d.designed
            works.append(
                WorkItem(
                    d.cable,
                    f"Relabel {d.cable} (it carries {d.partner})",
                    f"The cable from {loc.port_text(a)} to {loc.port_text(b)} is {d.cable} but carries the "
                    f"label {d.partner}. Leave it plugged; print {d.cable}'s labels, replace the label "
                    f"at each end ({d.cable}/A at {_pretty(a)}, {d.cable}/B at {_pretty(b)}) and scan both.",
                    loc.port(a),
                    [{"op": "label", "code": d.cable, "port": p} for p in (a, b)],
                    CONFIRM_SCAN_LABEL,
                    (d.cable,),
                    (Part("label", d.cable, sku=""),),
                    "mislabelled",
                    duration_s=180.0,
                )
            )
        elif d.status == "unexpected":
            ends = d.observed
            if len(ends) == 2:
                text = f"Unplug the cable between {loc.port_text(ends[0])} and {loc.port_text(ends[1])} at both ends and remove it (not in the design)."
            else:
                text = f"Unplug the loose cable end at {loc.port_text(ends[0])} and remove the cable (not in the design)."
            works.append(
                WorkItem(
                    "X-" + "-".join(e.replace(":", "-") for e in ends),
                    f"Remove unexpected cable at {_pretty(ends[0])}",
                    text,
                    loc.port(ends[0]),
                    [{"op": "remove_cable", "cable": d.cable}],
                    CONFIRM_MANUAL,
                    drift="unexpected",
                    frees=set(ends),
                    duration_s=300.0,
                )
            )
    for d in report.devices:
        if d.status not in DRIFT_DEVICE:
            continue
        dev = design.device(d.device)
        tag = dev.asset_tag if dev else report.resolved.devices[d.device].asset_tag
        confirm, expect = (CONFIRM_SCAN_ASSET, (tag,)) if tag else (CONFIRM_MANUAL, ())
        if d.status == "unexpected":
            rack, pos, face = d.observed
            works.append(
                WorkItem(
                    d.device,
                    f"Remove unexpected device {d.device}",
                    f"Unplug and unmount {d.device} from {_where(rack, pos, face)} (not in the design) and return it to staging.",
                    loc.location(rack, pos, face),
                    [{"op": "unmount", "device": d.device}],
                    confirm,
                    expect,
                    drift="unexpected",
                    frees=_device_units(design, d.device, rack, pos),
                    duration_s=900.0,
                )
            )
            continue
        rack, pos, face = d.designed
        needs = _device_units(design, d.device, rack, pos)
        mount = {"op": "mount", "device": d.device, "rack": rack, "position": pos, "face": face}
        if d.status == "missing":
            works.append(
                WorkItem(
                    d.device,
                    f"Mount missing device {d.device}",
                    f"Mount {d.device} ({dev.device_type}) in {_where(rack, pos, face)}; scan its asset tag.",
                    loc.location(rack, pos, face),
                    [mount],
                    confirm,
                    expect,
                    (Part("device", tag or d.device),),
                    drift="missing",
                    needs=needs,
                    duration_s=900.0,
                )
            )
        else:
            orack, opos, oface = d.observed
            frees = _device_units(design, d.device, orack, opos)
            works.append(
                WorkItem(
                    d.device,
                    f"Move {d.device} to {_where(rack, pos, face)}",
                    f"Move {d.device} from {_where(orack, opos, oface)} to {_where(rack, pos, face)}: unplug its cables "
                    f"(note each port), unmount, mount at the designed U, re-plug the same ports, scan the asset tag.",
                    loc.location(orack, opos, oface),
                    [{"op": "unmount", "device": d.device}, mount],
                    confirm,
                    expect,
                    drift="wrong_u",
                    frees=frees - needs,
                    needs=needs - frees,
                    duration_s=1200.0,
                )
            )
    return order_steps(works, _occupancy(design, report.resolved))


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
    """Strongly connected components (iterative Tarjan), each sorted, in a stable order."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on: set[int] = set()
    stack: list[int] = []
    comps: list[list[int]] = []
    counter = 0
    for root in range(n):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                comps.append(sorted(comp))
    comps.sort()
    return comps


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
