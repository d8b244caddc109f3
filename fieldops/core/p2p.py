"""Point-to-point (P2P) cable lists for cable validation, per fabric. Pure.

The layout follows NVIDIA's UFM Cable Validation Tool "P2P file" (docs v1.5/v1.6): an Excel
workbook that may hold several sheets, each with the columns ``A-Node Name``, ``A-Type``
(``Host`` or ``Switch``), ``A-Port``, ``Z-Node Name``, ``Z-Type``, ``Z-Port``; its examples add
rack and U per side (``A-Rack``, ``A-U``, ``Z-Rack``, ``Z-U``), ports as a number or a split
port ``1/2``, and an optional ``port,hca-name`` mapping file for host ports (default
``1 -> mlx5_0``). fieldops writes one sheet per fabric:

* **fabric** of a cable, first rule that matches:
  power cord (a power port, outlet or power media) -> ``power``; console cable (a console or
  console-server port) -> ``console``; a management-only port at either end, or a role naming
  ``oob``/``mgmt``/``management`` -> ``oob``; a role naming ``storage`` -> ``storage``;
  ``compute`` -> ``compute``; ``inband``/``in-band``/``frontend`` -> ``in-band``; an
  ``infiniband-*`` port type -> ``compute``; anything else -> ``in-band``. The switch end's role
  is looked at before the host's. Power and console sheets are left out unless asked for.
* **A = the host (HCA) side**: a device is a ``Switch`` when its role names ``leaf``, ``spine``,
  ``switch``, ``core`` or ``tor``, otherwise a ``Host``. Between two hosts or two switches the
  designer's ``a`` end is A.
* **port numbers** (see :func:`port_number`), from the device type:
  a *switch* port is the number in its name, 1-based: ``swp59`` -> ``59``; ``P3.1`` -> ``4/2``
  (split ports as ``port/split``, NVIDIA's notation; a family numbered from 0, like the
  QM9700's ``P0.0``, is shifted by one); a name without a number -> its position among the
  device type's interfaces. A *host* (HCA) port is its 1-based position among the host
  type's interfaces of the same port type and management flag: a DGX H100's ``ib0``..``ib7``
  (OSFP) are 1..8, its four QSFP112 ports ``slot1-p1``, ``slot1-p2``, ``slot2-p1``,
  ``slot2-p2`` are 1..4. Power and console sheets keep the port names.
* **HCA mapping** for the InfiniBand-style sheets (compute, storage): ``port,hca-name`` with the
  host type's port name for each number (so CVT's port 1 means ``ib0`` on a DGX rather than
  its default ``mlx5_0``; edit it where the hosts' RDMA names differ).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fieldops.core.model import Cable, Design, DeviceType

FABRICS = ("compute", "storage", "in-band", "oob")
HCA_FABRICS = ("compute", "storage")  # InfiniBand-style sheets: an HCA mapping file each
EXTRA_FABRICS = ("console", "power")  # only when asked for
HOST, SWITCH = "Host", "Switch"
SWITCH_WORDS = ("leaf", "spine", "switch", "core", "tor")
ROLE_FABRICS = (  # (word in the role, fabric), first match wins
    ("oob", "oob"),
    ("mgmt", "oob"),
    ("management", "oob"),
    ("storage", "storage"),
    ("compute", "compute"),
    ("inband", "in-band"),
    ("frontend", "in-band"),
)
POWER_KINDS = ("power-port", "power-outlet")
CONSOLE_KINDS = ("console-port", "console-server-port")
COLUMNS = (
    "A-Rack",
    "A-U",
    "A-Node Name",
    "A-Type",
    "A-Port",
    "Z-Rack",
    "Z-U",
    "Z-Node Name",
    "Z-Type",
    "Z-Port",
    "A-Port Name",
    "Z-Port Name",
    "Cable ID",
    "Media",
    "Length (m)",
)
_NUMBERED = re.compile(r"^(.*?)(\d+)(?:([./:s])(\d+))?$")


@dataclass(frozen=True)
class P2PEnd:
    rack: str
    u: int | None
    node: str
    type: str  # Host | Switch
    port: str  # number or split port, or the name (ports="names")
    port_name: str


@dataclass(frozen=True)
class P2PLink:
    fabric: str
    a: P2PEnd
    z: P2PEnd
    cable_id: str
    media: str
    length_m: float | None

    def row(self) -> dict:
        return {
            "A-Rack": self.a.rack,
            "A-U": "" if self.a.u is None else self.a.u,
            "A-Node Name": self.a.node,
            "A-Type": self.a.type,
            "A-Port": self.a.port,
            "Z-Rack": self.z.rack,
            "Z-U": "" if self.z.u is None else self.z.u,
            "Z-Node Name": self.z.node,
            "Z-Type": self.z.type,
            "Z-Port": self.z.port,
            "A-Port Name": self.a.port_name,
            "Z-Port Name": self.z.port_name,
            "Cable ID": self.cable_id,
            "Media": self.media,
            "Length (m)": "" if self.length_m is None else _number(self.length_m),
        }


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else round(x, 3)


def _flat(role: str) -> str:
    return re.sub(r"[-_ ]", "", role.lower())


def node_type(role: str) -> str:
    """``Switch`` when the role names a switch, else ``Host``.

    >>> node_type("compute-leaf"), node_type("gpu-node"), node_type("oob-core")
    ('Switch', 'Host', 'Switch')
    """
    flat = _flat(role)
    return SWITCH if any(w in flat for w in SWITCH_WORDS) else HOST


def host_port_number(dt: DeviceType | None, name: str) -> str:
    """A host (HCA) port's number: its position among the type's interfaces of its port type.

    >>> from fieldops.core.model import PortTemplate as P
    >>> dgx = DeviceType("N", "D", "d", ports=(P("bmc", "interface", "1000base-t", True),
    ...     P("ib0", "interface", "osfp"), P("ib1", "interface", "osfp"),
    ...     P("slot1-p1", "interface", "qsfp112"), P("slot2-p1", "interface", "qsfp112")))
    >>> [host_port_number(dgx, n) for n in ("ib0", "ib1", "slot1-p1", "slot2-p1", "bmc")]
    ['1', '2', '1', '2', '1']
    """
    port = dt.port(name) if dt else None
    if port is None:
        return port_number(dt, name)
    same = [
        p.name
        for p in dt.ports
        if p.kind == port.kind and p.type == port.type and p.mgmt_only == port.mgmt_only
    ]
    return str(same.index(name) + 1)


def port_number(dt: DeviceType | None, name: str) -> str:
    """A switch port's number, from the number in its name (NVIDIA's P2P notation).

    >>> from fieldops.core.model import PortTemplate
    >>> qm = DeviceType("X", "Q", "q", ports=(PortTemplate("P0.0", "interface"), PortTemplate("P0.1", "interface")))
    >>> port_number(qm, "P0.1"), port_number(None, "swp59")
    ('1/2', '59')
    """
    m = _NUMBERED.match(name)
    names = [p.name for p in dt.ports if p.kind == "interface"] if dt else []
    if not m:
        return str(names.index(name) + 1) if name in names else name
    prefix, n, sep, split = m.group(1), int(m.group(2)), m.group(3), m.group(4)
    family = [f for f in (_NUMBERED.match(x) for x in names) if f and f.group(1) == prefix]
    shift = 1 if any(int(f.group(2)) == 0 for f in family) else 0
    if sep is None or split is None:
        return str(n + shift)
    split_shift = 1 if any(f.group(4) == "0" for f in family if f.group(4) is not None) else 0
    return f"{n + shift}/{int(split) + split_shift}"


def fabric_of(design: Design, cable: Cable) -> str:
    """Which fabric sheet a cable belongs on (rules in the module docstring)."""
    ends = []
    for t in (cable.a, cable.b):
        dev = design.device(t.device)
        dt = design.device_types.get(dev.device_type) if dev else None
        port = dt.port(t.port) if dt else None
        ends.append((dev.role if dev else "", port))
    media = design.media.get(cable.media)
    kinds = {p.kind for _, p in ends if p}
    if kinds & set(POWER_KINDS) or (media and media.media_class == "power"):
        return "power"
    if kinds & set(CONSOLE_KINDS):
        return "console"
    if any(p and p.mgmt_only for _, p in ends):
        return "oob"
    roles = sorted((r for r, _ in ends), key=lambda r: node_type(r) != SWITCH)
    for role in roles:
        flat = _flat(role)
        for word, fabric in ROLE_FABRICS:
            if word in flat:
                return fabric
    if any(p and p.type.startswith("infiniband") for _, p in ends):
        return "compute"
    return "in-band"


def build_p2p(
    design: Design,
    cable_ids: Mapping[tuple[str, str], str],
    *,
    ordered_mm: Mapping[str, int] | None = None,
    include: Iterable[str] = (),
    ports: str = "numbers",
) -> list[P2PLink]:
    """One link per cable of the fabrics wanted (``FABRICS`` plus ``include``), sorted by
    fabric, A node and A port; ``ports``: ``numbers`` (NVIDIA's) or ``names`` (device type's)."""
    wanted = set(FABRICS) | set(include)
    ordered_mm = ordered_mm or {}
    links = []
    for c in design.cables:
        fabric = fabric_of(design, c)
        if fabric not in wanted:
            continue
        ends = []
        for t in (c.a, c.b):
            dev = design.device(t.device)
            dt = design.device_types.get(dev.device_type) if dev else None
            kind = node_type(dev.role if dev else "")
            number = host_port_number if kind == HOST else port_number
            numbered = ports == "numbers" and fabric in FABRICS  # cords keep their names
            port = number(dt, t.port) if numbered else t.port
            ends.append(
                P2PEnd(
                    dev.rack if dev else "",
                    dev.position if dev else None,
                    t.device,
                    kind,
                    port,
                    t.port,
                )
            )
        a, z = ends
        if a.type == SWITCH and z.type == HOST:
            a, z = z, a
        cid = cable_ids[c.key]
        mm = ordered_mm.get(cid, 0)
        links.append(P2PLink(fabric, a, z, cid, c.media, mm / 1000 if mm else None))
    order = {f: i for i, f in enumerate((*FABRICS, *EXTRA_FABRICS))}
    links.sort(key=lambda x: (order.get(x.fabric, 99), x.a.node, _natural(x.a.port_name), x.z.node))
    return links


def _natural(text: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def hca_mapping(links: Iterable[P2PLink]) -> tuple[list[tuple[str, str]], list[str]]:
    """``([(port, hca-name)], conflicts)`` for the hosts on A sides: port number -> port name.

    >>> end = P2PEnd("R1", 1, "dgx", HOST, "1", "ib0")
    >>> hca_mapping([P2PLink("compute", end, end, "C", "m", None)])
    ([('1', 'ib0')], [])
    """
    names: dict[str, str] = {}
    conflicts = []
    for link in links:
        if link.a.type != HOST:
            continue
        seen = names.setdefault(link.a.port, link.a.port_name)
        if seen != link.a.port_name:
            conflicts.append(
                f"hosts disagree on HCA port {link.a.port}: '{seen}' and '{link.a.port_name}' "
                "(the mapping file keeps the first)"
            )
    return sorted(names.items(), key=lambda kv: _natural(kv[0])), sorted(set(conflicts))
