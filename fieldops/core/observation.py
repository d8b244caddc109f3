"""What the floor can observe: which ports each observation source looks at.

Pure (no I/O). Every source sees one kind of port, and a device that reports through a source is
a *reporter* for those ports only (docs/reconcile.md, "Observation scope"):

==========  ==========================================  =========================================
source      collected with                              looks at
==========  ==========================================  =========================================
lldp        ``lldpctl -f json`` on a device              the reporter's Ethernet interfaces, not
                                                        its management-only port (a BMC has its
                                                        own controller; the host's lldpd does not
                                                        run there: the switch it plugs into sees it)
infiniband  ``ibnetdiscover`` / ``iblinkinfo``          every InfiniBand port of each switch found,
                                                        and the port of each HCA found
pdu         a PDU outlet report (CSV)                   each outlet listed, one by one
console     a console-server port status (CSV)          each console-server port listed
==========  ==========================================  =========================================

Power ports, console ports on the devices, front/rear (patch) ports are seen from the other end
or not at all. A designed cable is *in scope* when at least one of its ends is looked at; the
rest stay ``unobserved``, never ``missing``.

An interface is InfiniBand when its NetBox type is ``infiniband-*``, when it is on a device type
the :class:`InfinibandMap` declares as an InfiniBand switch, when the map names it as an HCA
port, or when the design cables it to an InfiniBand switch port (a GPU server's ConnectX port
typed ``400gbase-x-osfp`` that plugs into a QM9700 is an HCA port).

>>> from fieldops.core.observation import LLDP, INFINIBAND
>>> # classes = PortClasses(design, InfinibandMap(switches={"nvidia-qm9700": SwitchNumbering()}))
>>> # classes.source("dgx-01:ib0") == INFINIBAND
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from fieldops.core.model import Design, DeviceType, PortTemplate, frozen_map

LLDP = "lldp"
INFINIBAND = "infiniband"
PDU = "pdu"
CONSOLE = "console"
SOURCES = (LLDP, INFINIBAND, PDU, CONSOLE)

# port states a PDU outlet or console-server port report gives, one port at a time
LIVE = "live"  # power drawn / line signals up: something is plugged and running
IDLE = "idle"  # on, but no draw / no signal: a suspect cord (or a device switched off)
OFF = "off"  # the outlet is switched off: nothing can be told
PORT_STATES = (LIVE, IDLE, OFF)

NOT_ETHERNET = ("virtual", "bridge", "lag")  # NetBox interface types that carry no cable
_HCA_NAME = re.compile(r"^[A-Za-z][\w-]*?_(\d+)$")  # mlx5_3, ibp_2: the HCA's index


@dataclass(frozen=True, slots=True)
class SwitchNumbering:
    """How an InfiniBand switch type numbers its ports (the numbers ibnetdiscover prints).

    ``pattern`` empty: port N is the N-th InfiniBand interface of the device type, in the
    order the device type lists them (management-only ports skipped). Otherwise a format with
    ``{port}`` (N), ``{cage}`` (``(N - 1) // lanes + first_cage``) and ``{lane}``
    (``(N - 1) % lanes + first_lane``): ``"P{cage}.{lane}"`` with 2 lanes from cage 0 names
    port 3 ``P1.0``. ``ports`` names ports one by one and wins over both.
    """

    pattern: str = ""
    lanes: int = 1
    first_cage: int = 1
    first_lane: int = 1
    ports: Mapping[int, str] = field(default_factory=frozen_map)

    def name(self, number: int, ordinal: tuple[str, ...]) -> str | None:
        if number in self.ports:
            return self.ports[number]
        if number < 1:
            return None
        if not self.pattern:
            return ordinal[number - 1] if number <= len(ordinal) else None
        cage, lane = divmod(number - 1, max(1, self.lanes))
        return self.pattern.format(
            port=number, cage=cage + self.first_cage, lane=lane + self.first_lane
        )


@dataclass(frozen=True)
class InfinibandMap:
    """InfiniBand switch types and their port numbering; HCA names -> design ports.

    ``hcas`` maps a device type slug to ``{"mlx5_0": "ib0", "mlx5_8/2": "slot1-p2"}`` (``/N``
    for an HCA's port N; port 1 without it). A device type absent from ``hcas`` uses the
    default: ``mlx5_N`` port 1 is the device's (N+1)-th InfiniBand port in device-type order.
    """

    switches: Mapping[str, SwitchNumbering] = field(default_factory=frozen_map)
    hcas: Mapping[str, Mapping[str, str]] = field(default_factory=frozen_map)


class PortClasses:
    """Which source can see each port of a design (lazily, cached per device type and port)."""

    def __init__(self, design: Design, ib: InfinibandMap | None = None):
        self.design = design
        self.ib = ib or InfinibandMap()
        self._dtype: dict[str, DeviceType | None] = {
            d.name: design.device_types.get(d.device_type) for d in design.devices
        }
        self._templates: dict[str, dict[str, PortTemplate]] = {
            slug: {p.name: p for p in dt.ports} for slug, dt in design.device_types.items()
        }
        self._hca_ports = {
            slug: frozenset(m.values())
            for slug, m in self.ib.hcas.items()
            if isinstance(m, Mapping)
        }
        self._cache: dict[tuple[str, str], str | None] = {}
        # an interface cabled to an InfiniBand switch port is an HCA port
        self._cabled_to_ib: set[str] = set()
        ib_types = {
            slug
            for slug, dt in design.device_types.items()
            if slug in self.ib.switches
            or slug in self._hca_ports
            or any(p.type.lower().startswith("infiniband") for p in dt.ports)
        }
        ib_devices = {d.name for d in design.devices if d.device_type in ib_types}
        if ib_devices:
            for c in design.cables:
                a, b = c.a, c.b
                if a.device in ib_devices and self._intrinsic_at(a.device, a.port) == INFINIBAND:
                    self._cabled_to_ib.add(str(b))
                if b.device in ib_devices and self._intrinsic_at(b.device, b.port) == INFINIBAND:
                    self._cabled_to_ib.add(str(a))
        self._ordinal: dict[str, tuple[str, ...]] = {}
        self._switch_names: dict[tuple[str, int], str | None] = {}

    def template(self, port: str) -> PortTemplate | None:
        device, _, name = port.partition(":")
        dt = self._dtype.get(device)
        return self._templates.get(dt.slug, {}).get(name) if dt else None

    def _intrinsic(self, port: str) -> str | None:
        device, _, name = port.partition(":")
        return self._intrinsic_at(device, name)

    def _intrinsic_at(self, device: str, name: str) -> str | None:
        """The source from the device type alone (before looking at the design's cables)."""
        dt = self._dtype.get(device)
        if dt is None:
            return None
        key = (dt.slug, name)
        if key in self._cache:
            return self._cache[key]
        tmpl = self._templates.get(dt.slug, {}).get(name)
        src = None
        if tmpl is not None:
            if tmpl.kind == "power-outlet":
                src = PDU
            elif tmpl.kind == "console-server-port":
                src = CONSOLE
            elif tmpl.kind == "interface":
                t = tmpl.type.lower()
                if t.startswith("infiniband") or (
                    not tmpl.mgmt_only
                    and (dt.slug in self.ib.switches or name in self._hca_ports.get(dt.slug, ()))
                ):
                    src = INFINIBAND
                elif t not in NOT_ETHERNET and not t.startswith("ieee802.11"):
                    src = LLDP
        self._cache[key] = src
        return src

    def source(self, port: str) -> str | None:
        """The source that can see ``port`` from either end (None: no source can)."""
        src = self._intrinsic(port)
        if src == LLDP and port in self._cabled_to_ib:
            return INFINIBAND
        return src

    def seen_by_own_report(self, port: str) -> str | None:
        """The source through which ``port``'s own device reports it (LLDP does not run on a
        management-only port: a BMC is seen from its switch)."""
        src = self.source(port)
        if src == LLDP:
            tmpl = self.template(port)
            if tmpl is not None and tmpl.mgmt_only:
                return None
        return src

    def infiniband_ports(self, device: str) -> tuple[str, ...]:
        """The device's InfiniBand ports in device-type order (management-only skipped)."""
        if device not in self._ordinal:
            dt = self._dtype.get(device)
            names = tuple(
                p.name
                for p in (dt.ports if dt else ())
                if p.kind == "interface"
                and not p.mgmt_only
                and self.source(f"{device}:{p.name}") == INFINIBAND
            )
            self._ordinal[device] = names
        return self._ordinal[device]

    def is_switch(self, device: str) -> bool:
        dt = self._dtype.get(device)
        return dt is not None and dt.slug in self.ib.switches

    def switch_port(self, device: str, number: int) -> str | None:
        """The design port of an InfiniBand switch port number (None: no such port)."""
        dt = self._dtype.get(device)
        if dt is None:
            return None
        key = (dt.slug, number)  # a switch type's InfiniBand ports are the same on every switch
        if key not in self._switch_names:
            numbering = self.ib.switches.get(dt.slug, SwitchNumbering())
            name = numbering.name(number, self.infiniband_ports(device))
            if name is not None and name not in self._templates.get(dt.slug, {}):
                name = None
            self._switch_names[key] = name
        return self._switch_names[key]

    def hca_port(self, device: str, hca: str, number: int) -> str | None:
        """The design port of HCA ``hca`` port ``number`` on ``device`` (None: unmapped)."""
        dt = self._dtype.get(device)
        if dt is None:
            return None
        explicit = self.ib.hcas.get(dt.slug)
        if explicit is not None:
            key = hca if number == 1 else f"{hca}/{number}"
            name = explicit.get(key)
        else:
            m = _HCA_NAME.match(hca)
            ordinal = self.infiniband_ports(device)
            idx = int(m.group(1)) if m and number == 1 else -1
            name = ordinal[idx] if 0 <= idx < len(ordinal) else None
        if name is None or self.template(f"{device}:{name}") is None:
            return None
        return name


@dataclass(frozen=True)
class Observations:
    """What was observed in the hall.

    ``links``: sorted ``(a, b)`` port pairs seen (LLDP neighbours, InfiniBand links);
    ``reporters``: source -> devices that reported through it (each looks at the ports that
    source sees on it, see :meth:`PortClasses.seen_by_own_report`); ``looked_at``: ports observed
    one by one (an HCA found by ibnetdiscover, a PDU outlet, a console-server port);
    ``states``: port -> one of ``PORT_STATES`` (PDU outlets, console-server ports);
    ``classes``: the design's :class:`PortClasses`.
    """

    hall: str = ""
    reporters: Mapping[str, frozenset[str]] = field(default_factory=frozen_map)
    links: tuple[tuple[str, str], ...] = ()
    looked_at: frozenset[str] = frozenset()
    states: Mapping[str, str] = field(default_factory=frozen_map)
    classes: PortClasses | None = field(default=None, compare=False, repr=False)

    def covers(self, port: str) -> bool:
        """Whether ``port`` was looked at (so a designed cable there that was not seen is missing)."""
        if port in self.looked_at:
            return True
        if self.classes is None:
            return False
        src = self.classes.seen_by_own_report(port)
        return src is not None and port.partition(":")[0] in self.reporters.get(src, ())

    def links_cover(self, port: str) -> bool:
        """Whether a link-level source (LLDP, InfiniBand) looked at ``port``: what it saw there
        replaces what the as-built record says."""
        if self.classes is None:
            return False
        src = self.classes.source(port)
        if src not in (LLDP, INFINIBAND):
            return False
        return port in self.looked_at or (
            self.classes.seen_by_own_report(port) == src
            and port.partition(":")[0] in self.reporters.get(src, ())
        )
