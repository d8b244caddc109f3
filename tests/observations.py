"""A built hall as the floor would observe it, written in the real tools' formats.

:class:`World` is what is physically plugged (by default: the design, every cable in place);
:func:`inject` changes it the way technicians get it wrong (a cable left out, two ends swapped,
an end in a wrong port, a cable nobody designed) and returns what it did. The writers produce
a complete observation set of the world as technicians collect it: ``lldpctl -f json`` from every
device with Ethernet ports (one file per device, or per-rack bundles), ``ibnetdiscover`` /
``iblinkinfo`` output per InfiniBand fabric, a PDU outlet report.

This module restates, on its own terms, which ports are InfiniBand and how switches number them
(``ib_switch_number``): the tests check fieldops' mapping against it, not against itself.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from fieldops.core.labels import assign_cable_ids

IB_SWITCH_TYPES = {"nvidia-qm9700", "nvidia-qm9700-64p"}  # fieldops/data/infiniband.yaml
ETHERNET, INFINIBAND, POWER, CONSOLE = "ethernet", "infiniband", "power", "console"


def ib_switch_number(dt, port_name: str) -> int:
    """The port number ibnetdiscover prints for a switch port: QM9700 cage c lane l (``Pc.l``,
    cages from 0) is 2c + l + 1; other switches number their InfiniBand ports in type order."""
    if dt.slug in IB_SWITCH_TYPES:
        cage, lane = port_name[1:].split(".")
        return 2 * int(cage) + int(lane) + 1
    ib = [p.name for p in dt.ports if p.kind == "interface" and p.type.startswith("infiniband")]
    return ib.index(port_name) + 1


def guid(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") | 1


@dataclass
class Fault:
    kind: str  # missing | swapped | wrong_port | unexpected
    cls: str  # ethernet | infiniband | power
    cables: tuple[str, ...] = ()  # designed cable IDs it touches
    link: tuple[str, ...] = ()  # unexpected: the ports it joins; wrong_port: the port it went to


@dataclass
class World:
    design: object
    links: dict[str, str] = field(default_factory=dict)  # port -> port, both ways
    hca_names: dict[str, dict[str, str]] = field(default_factory=dict)  # slug -> {port: hca}

    def __post_init__(self):
        d = self.design
        self.ids = assign_cable_ids(d.cables)[0]
        self.dtype = {dev.name: d.device_types[dev.device_type] for dev in d.devices}
        self.tmpl = {slug: {p.name: p for p in dt.ports} for slug, dt in d.device_types.items()}
        self.ib_switch = {
            n for n, dt in self.dtype.items() if dt.slug in IB_SWITCH_TYPES or self._has_ib_type(dt)
        }
        self.designed_ports = {p for c in d.cables for p in (str(c.a), str(c.b))}
        self.ib_ports: set[str] = set()
        for c in d.cables:
            a, b = str(c.a), str(c.b)
            for x, y in ((a, b), (b, a)):
                if self._switch_ib(x):
                    self.ib_ports.update((x, y))
        if not self.links:
            for c in d.cables:
                self.plug(str(c.a), str(c.b))

    @staticmethod
    def _has_ib_type(dt) -> bool:
        return any(p.type.startswith("infiniband") for p in dt.ports if p.kind == "interface")

    def template(self, port: str):
        dev, _, name = port.partition(":")
        return self.tmpl[self.dtype[dev].slug].get(name)

    def _switch_ib(self, port: str) -> bool:
        dev = port.partition(":")[0]
        t = self.template(port)
        return dev in self.ib_switch and t.kind == "interface" and not t.mgmt_only

    def cls(self, port: str) -> str | None:
        t = self.template(port)
        if t is None:
            return None
        if t.kind == "interface":
            return INFINIBAND if port in self.ib_ports or self._switch_ib(port) else ETHERNET
        if t.kind in ("power-port", "power-outlet"):
            return POWER
        if t.kind in ("console-port", "console-server-port"):
            return CONSOLE
        return None

    def cable_cls(self, c) -> str | None:
        return self.cls(str(c.a)) if self.cls(str(c.a)) == self.cls(str(c.b)) else None

    def plug(self, a: str, b: str) -> None:
        assert a not in self.links and b not in self.links, (a, b)
        self.links[a], self.links[b] = b, a

    def unplug(self, a: str) -> str:
        b = self.links.pop(a)
        del self.links[b]
        return b

    def pairs(self) -> list[tuple[str, str]]:
        return sorted({tuple(sorted((a, b))) for a, b in self.links.items()})

    def spare(self, device: str, cls: str) -> list[str]:
        """Non-management ports of the class nobody designed a cable for and nothing holds."""
        dt = self.dtype[device]
        out = []
        for p in dt.ports:
            port = f"{device}:{p.name}"
            if port in self.designed_ports or port in self.links or getattr(p, "mgmt_only", False):
                continue
            if p.kind != "interface":
                continue
            if cls == INFINIBAND and not self._switch_ib(port):
                continue
            if cls == ETHERNET and (self._switch_ib(port) or port in self.ib_ports):
                continue
            out.append(port)
        return out

    def hca_of(self, port: str) -> str:
        """The HCA name a host's InfiniBand port answers to (default: mlx5_<index in type order>)."""
        dev, _, name = port.partition(":")
        dt = self.dtype[dev]
        if dt.slug in self.hca_names:
            return self.hca_names[dt.slug][name]
        ib = [
            p.name for p in dt.ports if p.kind == "interface" and f"{dev}:{p.name}" in self.ib_ports
        ]
        return f"mlx5_{ib.index(name)}"


# ---------------------------------------------------------------- faults


def inject(world: World, rng: random.Random, plan: dict[str, dict[str, int]]) -> list[Fault]:
    """Change the world: ``plan`` is ``{class: {kind: count}}``; every fault touches cables no
    other fault touches. Returns the faults made (fewer where the hall leaves no room)."""
    d = world.design
    touched: set[str] = set()
    faults: list[Fault] = []
    by_cls: dict[str, list] = {}
    for c in sorted(d.cables, key=lambda c: world.ids[c.key]):
        cls = world.cable_cls(c)
        if cls:
            by_cls.setdefault(cls, []).append(c)

    def free(c) -> bool:
        return world.ids[c.key] not in touched and world.links.get(str(c.a)) == str(c.b)

    for cls, kinds in sorted(plan.items()):
        cables = by_cls.get(cls, [])
        for kind, count in sorted(kinds.items()):
            for _ in range(count):
                rng.shuffle(cables)
                made = _one(world, rng, cls, kind, [c for c in cables if free(c)], touched)
                if made is not None:
                    faults.append(made)
                    touched.update(made.cables)
                    touched.update(made.link)
    return faults


def _one(
    world: World, rng: random.Random, cls: str, kind: str, cables: list, touched
) -> Fault | None:
    ids = world.ids
    if kind == "missing" and cables:
        c = cables[0]
        world.unplug(str(c.a))
        return Fault("missing", cls, (ids[c.key],))
    if kind == "swapped":
        by_dev: dict[str, list] = {}
        for c in cables:
            for end in (str(c.a), str(c.b)):
                by_dev.setdefault(end.partition(":")[0], []).append((c, end))
        devices = sorted(d for d, cs in by_dev.items() if len(cs) >= 2)
        rng.shuffle(devices)
        for dev in devices:
            (c1, e1), (c2, e2) = rng.sample(by_dev[dev], 2)
            if c1.key == c2.key:
                continue
            o1, o2 = world.links[e1], world.links[e2]
            if o1.partition(":")[0] == dev or o2.partition(":")[0] == dev:
                continue
            world.unplug(e1)
            world.unplug(e2)
            world.plug(e1, o2)
            world.plug(e2, o1)
            return Fault("swapped", cls, (ids[c1.key], ids[c2.key]))
        return None
    if kind == "wrong_port":
        for c in cables:
            ends = [str(c.a), str(c.b)]
            rng.shuffle(ends)
            for end in ends:
                other = world.links[end]
                dev = end.partition(":")[0]
                same_type = [
                    n for n, dt in world.dtype.items() if dt is world.dtype[dev] and n != dev
                ]
                targets = [dev] + (
                    rng.sample(same_type, min(2, len(same_type))) if rng.random() < 0.4 else []
                )
                rng.shuffle(targets)
                for target in targets:
                    if target == other.partition(":")[0]:
                        continue
                    spare = [p for p in world.spare(target, cls) if p not in touched]
                    if spare:
                        new = rng.choice(spare)
                        world.unplug(end)
                        world.plug(other, new)
                        return Fault("wrong_port", cls, (ids[c.key],), (new,))
        return None
    if kind == "unexpected":
        devices = sorted(world.dtype)
        rng.shuffle(devices)
        with_spare = [(d, world.spare(d, cls)) for d in devices[:200]]
        with_spare = [(d, [p for p in s if p not in touched]) for d, s in with_spare]
        with_spare = [(d, s) for d, s in with_spare if s]
        if len(with_spare) < 2:
            return None
        (d1, s1), (d2, s2) = with_spare[:2]
        a, b = rng.choice(s1), rng.choice(s2)
        world.plug(a, b)
        return Fault("unexpected", cls, (), tuple(sorted((a, b))))
    return None


# ---------------------------------------------------------------- LLDP


def _lldp_iface(neighbour: str, fqdn: bool) -> dict:
    dev, _, port = neighbour.partition(":")
    name = f"{dev}.hall.example" if fqdn else dev
    return {
        "via": "LLDP",
        "rid": "1",
        "age": "0 day, 00:01:02",
        "chassis": {
            name: {
                "id": {
                    "type": "mac",
                    "value": "0c:42:a1:" + guid(dev).to_bytes(8, "big")[:3].hex(":"),
                },
                "descr": "lldpd on the device",
                "capability": [{"type": "Bridge", "enabled": True}],
            }
        },
        "port": {"id": {"type": "ifname", "value": port}, "descr": port, "ttl": "120"},
    }


def lldp_output(world: World, device: str, rng: random.Random) -> dict:
    """``lldpctl -f json`` on ``device``: its non-management Ethernet ports with a neighbour."""
    seen = []
    for p in world.dtype[device].ports:
        port = f"{device}:{p.name}"
        if p.kind != "interface" or p.mgmt_only or world.cls(port) != ETHERNET:
            continue
        if port in world.links:
            seen.append((p.name, world.links[port]))
    if not seen:
        return {"lldp": {}}
    fqdn = rng.random() < 0.3
    if len(seen) == 1:  # lldpd writes a lone interface as an object
        return {"lldp": {"interface": {seen[0][0]: _lldp_iface(seen[0][1], fqdn)}}}
    return {"lldp": {"interface": [{name: _lldp_iface(n, fqdn)} for name, n in seen]}}


def write_lldp(
    world: World, folder: Path, rng: random.Random, *, reporters=None, bundles: float = 0.5
) -> list[str]:
    """``lldpctl -f json`` of every device with Ethernet ports (or those ``reporters(name)``
    accepts): one ``DEVICE.json`` each, or for a share ``bundles`` of the racks one bundle."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    racks: dict[str, list[str]] = {}
    for dev in world.design.devices:
        dt = world.dtype[dev.name]
        if reporters is not None and not reporters(dev.name):
            continue
        if any(
            p.kind == "interface" and world.cls(f"{dev.name}:{p.name}") == ETHERNET
            for p in dt.ports
        ):
            racks.setdefault(dev.rack, []).append(dev.name)
    for rack, names in sorted(racks.items()):
        if rng.random() < bundles:
            path = folder / f"rack-{rack}.json"
            body = {name: lldp_output(world, name, rng) for name in sorted(names)}
            path.write_text(json.dumps({"hall": world.design.floorplan.name, "devices": body}))
            files.append(str(path))
        else:
            for name in sorted(names):
                path = folder / f"{name}.json"
                path.write_text(json.dumps(lldp_output(world, name, rng), indent=1))
                files.append(str(path))
    return files


# ---------------------------------------------------------------- InfiniBand


def _ib_nodes(world: World):
    """Fabric nodes: switches by device, HCAs by (host, hca); links between (node, port number)."""

    def node_of(port: str):
        dev, _, name = port.partition(":")
        if dev in world.ib_switch:
            return ("S", dev), ib_switch_number(world.dtype[dev], name)
        return ("H", dev, world.hca_of(port)), 1

    links = []
    for a, b in world.pairs():
        if world.cls(a) == INFINIBAND and world.cls(b) == INFINIBAND:
            links.append((node_of(a), node_of(b)))
    return links


def _fabrics(links) -> list[list]:
    parent: dict = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for (na, _), (nb, _) in links:
        parent[find(na)] = find(nb)
    groups: dict = {}
    for link in links:
        groups.setdefault(find(link[0][0]), []).append(link)
    return [groups[k] for k in sorted(groups, key=repr)]


def _desc(node, rng: random.Random, style: dict) -> str:
    if node[0] == "S":
        dev = node[1]
        form = style.setdefault(node, rng.choice(("plain", "mf0", "fqdn")))
        return {"plain": dev, "mf0": f"MF0;{dev}:MQM9700/U1", "fqdn": f"{dev}.ib.example"}[form]
    return f"{node[1]} {node[2]}"


def _gid(node) -> int:
    return guid("/".join(node))


def _fabric_view(links, rng: random.Random) -> tuple[dict, dict, dict]:
    """node -> {port: (node, port)}, node -> description, node -> LID."""
    ports: dict = {}
    for (na, pa), (nb, pb) in links:
        ports.setdefault(na, {})[pa] = (nb, pb)
        ports.setdefault(nb, {})[pb] = (na, pa)
    style: dict = {}
    desc = {n: _desc(n, rng, style) for n in ports}
    lid = {n: i + 1 for i, n in enumerate(sorted(ports, key=repr))}
    return ports, desc, lid


def ibnetdiscover_text(links, rng: random.Random) -> str:
    """The topology file ibnetdiscover prints for one fabric."""
    ports, desc, lid = _fabric_view(links, rng)
    out = [
        "#",
        "# Topology file: generated on Tue Mar  3 10:00:00 2026",
        "#",
        f"# Initiated from node {_gid(next(iter(sorted(ports, key=repr)))):016x} port {_gid(next(iter(sorted(ports, key=repr)))):016x}",
    ]
    for n in sorted((n for n in ports if n[0] == "S"), key=repr):
        g = _gid(n)
        out += [
            "",
            "vendid=0x2c9",
            "devid=0xd2f0",
            f"sysimgguid=0x{g:x}",
            f"switchguid=0x{g:x}({g:x})",
        ]
        out.append(f'Switch\t65 "S-{g:016x}"\t\t# "{desc[n]}" enhanced port 0 lid {lid[n]} lmc 0')
        for p in sorted(ports[n]):
            rn, rp = ports[n][p]
            rg = _gid(rn)
            pg = f"({rg:x}) " if rn[0] == "H" else ""
            kind = "H" if rn[0] == "H" else "S"
            out.append(f'[{p}]\t"{kind}-{rg:016x}"[{rp}]{pg}\t\t# "{desc[rn]}" lid {lid[rn]} 4xNDR')
    for n in sorted((n for n in ports if n[0] == "H"), key=repr):
        g = _gid(n)
        out += ["", "vendid=0x2c9", "devid=0x1021", f"sysimgguid=0x{g ^ 0xFF:x}", f"caguid=0x{g:x}"]
        out.append(f'Ca\t1 "H-{g:016x}"\t\t# "{desc[n]}"')
        for p in sorted(ports[n]):
            rn, rp = ports[n][p]
            rg = _gid(rn)
            kind = "H" if rn[0] == "H" else "S"
            extra = f" ({rg:x}) " if rn[0] == "H" else ""
            out.append(
                f'[{p}]({g:x}) \t"{kind}-{rg:016x}"[{rp}]{extra}\t\t# lid {lid[n]} lmc 0 "{desc[rn]}" lid {lid[rn]} 4xNDR'
            )
    return "\n".join(out) + "\n"


def iblinkinfo_text(links, rng: random.Random, switch_ports: dict) -> str:
    """iblinkinfo's default output for one fabric; ``switch_ports`` (switch -> port count) adds
    the ports with nothing plugged ("Down/ Polling")."""
    ports, desc, lid = _fabric_view(links, rng)
    out = []
    for n in sorted((n for n in ports if n[0] == "S"), key=repr):
        out.append(f"Switch: 0x{_gid(n):016x} {desc[n]}:")
        for p in range(1, switch_ports.get(n[1], max(ports[n])) + 1):
            if p in ports[n]:
                rn, rp = ports[n][p]
                out.append(
                    f'      {lid[n]:6d} {p:4d}[  ] ==( 4X      106.25 Gbps Active/  LinkUp)==>  {lid[rn]:6d} {rp:4d}[  ] "{desc[rn]}" ( )'
                )
            else:
                out.append(
                    f'      {lid[n]:6d} {p:4d}[  ] ==(                Down/ Polling)==>             [  ] "" ( )'
                )
    for n in sorted((n for n in ports if n[0] == "H"), key=repr):
        out.append(f"CA: {desc[n]}:")
        for p in sorted(ports[n]):
            rn, rp = ports[n][p]
            out.append(
                f'      0x{_gid(n):016x} {lid[n]:6d} {p:4d}[  ] ==( 4X      106.25 Gbps Active/  LinkUp)==>  {lid[rn]:6d} {rp:4d}[  ] "{desc[rn]}" ( )'
            )
    return "\n".join(out) + "\n"


def write_infiniband(world: World, folder: Path, rng: random.Random) -> list[str]:
    """One file per fabric (connected part of the InfiniBand links): ibnetdiscover for most,
    iblinkinfo for some."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    counts = {
        dev: max(
            ib_switch_number(world.dtype[dev], p.name)
            for p in world.dtype[dev].ports
            if world._switch_ib(f"{dev}:{p.name}")
        )
        for dev in world.ib_switch
    }
    for i, links in enumerate(_fabrics(_ib_nodes(world))):
        if rng.random() < 0.25:
            path = folder / f"fabric-{i}.iblinkinfo.txt"
            path.write_text(iblinkinfo_text(links, rng, counts))
        else:
            path = folder / f"fabric-{i}.ibnetdiscover.txt"
            path.write_text(ibnetdiscover_text(links, rng))
        files.append(str(path))
    return files


# ---------------------------------------------------------------- power


def write_pdu_report(world: World, path: Path, *, off: set[str] = frozenset()) -> str:
    """A PDU outlet report: every outlet of every PDU; an outlet with a cord draws (unless its
    device is in ``off``), one without reads 0.00 A."""
    rows = ["pdu,outlet,state,current_a"]
    for dev in world.design.devices:
        dt = world.dtype[dev.name]
        for p in dt.ports:
            if p.kind != "power-outlet":
                continue
            port = f"{dev.name}:{p.name}"
            plugged = world.links.get(port)
            drawing = plugged is not None and plugged.partition(":")[0] not in off
            number = "".join(ch for ch in p.name if ch.isdigit())
            rows.append(f"{dev.name},{number or p.name},on,{'1.42' if drawing else '0.00'}")
    path.write_text("\n".join(rows) + "\n")
    return str(path)
