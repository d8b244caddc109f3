"""NetBox bulk-import CSV for devices and cables, as read-in stand-ins for elevations/connections.

Columns are NetBox's own: devices ``name, device_type, role, rack, position, face, asset_tag,
serial``; cables ``side_a_device, side_a_name, side_b_device, side_b_name, type, label``
(plus fieldops' optional ``media`` column; without it the media is the first catalogue entry
whose ``cable_type`` equals NetBox's ``type``).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from fieldops.adapters.yamlfile import display_path, read_text
from fieldops.core.model import FACES, FRONT, Cable, Device, Media, Source, Termination
from fieldops.core.problems import DesignError, Problem

DEVICE_COLUMNS = ("name", "device_type", "rack")
CABLE_COLUMNS = ("side_a_device", "side_a_name", "side_b_device", "side_b_name")
MAX_FIELD = 200


def _rows(path: Path, required: tuple[str, ...], problems: list[Problem], base: Path | None):
    label = display_path(path, base)
    try:
        text = read_text(path, label)
    except DesignError as exc:
        problems.extend(exc.problems)
        return label, []
    if "\x00" in text:
        problems.append(Problem(label, 0, "", "binary data (NUL bytes) in a CSV file"))
        return label, []
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        problems.append(Problem(label, 1, "", f"missing NetBox column(s): {', '.join(missing)}"))
        return label, []
    reader.fieldnames = header
    rows = []
    try:
        for row in reader:
            rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}))
    except csv.Error as exc:
        problems.append(Problem(label, reader.line_num, "", f"CSV error: {exc}"))
    return label, rows


def load_devices(path: Path, problems: list[Problem], base: Path | None = None) -> list[Device]:
    label, rows = _rows(path, DEVICE_COLUMNS, problems, base)
    out = []
    for line, row in rows:
        where = f"devices[{row.get('name', '')}]"
        if any(len(v) > MAX_FIELD for v in row.values()):
            problems.append(Problem(label, line, where, f"a field is over {MAX_FIELD} characters"))
            continue
        if not all(row.get(c) for c in DEVICE_COLUMNS):
            problems.append(Problem(label, line, where, "name, device_type and rack are required"))
            continue
        position = None
        if row.get("position"):
            try:
                value = float(row["position"])
                if not math.isfinite(value) or not value.is_integer():
                    raise ValueError
                position = int(value)
            except ValueError:
                problems.append(Problem(label, line, f"{where}.position", f"'{row['position']}' is not a whole U number"))
                continue
        face = row.get("face") or FRONT
        if face not in FACES:
            problems.append(Problem(label, line, f"{where}.face", f"'{face}' is not front or rear"))
            continue
        out.append(
            Device(
                name=row["name"],
                device_type=row["device_type"],
                rack=row["rack"],
                position=position,
                face=face,
                role=row.get("role", ""),
                asset_tag=row.get("asset_tag", ""),
                serial=row.get("serial", ""),
                source=Source(label, line, where),
            )
        )
    return out


def load_cables(path: Path, problems: list[Problem], base: Path | None, media: dict[str, Media]) -> list[Cable]:
    label, rows = _rows(path, CABLE_COLUMNS, problems, base)
    by_type: dict[str, str] = {}
    for m in media.values():
        by_type.setdefault(m.cable_type, m.slug)
    out = []
    for line, row in rows:
        where = f"cables[{line - 1}]"
        if any(len(v) > MAX_FIELD for v in row.values()):
            problems.append(Problem(label, line, where, f"a field is over {MAX_FIELD} characters"))
            continue
        if not all(row.get(c) for c in CABLE_COLUMNS):
            problems.append(Problem(label, line, where, "both sides need a device and a port name"))
            continue
        slug = row.get("media") or by_type.get(row.get("type", ""), "")
        if not slug:
            problems.append(Problem(label, line, f"{where}.type", f"no media in the catalogue for cable type '{row.get('type', '')}'"))
            continue
        out.append(
            Cable(
                Termination(row["side_a_device"], row["side_a_name"]),
                Termination(row["side_b_device"], row["side_b_name"]),
                slug,
                label=row.get("label", ""),
                source=Source(label, line, where),
            )
        )
    return out
