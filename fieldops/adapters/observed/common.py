"""What every observation reader shares: the facts it collects, name resolution, and the
final check against the design (unknown devices and ports, a port with two neighbours, the two
sides of a link disagreeing, a file from another hall). All or nothing: any problem raises
:class:`DesignError` with every problem found."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from fieldops.core.model import Design, frozen_map
from fieldops.core.observation import INFINIBAND, LLDP, Observations, PortClasses
from fieldops.core.problems import DesignError, Problem

MAX_BYTES = 50 * 1024 * 1024
MAX_NAME = 200


@dataclass
class Seen:
    """One end's view of a link: ``device:port`` has ``ndevice:nport`` as its neighbour."""

    file: str
    line: int
    device: str
    port: str
    ndevice: str
    nport: str
    hall: str = ""


@dataclass
class Collect:
    problems: list[Problem] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    reporters: dict[str, str] = field(default_factory=dict)  # LLDP device -> file
    ib_switches: dict[str, str] = field(default_factory=dict)  # design device -> file
    looked_at: dict[str, str] = field(default_factory=dict)  # port -> file (one by one)
    # InfiniBand links, mapped and checked among themselves: port -> (peer, file, line)
    links: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    ib_pairs: list[tuple[str, str]] = field(default_factory=list)  # the same links, each once
    states: dict[str, tuple[str, str, int]] = field(
        default_factory=dict
    )  # port -> state, file, line
    halls: dict[str, str] = field(default_factory=dict)  # file -> declared hall
    strangers: set[str] = field(default_factory=set)  # files from another hall


def csv_records(
    text: str,
    label: str,
    col: Collect,
    columns: tuple[str, ...],
    *,
    any_of: tuple[str, ...] = (),
    normalise=str,
):
    """``(line, record)`` for every data row of a CSV observation file (``#`` lines are
    comments). A header without ``columns`` (or without one of ``any_of``), a row of the wrong
    length or with an over-long field, a CSV error or an empty file go to ``col.problems``."""
    body = ["" if ln.lstrip().startswith("#") else ln for ln in text.splitlines()]
    reader = csv.reader(io.StringIO("\n".join(body)))
    expected = ", ".join(columns) + (f", {' or '.join(any_of)}" if any_of else "")
    header = None
    try:
        for row in reader:
            line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            cells = [c.strip() for c in row]
            if header is None:
                header = [normalise(c.lower()) for c in cells]
                missing = [c for c in columns if c not in header]
                if any_of and not set(any_of) & set(header):
                    missing.append(" or ".join(any_of))
                if missing:
                    col.problems.append(
                        Problem(
                            label,
                            line,
                            "",
                            f"missing CSV column(s): {', '.join(missing)} (expected: {expected}[, hall])",
                        )
                    )
                    return
                continue
            if len(cells) != len(header):
                col.problems.append(
                    Problem(label, line, "", f"expected {len(header)} fields, found {len(cells)}")
                )
                continue
            rec = dict(zip(header, cells, strict=True))
            if any(len(v) > MAX_NAME for v in rec.values()):
                col.problems.append(
                    Problem(label, line, "", f"a field is over {MAX_NAME} characters")
                )
                continue
            yield line, rec
    except csv.Error as exc:
        col.problems.append(Problem(label, reader.line_num, "", f"CSV error: {exc}"))
        return
    if header is None:
        col.problems.append(
            Problem(label, 0, "", f"empty CSV: expected a header {','.join(columns)}")
        )


def parse_spec(spec: str) -> tuple[str, Path]:
    """``DEVICE=FILE`` or ``FILE`` -> (device or '', path)."""
    if "=" in spec and not Path(spec).exists():
        device, _, file = spec.partition("=")
        return device.strip(), Path(file)
    return "", Path(spec)


def looks_truncated(text: str) -> bool:
    """Whether JSON text stops inside a string or with brackets still open."""
    depth, in_str, esc = 0, False, False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
    return in_str or depth > 0


def resolver(design: Design):
    """A function: a name as a device reports it -> the design device, or None. A domain
    suffix is dropped when the short name is a design device (``leaf-a.lab.example``)."""
    devices = design.device_index()

    def resolve(name: str) -> str | None:
        if name in devices:
            return name
        short = name.split(".")[0]
        return short if short in devices else None

    return resolve


def where(file: str, line: int) -> str:
    return f"{file}:{line}" if line else file


def check(col: Collect, design: Design, classes: PortClasses) -> Observations:
    """Every fact checked against the design; the observations, or DesignError."""
    problems = list(col.problems)
    hall = design.floorplan.name
    devices = design.device_index()
    strangers = set(col.strangers)  # files from another hall: one message each
    for file, declared in sorted(col.halls.items()):
        if declared != hall:
            strangers.add(file)
            problems.append(
                Problem(
                    file,
                    0,
                    "hall",
                    f"observations are from hall '{declared}', the design is hall '{hall}'",
                )
            )
    resolve = resolver(design)

    # a whole file of strangers is another hall's file, not a few typos
    per_file: dict[str, list[Seen]] = {}
    for s in col.seen:
        per_file.setdefault(s.file, []).append(s)
    for file, seen in per_file.items():
        names = {s.device for s in seen} | {s.ndevice for s in seen}
        if names and not any(resolve(n) for n in names) and file not in strangers:
            problems.append(
                Problem(
                    file,
                    0,
                    "",
                    f"none of its {len(names)} devices is in the design (hall '{hall}'): is it from a different hall?",
                )
            )
            strangers.add(file)
    reporters: set[str] = set()
    for dev, file in col.reporters.items():
        if file in strangers:
            continue
        if resolve(dev) is None:
            problems.append(
                Problem(
                    file,
                    0,
                    "",
                    f"unknown device '{dev}': not in design '{design.name}' (hall '{hall}')",
                )
            )
        else:
            reporters.add(resolve(dev))
    # port -> (neighbour, file, line, reporting device:port, index) for LLDP; InfiniBand links
    # come mapped and checked among themselves (col.links)
    neighbour: dict[str, tuple[str, str, int, str, int]] = {}
    ib = col.links
    for i, s in enumerate(col.seen):
        if s.file in strangers:
            continue
        a_dev, b_dev = resolve(s.device), resolve(s.ndevice)
        at = f"{s.device}:{s.port}"
        if a_dev is None or b_dev is None:
            if b_dev is None:
                problems.append(
                    Problem(
                        s.file,
                        s.line,
                        at,
                        f"unknown neighbour device '{s.ndevice}': not in design '{design.name}' (hall '{hall}')",
                    )
                )
            continue
        bad = False
        for dev, port in ((a_dev, s.port), (b_dev, s.nport)):
            dt = design.device_types.get(devices[dev].device_type)
            if dt is not None and dt.ports and classes.template(f"{dev}:{port}") is None:
                problems.append(
                    Problem(s.file, s.line, at, f"device '{dev}' ({dt.slug}) has no port '{port}'")
                )
                bad = True
        if bad:
            continue
        a, b = f"{a_dev}:{s.port}", f"{b_dev}:{s.nport}"
        if a == b:
            problems.append(Problem(s.file, s.line, at, "a port cannot be its own neighbour"))
            continue
        for x, y in ((a, b), (b, a)):
            prev = neighbour.get(x)
            if prev is None and x in ib:
                q, file, line = ib[x]
                prev = (q, file, line, "", -1)
            if prev is None:
                neighbour[x] = (y, s.file, s.line, at, i)
            elif prev[0] != y:
                problems.append(
                    Problem(
                        s.file,
                        s.line,
                        at,
                        f"duplicate neighbour: {x} is seen linked to {y} here and to {prev[0]} in {where(prev[1], prev[2])}",
                    )
                )
            elif x == a and prev[3] == at and prev[4] != i:
                problems.append(
                    Problem(
                        s.file,
                        s.line,
                        at,
                        f"duplicate neighbour: {x} -- {y} listed twice (first in {where(prev[1], prev[2])})",
                    )
                )
    links = {(p, q[0]) for p, q in neighbour.items() if p < q[0]}
    links.update(col.ib_pairs)
    if problems:
        raise DesignError(sorted(set(problems), key=lambda p: (p.file, p.line, p.path, p.message)))
    by_source = {LLDP: frozenset(reporters)}
    if col.ib_switches:
        by_source[INFINIBAND] = frozenset(col.ib_switches)
    return Observations(
        hall,
        frozen_map(by_source),
        tuple(sorted(links)),
        frozenset(col.looked_at),
        frozen_map({p: st for p, (st, _, _) in sorted(col.states.items())}),
        classes,
    )
