"""A/B feeds (fieldops.core.feeds): what a planner is warned about when one feed's loss takes
power away, on a small hand-built rack whose sums can be checked by hand.

    tap-r1-a (feed A) ──whips──> ps-1..ps-8 (33 kW each) ──DC busbar──> 18 trays x 7 kW = 126 kW
    tap-r1-b (feed B) ──whips──┘
"""

from __future__ import annotations

from fieldops.core.feeds import check_feeds, feed_name
from fieldops.core.model import (
    Cable,
    Design,
    Device,
    DeviceType,
    FloorPlan,
    PortTemplate,
    Rack,
    RackType,
    Termination,
)
from fieldops.core.validate import validate


def _outlets(prefix: str) -> tuple[PortTemplate, ...]:
    return tuple(PortTemplate(f"{prefix}{i}", "power-outlet") for i in range(1, 9))


TAP = DeviceType("Generic", "tap", "tap", u_height=0, ports=_outlets("out"))


def _type(slug: str, *ports: PortTemplate, u_height: float = 1.0) -> DeviceType:
    return DeviceType("Generic", slug, slug, u_height=u_height, ports=ports)


SHELF = _type(
    "shelf",
    PortTemplate("ac-in", "power-port", maximum_draw_w=33000),
    PortTemplate("busbar", "power-outlet"),
)
TRAY = _type("tray", PortTemplate("busbar", "power-port", allocated_draw_w=7000))
SERVER = _type(
    "server",
    PortTemplate("PSU1", "power-port", allocated_draw_w=500),
    PortTemplate("PSU2", "power-port", allocated_draw_w=500),
)
PDU = DeviceType(
    "Generic", "pdu", "pdu", u_height=0, ports=(PortTemplate("in", "power-port"), *_outlets("o"))
)


def _design(shelf_feeds: str, server_pdus: tuple[str, str] = ("pdu-r1-a", "pdu-r1-b")) -> Design:
    """Shelf k on the tap-off box of feed ``shelf_feeds[k]`` ("A", "B", or "?" for a box whose
    name names no feed); the server's two PSUs on ``server_pdus``."""
    boxes = {"A": "tap-r1-a", "B": "tap-r1-b", "?": "tap-r1-x"}
    devices = [Device(box, "tap", "R1", None, "rear") for box in boxes.values()]
    devices += [Device(f"pdu-r1-{f}", "pdu", "R1", None, "rear") for f in "ab"]
    devices += [Device(f"ps-{k}", "shelf", "R1", k) for k in range(1, len(shelf_feeds) + 1)]
    devices += [Device(f"ct-{k:02d}", "tray", "R1", 10 + k) for k in range(1, 19)]
    devices.append(Device("srv-1", "server", "R1", 40))
    used: dict[str, int] = {}
    cables = []
    for k, feed in enumerate(shelf_feeds, 1):
        box = boxes[feed]
        used[box] = used.get(box, 0) + 1
        cables.append(
            Cable(Termination(f"ps-{k}", "ac-in"), Termination(box, f"out{used[box]}"), "whip")
        )
    for psu, pdu in zip(("PSU1", "PSU2"), server_pdus, strict=True):
        used[pdu] = used.get(pdu, 0) + 1
        cables.append(Cable(Termination("srv-1", psu), Termination(pdu, f"o{used[pdu]}"), "cord"))
    fp = FloorPlan(
        "H",
        ((0, 0), (10000, 0), (10000, 10000), (0, 10000)),
        rack_types={"nvl": RackType("nvl", u_height=48, max_kw=140)},
        racks=(Rack("R1", "nvl", (5000, 5000)),),
    )
    types = {t.slug: t for t in (TAP, SHELF, TRAY, SERVER, PDU)}
    return Design("d", "r1", fp, types, tuple(devices), tuple(cables), {})


def _warnings(design: Design) -> list[str]:
    return [p.message for p in check_feeds(design)]


def test_shelves_split_four_and_four_survive_either_feed():
    # 126 kW of trays (plus the server's 1 kW) against 4 x 33 = 132 kW left on either feed
    assert _warnings(_design("ABABABAB")) == []
    assert not [p for p in validate(_design("ABABABAB")) if "feed" in p.message]


def test_a_rack_whose_shelves_are_all_on_one_feed_is_named():
    assert _warnings(_design("AAAA")) == [
        "rack 'R1': all 4 power shelves are on feed A; losing feed A powers the rack down "
        "(spread them over feeds A and B)"
    ]


def test_an_uneven_split_names_the_feed_whose_loss_leaves_too_little():
    # feed A lost: the 2 shelves on B give 66 kW for 127 kW (18 x 7 kW trays + the 1 kW server)
    assert _warnings(_design("AAAAAABB")) == [
        "rack 'R1': with feed A lost, the 2 power shelves left (66 kW) cannot carry the rack's "
        "127 kW; move shelves from feed A to the other feed"
    ]


def test_a_device_with_both_cords_on_one_feed_is_named_and_one_on_each_is_not():
    msgs = _warnings(_design("ABABABAB", server_pdus=("pdu-r1-a", "pdu-r1-a")))
    assert msgs == [
        "device 'srv-1': its 2 power inputs are all on feed A (pdu-r1-a); losing feed A takes "
        "it down"
    ]


def test_a_feed_the_design_does_not_name_is_not_guessed():
    """tap-r1-x names no feed: the rack's split cannot be judged, so nothing is claimed."""
    assert _warnings(_design("AAAA????")) == []


def test_warnings_reach_validate_under_the_power_rule():
    problems = [p for p in validate(_design("AAAA")) if "feed" in p.message]
    assert [(p.severity, p.rule) for p in problems] == [("warning", "power")]


def test_feed_names_come_from_the_device_name_first():
    assert (feed_name("tap-1b01-a"), feed_name("tap-1b01-b", "A"), feed_name("tap-x")) == (
        "A",
        "B",
        "",
    )
