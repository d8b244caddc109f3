"""NetBox device and cable CSV files, as read-in stand-ins for elevations/connections.

Both kinds of NetBox CSV are read (see :mod:`fieldops.adapters.netbox_fields`): the
bulk-import style (``name, device_type, rack, position, face``; ``side_a_device,
side_a_name, ...``) and NetBox's own UI export (``Name, Type, Rack, Position, Rack face``;
``Device A, Termination A, ...``), with any of NetBox's CSV delimiters (``,`` ``;`` ``|`` tab).

- devices: ``name``, ``device_type`` (slug or model name; ``manufacturer`` disambiguates a
  model), ``rack``, optional ``position`` (``10`` or ``10.0``), ``face`` (value or label, any
  case), ``role`` (a role name is slugified: ``Compute Leaf`` -> ``compute-leaf``),
  ``asset_tag``, ``serial``, ``status``; other NetBox columns are ignored.
- cables: ``side_a_device``, ``side_a_name``, ``side_b_device``, ``side_b_name``, optional
  ``type`` (NetBox cable type, value or label), ``label``, ``status`` and fieldops' own
  ``media`` column. Without ``media``, the media is the first catalogue entry whose
  ``cable_type`` equals ``type`` and whose ``port_types`` fit both ends (else the first with
  that ``cable_type``). NetBox's side A is fieldops' ``a``.

Devices and cables whose NetBox status is ``decommissioning`` are not part of the design and
are skipped. Problems name the row as ``devices[i]`` / ``cables[i]`` (``i`` counts data rows
from 0) with the CSV line number.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Collection, Mapping
from pathlib import Path

from fieldops.adapters.netbox_fields import (
    CABLE_HEADERS,
    CABLE_TYPES,
    DEVICE_HEADERS,
    DEVICE_STATUSES,
    FACES,
    LINK_STATUSES,
    choice_value,
    empty,
    header_key,
    slugify,
    split_suffix,
)
from fieldops.adapters.yamlfile import bad_char, display_path, read_text
from fieldops.core.model import FRONT, Cable, Device, DeviceType, Media, Source, Termination
from fieldops.core.problems import DesignError, Problem

POWER_KINDS = ("power-port", "power-outlet")
DEVICE_COLUMNS = ("name", "device_type", "rack")
CABLE_COLUMNS = ("side_a_device", "side_a_name", "side_b_device", "side_b_name")
# what NetBox's UI export calls a required column, for the "missing column" message
UI_NAMES = {
    "name": "Name",
    "device_type": "Type",
    "rack": "Rack",
    "side_a_device": "Device A",
    "side_a_name": "Termination A",
    "side_b_device": "Device B",
    "side_b_name": "Termination B",
}
KINDS = {
    "devices": (DEVICE_COLUMNS, DEVICE_HEADERS),
    "cables": (CABLE_COLUMNS, CABLE_HEADERS),
}
DELIMITERS = ",;|\t"  # NetBox's CSV_DELIMITERS
DECOMMISSIONING = "decommissioning"
MAX_FIELD = 200
MAX_ROWS = 2_000_000


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_rows(
    path: Path, kind: str, problems: list[Problem], base: Path | None = None
) -> tuple[str, list[tuple[int, str, dict[str, str]]]]:
    """``(label, [(line, where, row)])`` of a NetBox CSV file of ``kind`` (devices or cables).

    Headers become fieldops' keys (either NetBox style); values are stripped and NetBox's
    "no value" dash is empty. Bad rows become problems and are skipped.
    """
    required, headers = KINDS[kind]
    label = display_path(path, base)
    try:
        text = read_text(path, label)
    except DesignError as exc:
        problems.extend(exc.problems)
        return label, []
    if "\x00" in text:
        problems.append(
            Problem(
                label,
                text[: text.index("\x00")].count("\n") + 1,
                "",
                "binary data (NUL bytes) in a CSV file",
                rule="csv",
            )
        )
        return label, []
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first))
    rows = []
    try:
        header = next(reader, None)
        if header is None:
            problems.append(
                Problem(
                    label,
                    1,
                    "",
                    f"empty file: expected a header row with the NetBox columns {', '.join(required)}",
                    rule="csv",
                )
            )
            return label, []
        header = [header_key(h, headers) for h in header]
        missing = [c for c in required if c not in header]
        if missing:
            ui = ", ".join(UI_NAMES[c] for c in missing)
            problems.append(
                Problem(
                    label,
                    1,
                    "",
                    f"missing NetBox column(s): {', '.join(missing)} (in NetBox's UI export: {ui})",
                    rule="csv",
                )
            )
            return label, []
        index = 0
        line = reader.line_num + 1
        for record in reader:
            if not any(v.strip() for v in record):
                line = reader.line_num + 1
                continue
            where = f"{kind}[{index}]"
            if len(record) != len(header):
                problems.append(
                    Problem(
                        label,
                        line,
                        where,
                        f"{len(record)} fields, the header has {len(header)}",
                        rule="csv",
                    )
                )
            row = {
                h: ("" if empty(v) else v.strip())
                for h, v in zip(header, record, strict=False)
                if h
            }
            bad = next(((k, b) for k, v in row.items() if (b := bad_char(v))), None)
            if bad:
                problems.append(
                    Problem(
                        label,
                        line,
                        f"{where}.{bad[0]}",
                        f"text contains the control character {bad[1]}",
                        rule="csv",
                    )
                )
            elif any(len(v) > MAX_FIELD for v in row.values()):
                problems.append(
                    Problem(
                        label, line, where, f"a field is over {MAX_FIELD} characters", rule="csv"
                    )
                )
            elif len(record) == len(header):
                rows.append((line, where, row))
            index += 1
            line = reader.line_num + 1
            if index > MAX_ROWS:
                problems.append(Problem(label, line, "", f"over {MAX_ROWS:,} rows", rule="csv"))
                return label, []
    except csv.Error as exc:
        problems.append(Problem(label, reader.line_num, "", f"CSV error: {exc}", rule="csv"))
    return label, rows


# ---------------------------------------------------------------- field values


def whole_u(text: str) -> int | None:
    """A whole-U position from ``10`` or ``10.0``; ValueError otherwise ('' is None)."""
    if not text:
        return None
    value = float(text)
    if not math.isfinite(value) or not value.is_integer():
        raise ValueError(text)
    return int(value)


def rack_name(text: str, racks: Collection[str] | None) -> str:
    """The rack name from NetBox's ``A01`` or, with a facility ID, ``A01 (1A-AJ05)``."""
    if racks is None or text in racks:
        return text
    name, suffix = split_suffix(text)
    return name if suffix and name in racks else text


def port_name(device: str, text: str, ports: Mapping[tuple[str, str], object]) -> str:
    """The port name from NetBox's ``eth0`` or, for a port with a label, ``eth0 (label)``."""
    if not ports or (device, text) in ports:
        return text
    name, suffix = split_suffix(text)
    return name if suffix and (device, name) in ports else text


def is_decommissioning(row: Mapping[str, str], choices: Mapping[str, str]) -> bool:
    return choice_value(row.get("status", ""), choices) == DECOMMISSIONING


def _type_index(device_types: Mapping[str, DeviceType]) -> dict[tuple[str, str], str]:
    """(manufacturer or "", slug or model) -> slug; ambiguous models map to ""."""
    index: dict[tuple[str, str], str] = {}
    for dt in device_types.values():
        for key in (("", dt.model), (dt.manufacturer, dt.model)):
            index[key] = "" if key in index and index[key] != dt.slug else dt.slug
    return index


def load_devices(
    path: Path,
    problems: list[Problem],
    base: Path | None = None,
    device_types: Mapping[str, DeviceType] | None = None,
    racks: Collection[str] | None = None,
) -> list[Device]:
    """Devices from a NetBox device CSV; ``device_type`` may be a slug or a model name."""
    label, rows = read_rows(path, "devices", problems, base)
    types = device_types or {}
    models = _type_index(types)
    out = []
    for line, where, row in rows:
        if not all(row.get(c) for c in DEVICE_COLUMNS):
            problems.append(
                Problem(
                    label, line, where, "name, device_type and rack are required", rule="schema"
                )
            )
            continue
        if is_decommissioning(row, DEVICE_STATUSES):
            continue
        try:
            position = whole_u(row.get("position", ""))
        except ValueError:
            problems.append(
                Problem(
                    label,
                    line,
                    f"{where}.position",
                    f"'{row['position'][:20]}' is not a whole U number",
                    rule="schema",
                )
            )
            continue
        face = choice_value(row.get("face") or FRONT, FACES)
        if face is None:
            problems.append(
                Problem(
                    label,
                    line,
                    f"{where}.face",
                    f"'{row['face'][:20]}' is not front or rear",
                    rule="schema",
                )
            )
            continue
        dtype = row["device_type"]
        if dtype not in types:
            dtype = (
                models.get((row.get("manufacturer", ""), dtype)) or models.get(("", dtype)) or dtype
            )
        out.append(
            Device(
                name=row["name"],
                device_type=dtype,
                rack=rack_name(row["rack"], racks),
                position=position,
                face=face,
                role=slugify(row.get("role", "")),
                asset_tag=row.get("asset_tag", ""),
                serial=row.get("serial", ""),
                source=Source(label, line, where),
            )
        )
    return out


def pick_media(
    cable_type: str, a: tuple[str, str] | str, b: tuple[str, str] | str, media: Mapping[str, Media]
) -> str:
    """The catalogue slug for a NetBox cable ``type`` between ports ``a`` and ``b``, or "".

    ``a``/``b`` are ``(kind, type)`` of the ports (or just the type). Media whose
    ``port_types`` list both ends wins over media for any port; power media only for power
    ports and the other way round. Without a fit, the first media of that cable type.
    """
    ends = [e if isinstance(e, tuple) else ("", e) for e in (a, b)]
    kinds = {k for k, _ in ends if k}
    types = [t for _, t in ends if t]
    candidates = [m for m in media.values() if not cable_type or m.cable_type == cable_type]
    best, best_score = "", 0
    for m in candidates:
        if kinds and (m.media_class == "power") != bool(kinds & set(POWER_KINDS)):
            continue
        fits = all(t in m.port_types for t in types)
        score = 1 if not m.port_types else (2 if fits else 0)
        if score > best_score:
            best, best_score = m.slug, score
    if best:
        return best
    return candidates[0].slug if candidates and cable_type else ""


def load_cables(
    path: Path,
    problems: list[Problem],
    base: Path | None,
    media: Mapping[str, Media],
    port_types: Mapping[tuple[str, str], tuple[str, str]] | None = None,
) -> list[Cable]:
    """Cables from a NetBox cable CSV; ``port_types`` ((device, port) -> (kind, type)) helps pick media."""
    label, rows = read_rows(path, "cables", problems, base)
    ports = port_types or {}
    out = []
    for line, where, row in rows:
        if not all(row.get(c) for c in CABLE_COLUMNS):
            problems.append(
                Problem(
                    label, line, where, "both sides need a device and a port name", rule="schema"
                )
            )
            continue
        if is_decommissioning(row, LINK_STATUSES):
            continue
        ends = []
        for side in "ab":
            device, name = row[f"side_{side}_device"], row[f"side_{side}_name"]
            if "," in name and not (ports and (device, name) in ports):
                problems.append(
                    Problem(
                        label,
                        line,
                        f"{where}.side_{side}_name",
                        f"{len(name.split(','))} terminations on side {side.upper()} ('{name[:40]}'): "
                        "fieldops plans one port per cable end",
                        rule="schema",
                    )
                )
                break
            ends.append(Termination(device, port_name(device, name, ports)))
        if len(ends) != 2:
            continue
        a, b = ends
        slug = row.get("media", "")
        if not slug:
            ctype = row.get("type", "")
            value = choice_value(ctype, CABLE_TYPES) if ctype else ""
            slug = pick_media(
                value or ctype,
                ports.get((a.device, a.port), ""),
                ports.get((b.device, b.port), ""),
                media,
            )
            if not slug:
                msg = (
                    f"no media in the catalogue for cable type '{ctype}'"
                    if ctype
                    else "no 'type' or 'media' given and no catalogue media fits both ports"
                )
                problems.append(Problem(label, line, f"{where}.type", msg, rule="media"))
                continue
        out.append(Cable(a, b, slug, label=row.get("label", ""), source=Source(label, line, where)))
    return out
