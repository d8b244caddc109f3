"""Design revisions as move/add/change work: only what changed, in a safe order. Pure.

:func:`build_revision` compares two designs of the same hall and returns the changes and the
steps (ordinary :class:`~fieldops.core.workorder.Step` values, phase and kind ``fixup``) that
turn a hall built to the old design into one built to the new design:

* a device that is gone or moves is **drained** first (workloads off, shut down); a cable that
  goes away between two devices that stay has its link drained (both ports shut);
* cables are **unplugged** after the drain: removed cables, cables whose media changes, and the
  cables of a moving device (only its end when it stays in its rack; the whole cable, to be
  re-run on its new route, when it changes rack);
* devices are **unmounted** after all their cables are out, and a U is **re-used** (a device
  mounted there) only after whatever held it was unmounted;
* cables are **plugged** or run last, once both end devices are in place and the ports they
  need were freed.

Unchanged cables keep their ID and label (an ID comes from the cable's own ends, so a cable
of a moving server keeps its printed label). Nothing that did not change gets a step. Each
step's ``action["ops"]`` is what :func:`fieldops.core.asbuilt.apply` folds into the as-built
record, so applying every step to ``asbuilt.from_design(old)`` gives ``from_design(new)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fieldops.core.asbuilt import from_design, split_port
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
)
from fieldops.core.labels import assign_cable_ids
from fieldops.core.model import Design
from fieldops.core.workorder import (
    CONFIRM_MANUAL,
    CONFIRM_SCAN_ASSET,
    CONFIRM_SCAN_LABEL,
    Part,
    Step,
)

SCHEMA = "fieldops.revision/1.0"


@dataclass(frozen=True)
class Revision:
    old: str  # "name revision"
    new: str
    changes: Mapping  # {"devices": {"added": [...], ...}, "cables": {...}}
    steps: tuple[Step, ...]
    cable_ids: Mapping  # new design's cable key -> ID (unchanged cables keep the old ID)
    warnings: tuple[str, ...] = ()

    def counts(self) -> dict:
        return {kind: {k: len(v) for k, v in group.items()} for kind, group in self.changes.items()}

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "old": self.old,
            "new": self.new,
            "counts": self.counts(),
            "changes": {k: {c: list(v) for c, v in g.items()} for k, g in self.changes.items()},
            "steps": [s.id for s in self.steps],
            "warnings": list(self.warnings),
        }


def build_revision(
    old: Design,
    new: Design,
    *,
    old_ids: Mapping[tuple[str, str], str] | None = None,
    new_ids: Mapping[tuple[str, str], str] | None = None,
    standoff: Standoff | None = None,
) -> Revision:
    """The move/add/change plan from ``old`` to ``new``.

    Examples
    --------
    >>> # rev = build_revision(old_design, new_design)
    >>> # [s.id for s in rev.steps][:2]
    >>> # ['rev-drain:srv-05', 'rev-unplug:C-4K7Q2M9']
    """
    warnings: list[str] = []
    if old.floorplan.name != new.floorplan.name:
        warnings.append(
            f"the designs are for different halls ({old.floorplan.name} and {new.floorplan.name})"
        )
    oid = dict(old_ids) if old_ids is not None else assign_cable_ids(old.cables)[0]
    nid = dict(new_ids) if new_ids is not None else assign_cable_ids(new.cables)[0]
    od, nd = old.device_index(), new.device_index()
    oc = {c.key: c for c in old.cables}
    nc = {c.key: c for c in new.cables}

    # -- what changed
    # sets (membership is tested per cable and device); sorted wherever they are walked
    removed_dev = od.keys() - nd.keys()
    added_dev = nd.keys() - od.keys()
    retyped = {n for n in od.keys() & nd.keys() if od[n].device_type != nd[n].device_type}
    moved = {
        n
        for n in od.keys() & nd.keys()
        if n not in retyped
        and (od[n].rack, od[n].position, od[n].face) != (nd[n].rack, nd[n].position, nd[n].face)
    }
    out_dev = removed_dev | retyped | moved  # drained and unmounted
    in_dev = added_dev | retyped | moved  # mounted
    kept = sorted(oc.keys() & nc.keys())
    changed_media = {k for k in kept if oc[k].media != nc[k].media}
    removed_cab = oc.keys() - nc.keys()
    added_cab = nc.keys() - oc.keys()
    ids = {k: (oid[k] if k in oc else nid[k]) for k in nc}
    for k in kept:
        if oid[k] != nid[k]:
            warnings.append(
                f"cable {k[0]} -- {k[1]} keeps its printed ID {oid[k]} (the new design alone would give {nid[k]})"
            )

    def dev_of(port: str) -> str:
        return split_port(port)[0]

    def on_moving(key) -> list[str]:
        return [p for p in key if dev_of(p) in out_dev]

    rerun, replug = [], []  # unchanged cables touched by a device that moves
    for k in kept:
        if k in changed_media or not on_moving(k):
            continue
        if any(
            dev_of(p) in retyped or od[dev_of(p)].rack != nd[dev_of(p)].rack for p in on_moving(k)
        ):
            rerun.append(k)
        else:
            replug.append(k)
    out_cab = removed_cab | changed_media | set(rerun)  # pulled out whole
    in_cab = added_cab | changed_media | set(rerun)  # run whole

    std = standoff or walk_standoff(new)
    before = from_design(old, oid)
    lo = _Locator(old, before, std)
    ln = _Locator(new, from_design(new, ids), std)
    works: list[WorkItem] = []

    def asset(design: Design, name: str) -> tuple[str, tuple[str, ...]]:
        tag = (od if design is old else nd)[name].asset_tag
        return (CONFIRM_SCAN_ASSET, (tag,)) if tag else (CONFIRM_MANUAL, ())

    # 1. drain
    for n in sorted(out_dev):
        d = od[n]
        works.append(
            WorkItem(
                f"drain:{n}",
                f"Drain {n}",
                f"Drain {n} ({_where(d.rack, d.position, d.face)}): move its workloads away, shut it down cleanly and confirm it is idle before anything is unplugged.",
                lo.location(d.rack, d.position, d.face),
                [],
                drift="drain",
                duration_s=600.0,
            )
        )
    drained_links = set()
    for k in sorted(removed_cab | changed_media):
        if not on_moving(k):
            drained_links.add(k)
            works.append(
                WorkItem(
                    f"drain:{oid[k]}",
                    f"Drain link {oid[k]}",
                    f"Shut {_pretty(k[0])} and {_pretty(k[1])} and confirm no traffic on link {oid[k]} before it is unplugged.",
                    lo.port(k[0]),
                    [],
                    drift="drain",
                    duration_s=300.0,
                )
            )

    def drains(key) -> set:
        return {f"drain:{dev_of(p)}" for p in on_moving(key)} | (
            {f"drain:{oid[key]}"} if key in drained_links else set()
        )

    # 2. unplug
    for k in sorted(out_cab):
        c = oid[k]
        why = (
            "removed"
            if k in removed_cab
            else ("its media changes" if k in changed_media else "its device moves to another rack")
        )
        works.append(
            WorkItem(
                f"unplug:{c}",
                f"Unplug and pull out {c}",
                f"Unplug {c} from {lo.port_text(k[0])} and {lo.port_text(k[1])} and pull it out of the trays ({why}).",
                lo.port(k[0]),
                [{"op": "remove_cable", "cable": c}],
                CONFIRM_SCAN_LABEL,
                (c,),
                drift="remove",
                frees=set(k),
                after=drains(k),
                duration_s=300.0,
            )
        )
    for k in replug:
        c = oid[k]
        ends = on_moving(k)
        works.append(
            WorkItem(
                f"unplug:{c}",
                f"Unplug {c} at {', '.join(_pretty(p) for p in ends)}",
                f"Unplug {c} from {' and '.join(lo.port_text(p) for p in ends)}; leave it in place to be plugged back after the move.",
                lo.port(ends[0]),
                [{"op": "unplug", "cable": c, "port": p} for p in ends],
                CONFIRM_SCAN_LABEL,
                (c,),
                drift="move",
                frees=set(ends),
                after=drains(k),
                duration_s=60.0,
            )
        )

    # 3. unmount
    old_cables_of: dict[str, list[str]] = {}  # device -> its old cables, built once
    for k in oc:
        for dev in {dev_of(p) for p in k}:
            old_cables_of.setdefault(dev, []).append(oid[k])
    for n in sorted(out_dev):
        d = od[n]
        cables = sorted(old_cables_of.get(n, ()))
        confirm, expect = asset(old, n)
        works.append(
            WorkItem(
                f"unmount:{n}",
                f"Unmount {n} from {_where(d.rack, d.position, d.face)}",
                f"Unmount {n} from {_where(d.rack, d.position, d.face)}"
                + (
                    " and take it to staging (removed from the design)."
                    if n in removed_dev or n in retyped
                    else " for its move."
                ),
                lo.location(d.rack, d.position, d.face),
                [{"op": "unmount", "device": n}],
                confirm,
                expect,
                drift="remove" if n in removed_dev else "move",
                frees=_device_units(old, n, d.rack, d.position),
                after={f"drain:{n}"} | {f"unplug:{c}" for c in cables},
                duration_s=900.0,
            )
        )

    # 4. mount
    for n in sorted(in_dev):
        d = nd[n]
        confirm, expect = asset(new, n)
        verb = "Mount" if n not in moved else "Re-mount"
        works.append(
            WorkItem(
                f"mount:{n}",
                f"{verb} {n} in {_where(d.rack, d.position, d.face)}",
                f"{verb} {n} ({d.device_type}) in {_where(d.rack, d.position, d.face)}; scan its asset tag.",
                ln.location(d.rack, d.position, d.face),
                [
                    {
                        "op": "mount",
                        "device": n,
                        "rack": d.rack,
                        "position": d.position,
                        "face": d.face,
                    }
                ],
                confirm,
                expect,
                (Part("device", d.asset_tag or n),),
                drift="add" if n in added_dev else "move",
                needs=_device_units(new, n, d.rack, d.position),
                after={f"unmount:{n}"},
                duration_s=900.0,
            )
        )

    # 5. plug / run
    for k in replug:
        c = ids[k]
        ends = on_moving(k)
        works.append(
            WorkItem(
                f"plug:{c}",
                f"Plug {c} back into {', '.join(_pretty(p) for p in ends)}",
                f"Plug {c} back into {' and '.join(ln.port_text(p) for p in ends)}; scan the label.",
                ln.port(ends[0]),
                [{"op": "plug", "cable": c, "port": p} for p in ends],
                CONFIRM_SCAN_LABEL,
                (c,),
                drift="move",
                needs=set(ends),
                after={f"mount:{dev_of(p)}" for p in ends},
                duration_s=60.0,
            )
        )
    for k in sorted(in_cab):
        c = ids[k]
        media = nc[k].media
        works.append(
            WorkItem(
                f"run:{c}",
                f"Run {c}",
                f"Run {c} ({media}) from {ln.port_text(k[0])} to {ln.port_text(k[1])}; plug both ends and scan the label at each end.",
                ln.port(k[0]),
                [{"op": "connect", "cable": c, "a": k[0], "b": k[1]}],
                CONFIRM_SCAN_LABEL,
                (c,),
                (Part("cable", c),),
                drift="add" if k in added_cab else "change",
                needs=set(k),
                after={f"mount:{dev_of(p)}" for p in k if dev_of(p) in in_dev}
                | ({f"unplug:{oid[k]}"} if k in oc else set()),
                duration_s=600.0,
            )
        )

    steps = order_steps(works, _occupancy(old, before), prefix="rev")
    touched = changed_media | set(rerun) | set(replug)
    changes = {
        "devices": {
            "added": sorted(added_dev),
            "removed": sorted(removed_dev),
            "moved": sorted(moved),
            "replaced": sorted(retyped),
        },
        "cables": {
            "added": [nid[k] for k in sorted(added_cab)],
            "removed": [oid[k] for k in sorted(removed_cab)],
            "media_changed": [oid[k] for k in sorted(changed_media)],
            "rerun": [oid[k] for k in rerun],
            "replugged": [oid[k] for k in replug],
            "unchanged": sorted(oid[k] for k in kept if k not in touched),
        },
    }
    return Revision(
        f"{old.name} {old.revision}",
        f"{new.name} {new.revision}",
        changes,
        steps,
        ids,
        tuple(warnings),
    )
