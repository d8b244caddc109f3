"""NetBox bulk-import CSV for devices and cables, as read-in stand-ins for elevations/connections.

Columns are NetBox's own import field names (header case and spaces are forgiven:
``Device Type`` reads as ``device_type``):

- devices: ``name``, ``device_type`` (slug or model name; ``manufacturer`` disambiguates a
  model), ``rack``, optional ``position`` (``10`` or ``10.0``), ``face`` (``front``/``rear``,
  any case), ``role``, ``asset_tag``, ``serial``; other NetBox columns (``site``, ``status``,
  ``tenant`` …) are ignored.
- cables: ``side_a_device``, ``side_a_name``, ``side_b_device``, ``side_b_name``, optional
  ``type`` (NetBox cable type), ``label`` and fieldops' own ``media`` column. Without
  ``media``, the media is the first catalogue entry whose ``cable_type`` equals ``type`` and
  whose ``port_types`` fit both ends (else the first with that ``cable_type``).

Problems name the row as ``devices[i]`` / ``cables[i]`` (``i`` counts data rows from 0) with
the CSV line number.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from pathlib import Path

from fieldops.adapters.yamlfile import bad_char, display_path, read_text
from fieldops.core.model import FACES, FRONT, Cable, Device, DeviceType, Media, Source, Termination
from fieldops.core.problems import DesignError, Problem

POWER_KINDS = ("power-port", "power-outlet")
DEVICE_COLUMNS = ("name", "device_type", "rack")
CABLE_COLUMNS = ("side_a_device", "side_a_name", "side_b_device", "side_b_name")
DEVICE_ALIASES = {"type": "device_type", "device_role": "role"}
MAX_FIELD = 200
MAX_ROWS = 2_000_000


def _header(name: str, aliases: Mapping[str, str]) -> str:
    key = name.strip().lower().replace(" ", "_")
    return aliases.get(key, key)


def _rows(
    path: Path,
    required: tuple[str, ...],
    problems: list[Problem],
    base: Path | None,
    what: str,
    aliases: Mapping[str, str] = {},
):  # noqa: B006
    """(label, [(line, index, row)]) of a CSV file; bad rows become problems and are skipped."""
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
    reader = csv.reader(io.StringIO(text, newline=""))
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
        header = [_header(h, aliases) for h in header]
        missing = [c for c in required if c not in header]
        if missing:
            problems.append(
                Problem(label, 1, "", f"missing NetBox column(s): {', '.join(missing)}", rule="csv")
            )
            return label, []
        index = 0
        line = reader.line_num + 1
        for record in reader:
            if not any(v.strip() for v in record):
                line = reader.line_num + 1
                continue
            where = f"{what}[{index}]"
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
            row = {h: v.strip() for h, v in zip(header, record, strict=False) if h}
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
) -> list[Device]:
    """Devices from a NetBox device CSV; ``device_type`` may be a slug or a model name."""
    label, rows = _rows(path, DEVICE_COLUMNS, problems, base, "devices", DEVICE_ALIASES)
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
        position = None
        if row.get("position"):
            try:
                value = float(row["position"])
                if not math.isfinite(value) or not value.is_integer():
                    raise ValueError
                position = int(value)
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
        face = (row.get("face") or FRONT).lower()
        if face not in FACES:
            problems.append(
                Problem(
                    label,
                    line,
                    f"{where}.face",
                    f"'{face[:20]}' is not front or rear",
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
    label, rows = _rows(path, CABLE_COLUMNS, problems, base, "cables")
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
        a = Termination(row["side_a_device"], row["side_a_name"])
        b = Termination(row["side_b_device"], row["side_b_name"])
        slug = row.get("media", "")
        if not slug:
            ctype = row.get("type", "")
            slug = pick_media(
                ctype, ports.get((a.device, a.port), ""), ports.get((b.device, b.port), ""), media
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
