"""Load what the floor observed, from the files technicians collect (docs/reconcile.md):

==========================================  ===========================  ==================
file                                        read by                      source
==========================================  ===========================  ==================
``lldpctl -f json`` output (or a bundle)    :mod:`.lldp`                 lldp
neighbour CSV ``device,port,neighbour_...``  :mod:`.lldp`                 lldp
``ibnetdiscover`` topology output           :mod:`.infiniband`           infiniband
``iblinkinfo`` output                       :mod:`.infiniband`           infiniband
PDU outlet report CSV ``pdu,outlet,...``    :mod:`.outlets`              pdu
console-server port status CSV              :mod:`.outlets`              console
==========================================  ===========================  ==================

The kind of each file is recognised from its content. Everything is checked against the design
(unknown devices or ports, a port with two neighbours, the two sides of a link disagreeing,
truncated or invalid files, another hall's file) and refused as a whole with every problem
found: :class:`DesignError`, nothing applied half-way.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from fieldops.adapters.observed.common import (
    MAX_BYTES,
    Collect,
    check,
    looks_truncated,
    parse_spec,
)
from fieldops.adapters.observed.ibmap import load_ib_map
from fieldops.adapters.observed.infiniband import (
    add_fabric,
    looks_like_iblinkinfo,
    looks_like_ibnetdiscover,
    read_iblinkinfo,
    read_ibnetdiscover,
)
from fieldops.adapters.observed.lldp import read_csv, read_json
from fieldops.adapters.observed.outlets import kind_of_header, read_port_report
from fieldops.adapters.yamlfile import read_text
from fieldops.core.model import Design
from fieldops.core.observation import InfinibandMap, Observations, PortClasses
from fieldops.core.problems import DesignError, Problem

__all__ = [
    "file_kind",
    "load_ib_map",
    "load_observations",
    "looks_truncated",
    "parse_spec",
]


def file_kind(text: str, path: Path) -> str:
    """'lldp-json', 'ibnetdiscover', 'iblinkinfo', 'pdu', 'console' or 'neighbours'."""
    if text.lstrip().startswith(("{", "[")) and path.suffix.lower() != ".csv":
        return "lldp-json"
    if path.suffix.lower() != ".csv":
        if looks_like_ibnetdiscover(text):
            return "ibnetdiscover"
        if looks_like_iblinkinfo(text):
            return "iblinkinfo"
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            try:
                cells = next(csv.reader(io.StringIO(line)))
            except (csv.Error, StopIteration):
                break
            return kind_of_header(cells)
    return "neighbours"


def load_observations(
    specs: list[str], design: Design, *, ib_map: InfinibandMap | None = None
) -> Observations:
    """Read every observation file and check it against the design; all or nothing."""
    classes = PortClasses(design, ib_map if ib_map is not None else load_ib_map())
    col = Collect()
    for spec in specs:
        device, path = parse_spec(spec)
        label = str(path)
        try:
            text = read_text(path, label, max_bytes=MAX_BYTES)
        except DesignError as exc:
            col.problems.extend(exc.problems)
            continue
        if "\x00" in text:
            col.problems.append(
                Problem(label, 0, "", "binary data (NUL bytes): not an observation file")
            )
            continue
        kind = file_kind(text, path)
        if kind == "lldp-json":
            read_json(text, label, device or path.stem, col)
        elif kind in ("ibnetdiscover", "iblinkinfo"):
            reader = read_ibnetdiscover if kind == "ibnetdiscover" else read_iblinkinfo
            add_fabric(reader(text, label), design, classes, col)
        elif kind in ("pdu", "console"):
            read_port_report(text, label, kind, design, classes, col)
        else:
            read_csv(text, label, col)
    return check(col, design, classes)
