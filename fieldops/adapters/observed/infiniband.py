"""InfiniBand links as ``ibnetdiscover`` and ``iblinkinfo`` (rdma-core infiniband-diags) print
them, mapped to design devices and ports.

* ``ibnetdiscover`` (the topology file): per node a header ``Switch 65 "S-<guid>" # "<node
  description>" enhanced port 0 lid 12 lmc 0`` or ``Ca 1 "H-<guid>" # "<node description>"``,
  then one line per connected port: ``[3] "H-<guid>"[1](<port guid>) # "<remote description>"
  lid 7 4xNDR`` on a switch, ``[1](<port guid>) "S-<guid>"[3] # lid 7 lmc 0 "<remote
  description>" lid 12 4xNDR`` on a CA; ``vendid=``/``devid=``/``*guid=`` lines, ``Chassis``
  headers and ``[ext N]`` marks (``-g``) are read past.
* ``iblinkinfo`` (default and ``-l`` line mode): ``Switch: 0x<guid> <description>:`` or ``CA:
  <description>:`` headers, then per port ``<lid> <port>[  ] ==( 4X 106.25 Gbps Active/
  LinkUp)==> <remote lid> <remote port>[  ] "<remote description>" ( )``; a port with nothing
  plugged prints ``==( Down/ Polling)==> [  ] "" ( )`` and is looked at all the same.

Node descriptions name the device: a switch by its design name (``leaf-su01-r1``, or the
unmanaged form ``MF0;leaf-su01-r1:MQM9700/U1``), an HCA as rdma-ndd writes it by default:
``<hostname> <hca>`` (``dgx-su01-01 mlx5_3``); a domain suffix is dropped. When the fabric's
descriptions are not the design names, give ibnetdiscover/iblinkinfo ``--node-name-map FILE``
(``<guid> "<name>"`` lines). Port numbers become design ports through
:class:`fieldops.core.observation.InfinibandMap` (switch port numbering per device type; HCA
name -> port per device type, else ``mlx5_N`` = the host's (N+1)-th InfiniBand port).

Every switch found is an InfiniBand reporter for all its InfiniBand ports; every HCA port found
is looked at on its own (a host's other fabric is another file's business).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fieldops.adapters.observed.common import Collect, resolver
from fieldops.core.model import Design
from fieldops.core.observation import PortClasses
from fieldops.core.problems import Problem

SWITCH, CA = "switch", "ca"

_NODE = re.compile(
    r'^(?P<type>Switch|Ca|Rt)\s+(?P<ports>\d+)\s+"(?P<t>[SHR?])-(?P<guid>[0-9a-fA-F]+)"\s*'
    r'(?:#\s*"(?P<desc>.*)"(?P<tail>.*))?$'
)
_PORT = re.compile(
    r"^\[(?P<port>\d+)\](?:\((?P<pguid>[0-9a-fA-F]+)\))?(?:\[ext [^\]]*\])?\s+"
    r'"(?P<t>[SHR?])-(?P<guid>[0-9a-fA-F]+)"\[(?P<rport>\d+)\](?:\[ext [^\]]*\])?\s*'
    r"(?:\((?P<rpguid>[0-9a-fA-F]+)\))?\s*(?:#(?P<comment>.*))?$"
)
_REMOTE_DESC = re.compile(r'"(.*)"\s+lid\s')
_SKIP = re.compile(r"^(?:#.*|\w+=.*|Chassis\b.*|Non-Chassis Nodes\s*|Hostname:.*)$")
_LI_SWITCH = re.compile(r"^Switch:\s+0x(?P<guid>[0-9a-fA-F]+)\s+(?P<desc>.*):\s*$")
_LI_CA = re.compile(r"^(?P<type>CA|Router):\s+(?P<desc>.*):\s*$")
_LI_PORT = re.compile(
    r'^\s*(?:0x(?P<guid>[0-9a-fA-F]+)\s+)?(?:"(?P<desc>[^"]*)"\s+)?(?P<lid>\d+)\s+(?P<port>\d+)'
    r"\[[^\]]*\]\s+==\((?P<link>[^)]*)\)==>\s*(?P<rest>.*)$"
)
_LI_REMOTE = re.compile(
    r'^(?:0x(?P<guid>[0-9a-fA-F]+)\s+)?(?P<lid>\d+)\s+(?P<port>\d+)\[[^\]]*\]\s+"(?P<desc>.*)"\s+\(.*\)\s*$'
)
_LI_NOTHING = re.compile(r'^\[\s*\]\s+""\s+\(\s*\)\s*$|^"Port not available"\s*$')
_HCA = re.compile(r"^[A-Za-z][\w-]*_\d+$")
_MF0 = re.compile(r"^MF0;([^:]+):")


def looks_like_ibnetdiscover(text: str) -> bool:
    head = text[:20000]
    return bool(re.search(r'^(?:Switch|Ca|Rt)\s+\d+\s+"[SHR]-', head, re.M)) or bool(
        re.search(r"^# Topology file:", head, re.M)
    )


def looks_like_iblinkinfo(text: str) -> bool:
    head = text[:20000]
    return bool(re.search(r"^(?:Switch: 0x[0-9a-fA-F]+ .*:|CA: .*:)\s*$", head, re.M)) or bool(
        re.search(r"\)==>", head)
    )


@dataclass
class _Fabric:
    """What one file says: nodes and links, before any design names."""

    label: str
    nodes: dict = field(default_factory=dict)  # key -> (kind, description, line)
    links: dict = field(default_factory=dict)  # (key, port) -> ((key, port), line), both ways
    down: dict = field(default_factory=dict)  # (key, port) -> line: printed with nothing plugged
    problems: list = field(default_factory=list)

    def link(self, a: tuple, b: tuple, line: int) -> None:
        links = self.links
        la, lb = links.get(a), links.get(b)
        if (la is None or la[0] == b) and (lb is None or lb[0] == a):
            if la is None:
                links[a] = (b, line)
            if lb is None:
                links[b] = (a, line)
            return
        x, y, prev = (a, b, la) if la is not None and la[0] != b else (b, a, lb)
        self.problems.append(
            Problem(
                self.label,
                line,
                "",
                f"the two sides disagree: port {x[1]} of {self.name(x[0])} is linked to "
                f"{self.name(y[0])} port {y[1]} here and to {self.name(prev[0][0])} port "
                f"{prev[0][1]} at line {prev[1]}",
            )
        )

    def name(self, key) -> str:
        node = self.nodes.get(key)
        return f'"{node[1]}"' if node else f"node {key}"


def read_ibnetdiscover(text: str, label: str) -> _Fabric:
    fab = _Fabric(label)
    nodes = fab.nodes
    current = None
    pending: list[tuple] = []  # (key, port, remote key, remote port, remote type, comment, line)
    port_re, node_re, skip_re = _PORT.match, _NODE.match, _SKIP.match
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line:
            continue
        if line[0] in " \t":
            line = line.strip()
            if not line:
                continue
        if line[0] == "[":
            m = port_re(line)
            if m:
                if current is None:
                    fab.problems.append(
                        Problem(label, line_no, "", "a port line before any Switch/Ca line")
                    )
                    continue
                pending.append(
                    (
                        current,
                        int(m["port"]),
                        m["guid"].lower(),
                        int(m["rport"]),
                        m["t"],
                        m["comment"],
                        line_no,
                    )
                )
                continue
        elif skip_re(line):
            continue
        else:
            m = node_re(line)
            if m:
                if m["desc"] is None:
                    fab.problems.append(
                        Problem(label, line_no, "", 'node without a description (# "...")')
                    )
                current = m["guid"].lower()
                nodes[current] = (
                    SWITCH if m["type"] == "Switch" else CA,
                    (m["desc"] or "").strip(),
                    line_no,
                )
                continue
        fab.problems.append(
            Problem(label, line_no, "", f"not ibnetdiscover output: cannot read '{_short(line)}'")
        )
    link = fab.link
    for key, port, rkey, rport, rtype, comment, line_no in pending:
        if rkey not in nodes:  # a truncated file: the remote node's section is missing
            d = _REMOTE_DESC.search(comment or "")
            nodes[rkey] = (SWITCH if rtype == "S" else CA, d.group(1).strip() if d else "", line_no)
        link((key, port), (rkey, rport), line_no)
    if not nodes and not fab.problems:
        fab.problems.append(
            Problem(
                label, 0, "", "no InfiniBand nodes found (expected 'Switch ...' or 'Ca ...' lines)"
            )
        )
    return fab


def read_iblinkinfo(text: str, label: str) -> _Fabric:
    fab = _Fabric(label)
    current = None
    kinds: dict[str, str] = {}  # description -> kind, from the headers
    rows = []
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _LI_SWITCH.match(line) or _LI_CA.match(line)
        if m:
            current = m["desc"].strip()
            kinds[current] = SWITCH if line.startswith("Switch") else CA
            fab.nodes[current] = (kinds[current], current, line_no)
            continue
        m = _LI_PORT.match(line)
        if m:
            local = m["desc"].strip() if m["desc"] is not None else current
            if local is None:
                fab.problems.append(
                    Problem(label, line_no, "", "a port line before any Switch:/CA: line")
                )
                continue
            rest = m["rest"].strip()
            if _LI_NOTHING.match(rest):
                rows.append((local, int(m["port"]), None, None, line_no))
                continue
            r = _LI_REMOTE.match(rest)
            if not r:
                fab.problems.append(
                    Problem(
                        label, line_no, "", f"cannot read the far end of '{_short(line.strip())}'"
                    )
                )
                continue
            rows.append((local, int(m["port"]), r["desc"].strip(), int(r["port"]), line_no))
            continue
        fab.problems.append(
            Problem(
                label, line_no, "", f"not iblinkinfo output: cannot read '{_short(line.strip())}'"
            )
        )
    for local, port, rdesc, rport, line_no in rows:
        if local not in fab.nodes:
            fab.nodes[local] = (kinds.get(local) or _guess_kind(local), local, line_no)
        if rdesc is None:
            fab.down.setdefault((local, port), line_no)
            continue
        if rdesc not in fab.nodes:
            fab.nodes[rdesc] = (kinds.get(rdesc) or _guess_kind(rdesc), rdesc, line_no)
        fab.link((local, port), (rdesc, rport), line_no)
    if not fab.nodes and not fab.problems:
        fab.problems.append(
            Problem(label, 0, "", "no InfiniBand nodes found (expected 'Switch:' or 'CA:' lines)")
        )
    return fab


def _guess_kind(desc: str) -> str:
    parts = desc.split()
    return CA if len(parts) >= 2 and _HCA.match(parts[1]) else SWITCH


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def add_fabric(fab: _Fabric, design: Design, classes: PortClasses, col: Collect) -> None:
    """Map a fabric's nodes and ports to design devices and ports, into ``col``."""
    col.problems.extend(fab.problems)
    if fab.problems:
        return
    resolve = resolver(design)
    label = fab.label
    named: dict = {}  # key -> (device, hca) or None
    unknown: list[tuple] = []
    for key, (kind, desc, line) in fab.nodes.items():
        device, hca = _node_device(kind, desc, resolve)
        named[key] = (device, hca) if device else None
        if device is None:
            unknown.append((line, kind, desc))
    if unknown and len(unknown) == len(fab.nodes):
        col.problems.append(
            Problem(
                label,
                0,
                "",
                f"none of its {len(fab.nodes)} InfiniBand nodes is a device of design '{design.name}' (hall '{design.floorplan.name}'): is it from a different hall?",
            )
        )
        return
    for line, kind, desc in sorted(unknown):
        col.problems.append(
            Problem(
                label,
                line,
                "",
                f"unknown InfiniBand {'switch' if kind == SWITCH else 'HCA'} '{desc}': no design device of that name"
                + (
                    " (an HCA's node description is '<hostname> <hca>', e.g. 'dgx-01 mlx5_0')"
                    if kind == CA
                    else ""
                )
                + "; if the fabric's node descriptions are not design names, run ibnetdiscover with --node-name-map",
            )
        )
    switches, looked_at = col.ib_switches, col.looked_at
    kinds = {key: node[0] for key, node in fab.nodes.items()}
    per_type: dict = {}  # (device type, number) -> switch port name: the same on every switch
    dtype = {d.name: d.device_type for d in design.devices}
    not_ib: set[str] = set()

    def mapped(key, number: int, line: int, quiet: bool) -> str | None:
        """``device:port`` of a fabric port, or None (a problem is recorded unless quiet)."""
        node = named.get(key)
        if node is None:
            return None
        device, hca = node
        if kinds[key] == SWITCH:
            k = (dtype[device], number)
            name = per_type.get(k)
            if name is None and not classes.infiniband_ports(device):
                if device not in not_ib:  # once per switch, at its Switch line
                    not_ib.add(device)
                    _design_port(
                        SWITCH, device, "", number, classes, design, label, fab.nodes[key][2], col
                    )
                return None
            if name is None:
                name = _design_port(
                    SWITCH, device, "", number, classes, design, label, line, col, quiet
                )
                if name is None:
                    return None
                per_type[k] = name
            if device not in switches:
                switches[device] = label
            return f"{device}:{name}"
        name = classes.hca_port(device, hca, number) if hca else None
        if name is None:
            _design_port(CA, device, hca, number, classes, design, label, line, col, quiet)
            return None
        port = f"{device}:{name}"
        looked_at.setdefault(port, label)
        return port

    for (key, number), line in fab.down.items():
        mapped(key, number, line, True)
    found, pairs = col.links, col.ib_pairs
    for a, (b, line) in fab.links.items():
        if not a < b:  # every link is held both ways: take it once
            continue
        x, y = mapped(a[0], a[1], line, False), mapped(b[0], b[1], line, False)
        if x is None or y is None:
            continue
        if x not in found and y not in found:  # the usual case: a port seen once
            found[x] = (y, label, line)
            found[y] = (x, label, line)
            pairs.append((x, y) if x < y else (y, x))
            continue
        for p, q in ((x, y), (y, x)):
            prev = found.get(p)
            if prev is None:
                found[p] = (q, label, line)
                pairs.append((p, q) if p < q else (q, p))
            elif prev[0] != q:
                first = prev[2]
                col.problems.append(
                    Problem(
                        label,
                        line,
                        p,
                        f"duplicate neighbour: {p} is seen linked to {q} here and to {prev[0]} in {prev[1]}:{first}",
                    )
                )


def _node_device(kind: str, desc: str, resolve) -> tuple[str | None, str]:
    if kind == CA:
        parts = desc.split()
        if not parts:
            return None, ""
        return resolve(parts[0]), (parts[1] if len(parts) > 1 else "")
    candidates = [desc]
    m = _MF0.match(desc)
    if m:
        candidates.append(m.group(1))
    if desc.split():
        candidates.append(desc.split()[0])
    for c in candidates:
        found = resolve(c.strip())
        if found:
            return found, ""
    return None, ""


def _design_port(
    kind, device, hca, number, classes: PortClasses, design, label, line, col, quiet=False
) -> str | None:
    """The design port, or None with the reason recorded (unless ``quiet``)."""
    dev = design.device(device)

    def refuse(message: str) -> None:
        if not quiet:
            col.problems.append(Problem(label, line, "", message))

    if kind == SWITCH:
        if not classes.infiniband_ports(device):
            refuse(
                f"{device} ({dev.device_type}) is an InfiniBand switch in this fabric but its "
                "device type has no InfiniBand ports: declare the type under 'switches:' in the "
                "InfiniBand map (--ib-map) or type its ports infiniband-*"
            )
            return None
        port = classes.switch_port(device, number)
        if port is None:
            refuse(
                f"{device} ({dev.device_type}) has no port numbered {number} "
                f"(InfiniBand map: switches.{dev.device_type})"
            )
        return port
    if not hca:
        refuse(
            f"the HCA node description of {device} names no HCA "
            f"(expected '{device} mlx5_N', rdma-ndd's default)"
        )
        return None
    port = classes.hca_port(device, hca, number)
    if port is None:
        refuse(
            f"{device} {hca} port {number} is not a design port of {device} "
            f"({dev.device_type}): map it under 'hcas.{dev.device_type}' in the InfiniBand map "
            "(--ib-map)"
        )
    return port
