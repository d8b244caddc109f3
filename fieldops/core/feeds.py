"""A/B power feeds: which feed a cord lands on, and whether a feed loss is survived. Pure.

A feed is named by the upstream device's ``-a``/``-b`` suffix (``pdu-a01-b``, ``tap-1b01-a``):
NetBox's ``feed_leg`` is a phase leg (A/B/C) of one feed, not a second feed, so only a name
says "feed". The validate rule :func:`check_feeds` warns where one feed's loss takes power
away:

- a device whose power inputs (two or more, cabled) all land on one feed;
- a rack whose power shelves (devices that take a cabled input and pass power on, e.g. an
  NVL72 rack's shelves on a DC busbar) sit on one feed, or whose shelves left after losing
  either feed are rated (their inputs' ``maximum_draw``) below the rack's load.

Where a cord lands on a device whose name names no feed, nothing is judged for that device
(or that rack's shelves). Warnings, not errors: an N+1 or single-feed rack can be a deliberate choice; ``validate
--strict`` makes them fail.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from fieldops.core.model import Design, DeviceType
from fieldops.core.problems import WARNING, Problem
from fieldops.core.rackloads import passes_power_on, rack_loads


def feed_name(pdu: str, feed_leg: str = "") -> str:
    """The A/B feed a PDU is on: its name's suffix (``pdu-a01-b`` -> ``B``), else the outlet's
    NetBox ``feed_leg``, else ``""``.

    NetBox's ``feed_leg`` is the phase leg of a three-phase PDU (A/B/C), so a name that states
    the feed wins over it.

    >>> feed_name("pdu-a01-b", "A")
    'B'
    >>> feed_name("PDU7", "C")
    'C'
    """
    m = re.search(r"(?:^|[-_. ])(A|B)$", pdu.upper())
    if m:
        return m.group(1)
    return (feed_leg or "").upper()


OVERHEAD_SOURCE_MM = 500  # a busway tap-off box hangs about this far above the rack's top


def overhead_mm(floorplan, rack) -> int:
    """How high a busway tap-off box above ``rack`` hangs (its outlets, the work)."""
    rt = floorplan.rack_types.get(rack.rack_type)
    return (rt.outer_height_mm if rt else 2200) + OVERHEAD_SOURCE_MM


def cords_into_shelves(devices, types, cords_of) -> dict[str, list[str]]:
    """Per rack, the cords into its power shelves (devices that take a cord and pass power
    on): a device with no cord of its own is powered through them (an NVL72 tray on the DC
    busbar), so its power-on waits for every one."""
    out: dict[str, list[str]] = defaultdict(list)
    for dev in devices:
        dt = types.get(dev.device_type)
        if dt is not None and cords_of.get(dev.name) and passes_power_on(dt):
            out[dev.rack].extend(cords_of[dev.name])
    return out


def _rating_w(dt: DeviceType) -> float | None:
    """A power shelf's rating: its inputs' maximum draw (None when the type declares none)."""
    known = [p.maximum_draw_w for p in dt.ports if p.kind == "power-port" and p.maximum_draw_w]
    return sum(known) if known else None


def _kw(watts: float) -> str:
    return f"{watts / 1000:,.0f} kW"


def check_feeds(design: Design, ctx=None) -> Iterable[Problem]:
    """A validate rule: one feed's loss does not take a device or a busbar rack down."""
    types, devices = design.device_types, design.device_index()

    def kind(dev_name: str, port: str) -> str:
        dev = devices.get(dev_name)
        dt = types.get(dev.device_type) if dev else None
        pt = dt.port(port) if dt else None
        return pt.kind if pt else ""

    # device -> feed -> {(its inlet, the upstream device)}
    feeds_of: dict[str, dict[str, set[tuple[str, str]]]] = defaultdict(lambda: defaultdict(set))
    for cable in design.cables:
        for inlet, outlet in ((cable.a, cable.b), (cable.b, cable.a)):
            if kind(inlet.device, inlet.port) == "power-port" and (
                kind(outlet.device, outlet.port) == "power-outlet"
            ):
                # the name only: a phase leg is not a feed; "" = a feed the design does not name
                feed = feed_name(outlet.device)
                feeds_of[inlet.device][feed].add((inlet.port, outlet.device))
    out: list[Problem] = []
    shelves_of: dict[str, list[tuple[str, str, float | None]]] = defaultdict(list)
    unnamed: set[str] = set()
    for name, by_feed in sorted(feeds_of.items()):
        dev = devices[name]
        dt = types[dev.device_type]
        inputs = len({port for cords in by_feed.values() for port, _ in cords})
        if "" in by_feed and passes_power_on(dt):
            unnamed.add(dev.rack)  # nothing to judge the rack's shelves by
        elif "" in by_feed:
            continue
        elif passes_power_on(dt):
            for feed in by_feed:
                shelves_of[dev.rack].append((name, feed, _rating_w(dt)))
        elif len(by_feed) == 1 and inputs >= 2:
            ((feed, cords),) = by_feed.items()
            upstream = ", ".join(sorted({up for _, up in cords}))
            out.append(
                Problem.at(
                    dev.source,
                    f"device '{name}': its {inputs} power inputs are all on feed {feed} "
                    f"({upstream}); losing feed {feed} takes it down",
                    severity=WARNING,
                    rule="power",
                )
            )
    racks = {r.name: r for r in design.floorplan.racks}
    load = {name: r.watts for name, r in rack_loads(design).items()}
    for rack_name, shelves in sorted(shelves_of.items()):
        rack = racks.get(rack_name)
        if rack is None or rack_name in unnamed:
            continue
        out.extend(_check_shelves(rack, shelves, load.get(rack_name, 0.0)))
    return out


def _check_shelves(rack, shelves, load_w: float) -> Iterable[Problem]:
    feeds = sorted({feed for _, feed, _ in shelves})
    if len(feeds) == 1:
        yield Problem.at(
            rack.source,
            f"rack '{rack.name}': all {len(shelves)} power shelves are on feed {feeds[0]}; "
            f"losing feed {feeds[0]} powers the rack down (spread them over feeds A and B)",
            severity=WARNING,
            rule="power",
        )
        return
    if not load_w or any(rating is None for _, _, rating in shelves):
        return  # nothing to weigh: a rating or the load is not declared
    for lost in feeds:
        left = [(n, r) for n, feed, r in shelves if feed != lost]
        capacity = sum(r for _, r in left)
        if capacity < load_w:
            yield Problem.at(
                rack.source,
                f"rack '{rack.name}': with feed {lost} lost, the {len(left)} power shelves left "
                f"({_kw(capacity)}) cannot carry the rack's {_kw(load_w)}; move shelves from "
                f"feed {lost} to the other feed",
                severity=WARNING,
                rule="power",
            )
