"""Drift between the as-built hall and its design, and the located fix-up steps that remove it.

Pure (no I/O). The pieces:

* :class:`~fieldops.core.observation.Observations`: what LLDP, ibnetdiscover, PDU outlet and
  console-server reports saw, and which ports each source looked at (a reporter is a reporter
  only for the ports its source can see: :mod:`fieldops.core.observation`);
* :func:`merge_observed`: the as-built record with the observed links laid over it;
* :func:`build_drift`: per cable and per device, one of ``CABLE_STATUSES`` /
  ``DEVICE_STATUSES``, with counts, a location and a severity, and the as-built record with
  every cable's identity resolved (which designed cable each physical link is taken to be);
* :func:`build_fixups`: every real drift item as ordinary :class:`~fieldops.core.workorder.Step`
  values (phase and kind ``fixup``), located at a rack face and U with a stand-off pose, ordered
  so that a port or U is freed before it is re-used (:mod:`fieldops.core.fixups`). Each step's
  ``action["ops"]`` is what :func:`fieldops.core.asbuilt.apply` folds into the record once the
  step is confirmed, so the fixed record matches the design.

Cable drift, for designed cables A = ``srv1:eth0 -- sw1:swp1`` and B = ``srv2:eth0 -- sw1:swp2``::

    as_designed  [srv1:eth0] --A-- [sw1:swp1]
    missing      [srv1:eth0]       [sw1:swp1]          (nothing seen where A should be)
    wrong_port   [srv1:eth0] --A-- [sw1:swp5]          (one end right, the other elsewhere)
    swapped      [srv1:eth0] --A-- [sw1:swp2]  and  [srv2:eth0] --B-- [sw1:swp1]
    mislabelled  [srv1:eth0] --B-- [sw1:swp1]          (A's ports, but it carries B's label)
    unexpected   [srv1:eth1] ----- [sw1:swp7]          (a link the design does not have)
    suspect      [pdu1:Outlet3] -?- [srv1:PSU1]        (the outlet draws nothing: check the cord)
    unobserved   no source looked at either end and no as-built record covers it
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from fieldops.core.asbuilt import (
    UNKNOWN_PREFIX,
    AsBuilt,
    is_unknown,
    sorted_ends,
    split_port,
    unknown_ref,
)
from fieldops.core.drift import (
    CABLE_STATUSES,
    DEVICE_STATUSES,
    DRIFT_CABLE,
    DRIFT_DEVICE,
    SCHEMA,
    SEVERITY,
    CableDrift,
    DeviceDrift,
    DriftReport,
)
from fieldops.core.fixups import (
    Standoff,
    WorkItem,
    _device_units,
    _Locator,
    _occupancy,
    _pretty,
    _where,
    order_steps,
    walk_standoff,
    workorders_document,
)
from fieldops.core.labels import assign_cable_ids
from fieldops.core.model import Design, frozen_map
from fieldops.core.observation import CONSOLE, IDLE, LIVE, OFF, PDU, SOURCES, Observations
from fieldops.core.workorder import (
    CONFIRM_MANUAL,
    CONFIRM_SCAN_ASSET,
    CONFIRM_SCAN_LABEL,
    Part,
    Step,
)

__all__ = [  # the drift vocabulary and the work-order document are re-exported for callers
    "CABLE_STATUSES",
    "DEVICE_STATUSES",
    "DRIFT_CABLE",
    "DRIFT_DEVICE",
    "SCHEMA",
    "SEVERITY",
    "CableDrift",
    "DeviceDrift",
    "DriftReport",
    "Observations",
    "build_drift",
    "build_fixups",
    "merge_observed",
    "workorders_document",
]

# ---------------------------------------------------------------- observations laid over the record


def merge_observed(asbuilt: AsBuilt, obs: Observations) -> AsBuilt:
    """The record with the observed links laid over it: on every port a link-level source
    (LLDP, InfiniBand) looked at, what was seen wins. A seen link that the record already holds
    keeps its cable ID; a seen link on a port where the record had a labelled cable takes that
    label. Ports no link-level source looks at (power, console, management-only) keep the
    record's cables."""
    observed = {sorted_ends(link) for link in obs.links}
    seen_ports = {p for link in observed for p in link}
    cables: dict[str, tuple[str, ...]] = {}
    dropped: dict[str, str] = {}  # port -> ref of a record cable that the observation replaced
    for ref, ends in asbuilt.cables.items():
        touched = any(p in seen_ports or obs.links_cover(p) for p in ends)
        if not touched:
            cables[ref] = ends
        elif len(ends) == 2 and tuple(ends) in observed:
            cables[ref] = ends
            observed.discard(tuple(ends))
        else:
            for p in ends:
                dropped[p] = ref
    used = set(cables)
    for link in obs.links:  # in the observations' (sorted) order: refs are decided the same way
        a, b = sorted_ends(link)
        if (a, b) not in observed:
            continue
        observed.discard((a, b))
        ref = None
        if dropped:
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
    # the record's ends and the observed pairs are in order already; the mapping keeps the
    # record's order, then the links' (sorted) order: deterministic without sorting 60,000 refs
    return replace(asbuilt, cables=frozen_map(cables))


def _other(ends: tuple[str, str], port: str) -> str:
    return ends[1] if ends[0] == port else ends[0]


def build_drift(
    design: Design,
    asbuilt: AsBuilt,
    *,
    scope: Observations | None = None,
    devices_recorded: bool = True,
    cable_ids: Mapping[tuple[str, str], str] | None = None,
    observed: Observations | None = None,
) -> DriftReport:
    """Compare the as-built record (observations already merged) with the design.

    Parameters
    ----------
    scope:
        What was looked at (:meth:`Observations.covers`). A designed cable with neither end
        looked at is ``unobserved`` rather than missing. ``None``: every cable is in scope (a
        full as-built record).
    devices_recorded:
        Whether the record's devices are meaningful (an as-built record was given); otherwise
        designed devices absent from it are ``unobserved``, not missing.
    observed:
        The observations whose port states (PDU outlets, console-server ports) mark cords
        present, suspect or switched off; default ``scope``.

    Examples
    --------
    >>> # r = build_drift(design, merge_observed(AsBuilt(), obs), scope=obs)
    >>> # r.counts["cables"]["swapped"]
    """
    observed = observed if observed is not None else scope
    states: Mapping[str, str] = observed.states if observed is not None else {}
    classes = observed.classes if observed is not None else None
    ids = cable_ids if cable_ids is not None else assign_cable_ids(design.cables)[0]
    keys = [_key(c) for c in design.cables]
    dends: dict[str, tuple[str, str]] = {ids[k]: k for k in keys}
    dport = {p: cid for cid, ends in dends.items() for p in ends}
    links = asbuilt.links()  # sorted: every loop below visits links in that order
    matched: set[str] = set()
    out: list[CableDrift] = []
    resolved: dict[str, tuple[str, ...]] = {}

    def state_of(ends) -> tuple[str, str] | tuple[None, None]:
        for p in ends:
            if p in states:
                return states[p], p
        return None, None

    # 1. in the designed ports: as designed, or carrying another label (a technician reading
    # the label would take it for another cable: the label is replaced)
    remaining: dict[int, tuple[str, str, str]] = {}
    for i, link in enumerate(links):
        a, b, ref = link
        cid = dport.get(a)
        if cid is None or dport.get(b) != cid or cid in matched:
            remaining[i] = link
            continue
        matched.add(cid)
        resolved[cid] = (a, b)
        if ref == cid or ref[0] == UNKNOWN_PREFIX:
            if states and (a in states or b in states) and state_of((a, b))[0] == IDLE:
                out.append(_suspect(cid, dends[cid], state_of((a, b))[1], (a, b), classes))
            else:
                out.append(
                    CableDrift(cid, "as_designed", dends[cid], (a, b), message=f"{cid} as designed")
                )
        else:
            msg = f"{cid} mislabelled: the cable in {_pretty(a)} -- {_pretty(b)} carries the label {ref}"
            out.append(CableDrift(cid, "mislabelled", dends[cid], (a, b), ref, message=msg))
    at_port: dict[str, int] = {}
    for i, (a, b, _) in remaining.items():
        at_port[a] = i
        at_port[b] = i

    def take(i: int, ref: str) -> None:
        a, b, _ = remaining.pop(i)
        del at_port[a], at_port[b]
        resolved[ref] = (a, b)

    # 2. swapped: two cables whose ends were exchanged
    for i in list(remaining):
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
    for i in list(remaining):
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
    for a, b, ref in remaining.values():
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

    # a live outlet or console line where the design has nothing and the record holds nothing
    held = {p for ends in resolved.values() for p in ends}
    for port, st in sorted(states.items()):
        if st != LIVE or port in dport or port in held:
            continue
        urf = f"?{port}~"
        resolved[urf] = (port,)
        what = (
            "draws power"
            if _source(classes, port) == PDU
            else "has a live console line"
            if _source(classes, port) == CONSOLE
            else "is in use"
        )
        out.append(
            CableDrift(
                urf,
                "unexpected",
                (),
                (port,),
                message=f"{_pretty(port)} {what}, but the design has no cable there",
            )
        )

    # 5. designed cables nobody has seen (or seen only as a port state)
    unobserved: dict[str, int] = {}
    for cid, ends in dends.items():
        if cid in matched:
            continue
        st, port = state_of(ends) if cid not in resolved else (None, None)
        if st == LIVE:
            resolved[cid] = ends
            out.append(
                CableDrift(
                    cid, "as_designed", ends, ends, message=f"{cid} present: {_live(classes, port)}"
                )
            )
            continue
        if st == IDLE:
            out.append(_suspect(cid, ends, port, (), classes))
            continue
        if st == OFF:
            out.append(
                CableDrift(
                    cid, "unobserved", ends, message=f"{cid} not observed: {_pretty(port)} is off"
                )
            )
            continue
        in_scope = scope is None or any(scope.covers(p) for p in ends)
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
            src = _cable_source(classes, ends)
            unobserved[src] = unobserved.get(src, 0) + 1
            out.append(CableDrift(cid, "unobserved", ends, message=f"{cid} not observed"))

    devices = _device_drift(design, asbuilt, devices_recorded)
    out = [d if d.status in _UNPLACED else _located(design, asbuilt, d) for d in out]
    out.sort(key=lambda d: (_STATUS_RANK[d.status], d.cable))
    # every resolved cable's ends are in order already (links, designed keys, single ports),
    # and the mapping's order follows the (sorted) links: deterministic as it is
    resolved_ab = replace(asbuilt, cables=frozen_map(resolved))
    return DriftReport(
        design.name,
        design.revision,
        design.floorplan.name,
        tuple(out),
        devices,
        resolved_ab,
        ids,
        dict(sorted(unobserved.items(), key=lambda kv: _source_order(kv[0]))),
    )


def _key(c) -> tuple[str, str]:
    """``Cable.key`` without its sort (this runs for every cable of a 100,000-cable hall)."""
    a, b = str(c.a), str(c.b)
    return (a, b) if a <= b else (b, a)


def _source(classes, port: str) -> str | None:
    return classes.source(port) if classes is not None else None


def _source_order(src: str) -> int:
    return SOURCES.index(src) if src in SOURCES else len(SOURCES)


def _cable_source(classes, ends) -> str:
    """The source that could see a cable (the first by ``SOURCES`` order), '' if none."""
    found = [s for s in (_source(classes, p) for p in ends) if s]
    return min(found, key=_source_order) if found else ""


def _live(classes, port: str) -> str:
    if _source(classes, port) == CONSOLE:
        return f"the console line on {_pretty(port)} is up"
    return f"{_pretty(port)} draws power"


def _suspect(cid: str, ends, port: str, seen: tuple, classes) -> CableDrift:
    other = _other(ends, port)
    device = split_port(other)[0]
    if _source(classes, port) == CONSOLE:
        what = f"no signal on {_pretty(port)} where {_pretty(other)} should be connected"
        check = f"check the console cable, and that {device} is powered"
    else:
        what = f"{_pretty(port)} draws no power where {_pretty(other)} should be plugged in"
        check = f"check the cord, and that {device} is switched on"
    return CableDrift(cid, "suspect", ends, seen, message=f"{cid} suspect: {what} ({check})")


def _place(design: Design, asbuilt: AsBuilt, port: str) -> tuple[str, int | None]:
    name = split_port(port)[0]
    dev = design.device(name) or asbuilt.devices.get(name)
    return (dev.rack, dev.position) if dev is not None else ("", None)


_STATUS_RANK = {s: i for i, s in enumerate(CABLE_STATUSES)}
_UNPLACED = ("as_designed", "unobserved")


def _located(design: Design, asbuilt: AsBuilt, d: CableDrift) -> CableDrift:
    """The drift item with the rack and U where its fix happens (drift and suspect items)."""
    if d.status == "wrong_port":
        src, dst = d.moves[0]
        at = dst if split_port(src)[0] != split_port(dst)[0] else src
    elif d.status == "swapped":
        at = d.moves[0][0]
    elif d.status == "unexpected":
        at = d.observed[0]
    elif d.status == "suspect":
        at = next((p for p in d.designed if _place(design, asbuilt, p)[0]), d.designed[0])
    else:
        at = d.designed[0]
    rack, u = _place(design, asbuilt, at)
    return d._replace(rack=rack, u=u)


def _rack(design: Design, port: str) -> str:
    dev = design.device(split_port(port)[0])
    return dev.rack if dev else ""


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


# ---------------------------------------------------------------- fix-up steps


def build_fixups(
    design: Design, report: DriftReport, *, standoff: Standoff | None = None
) -> tuple[Step, ...]:
    """Located fix-up steps for every drift item, in a safe order (dependencies set).

    Applying ``StepDone(step.id, step.action)`` for every step, in order, to
    ``report.resolved`` gives a record that :func:`build_drift` finds free of drift.
    """
    loc = _Locator(design, report.resolved, standoff or walk_standoff(design))
    works: list[WorkItem] = []
    drifted = [d for d in report.cables if d.status in DRIFT_CABLE]
    missing_ends = {d.designed for d in drifted if d.status == "missing"}
    media_by_key = {}
    if missing_ends:
        for c in design.cables:
            key = _key(c)
            if key in missing_ends:
                media_by_key[key] = c.media
    swapped_done: set[str] = set()
    by_cable = {d.cable: d for d in drifted if d.status == "swapped"}
    for d in drifted:
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
                text = f"Unplug the cable at {loc.port_text(ends[0])} (its other end was not seen) and remove it (not in the design)."
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
    if not works:
        return ()
    return order_steps(works, _occupancy(design, report.resolved))
