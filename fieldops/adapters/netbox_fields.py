"""NetBox's vocabulary for files: column names, choice values and labels, colours.

Written from NetBox 4.4's own source (``dcim/forms/bulk_import.py`` for the bulk-import
columns, ``dcim/tables/devices.py`` and ``dcim/tables/cables.py`` for the columns of the UI's
"Export" CSV, ``dcim/choices.py`` and ``netbox/choices.py`` for choice values and labels), so fieldops reads both kinds
of file NetBox users have:

* **bulk-import style** (what NetBox's import form takes and ``fieldops netbox export``
  writes): ``name, device_type, rack, position, face``; ``side_a_device, side_a_type,
  side_a_name, ...``; choice *values* (``rear``, ``planned``, ``cat6a``);
* **UI export style** (Devices → Export → All data / current view): ``Name, Type, Rack,
  Position, Rack face, Serial number, Asset tag``; ``Termination A, Device A, Site A, ...,
  Length`` (``3 m``); choice *labels* (``Rear``, ``Planned``, ``CAT6a``, ``#2196f3``), and
  a rack written ``A01 (1A-AJ05)`` when it has a facility ID.

Headers are matched case-insensitively with spaces, ``_`` and ``-`` alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# port template kind (fieldops) <-> NetBox termination object type
TERMINATION_TYPES = {
    "interface": "dcim.interface",
    "console-port": "dcim.consoleport",
    "console-server-port": "dcim.consoleserverport",
    "power-port": "dcim.powerport",
    "power-outlet": "dcim.poweroutlet",
    "front-port": "dcim.frontport",
    "rear-port": "dcim.rearport",
}
KIND_OF_TERMINATION = {v: k for k, v in TERMINATION_TYPES.items()}

# the REST endpoint (under /api/dcim/) of each termination type
TERMINATION_ENDPOINTS = {
    "dcim.interface": "interfaces",
    "dcim.consoleport": "console_ports",
    "dcim.consoleserverport": "console_server_ports",
    "dcim.powerport": "power_ports",
    "dcim.poweroutlet": "power_outlets",
    "dcim.frontport": "front_ports",
    "dcim.rearport": "rear_ports",
}

# dcim/choices.py: CableTypeChoices (value -> label)
CABLE_TYPES = {
    "cat3": "CAT3",
    "cat5": "CAT5",
    "cat5e": "CAT5e",
    "cat6": "CAT6",
    "cat6a": "CAT6a",
    "cat7": "CAT7",
    "cat7a": "CAT7a",
    "cat8": "CAT8",
    "mrj21-trunk": "MRJ21 Trunk",
    "dac-active": "Direct Attach Copper (Active)",
    "dac-passive": "Direct Attach Copper (Passive)",
    "coaxial": "Coaxial",
    "rg-6": "RG-6",
    "rg-8": "RG-8",
    "rg-11": "RG-11",
    "rg-59": "RG-59",
    "rg-62": "RG-62",
    "rg-213": "RG-213",
    "lmr-100": "LMR-100",
    "lmr-200": "LMR-200",
    "lmr-400": "LMR-400",
    "mmf": "Multimode Fiber",
    "mmf-om1": "Multimode Fiber (OM1)",
    "mmf-om2": "Multimode Fiber (OM2)",
    "mmf-om3": "Multimode Fiber (OM3)",
    "mmf-om4": "Multimode Fiber (OM4)",
    "mmf-om5": "Multimode Fiber (OM5)",
    "smf": "Single-mode Fiber",
    "smf-os1": "Single-mode Fiber (OS1)",
    "smf-os2": "Single-mode Fiber (OS2)",
    "aoc": "Active Optical Cabling (AOC)",
    "power": "Power",
    "usb": "USB",
}
LINK_STATUSES = {
    "connected": "Connected",
    "planned": "Planned",
    "decommissioning": "Decommissioning",
}
DEVICE_STATUSES = {
    "offline": "Offline",
    "active": "Active",
    "planned": "Planned",
    "staged": "Staged",
    "failed": "Failed",
    "inventory": "Inventory",
    "decommissioning": "Decommissioning",
}
FACES = {"front": "Front", "rear": "Rear"}
LENGTH_UNITS = {
    "km": "Kilometers",
    "m": "Meters",
    "cm": "Centimeters",
    "mi": "Miles",
    "ft": "Feet",
    "in": "Inches",
}
LENGTH_UNIT_MM = {"km": 1_000_000, "m": 1000, "cm": 10, "mi": 1_609_344, "ft": 304.8, "in": 25.4}

# netbox/choices.py: ColorChoices (hex -> name), the names NetBox's cable import accepts
COLOR_NAMES = {
    "aa1409": "Dark Red",
    "f44336": "Red",
    "e91e63": "Pink",
    "ffe4e1": "Rose",
    "ff66ff": "Fuchsia",
    "9c27b0": "Purple",
    "673ab7": "Dark Purple",
    "3f51b5": "Indigo",
    "2196f3": "Blue",
    "03a9f4": "Light Blue",
    "00bcd4": "Cyan",
    "009688": "Teal",
    "00ffff": "Aqua",
    "2f6a31": "Dark Green",
    "4caf50": "Green",
    "8bc34a": "Light Green",
    "cddc39": "Lime",
    "ffeb3b": "Yellow",
    "ffc107": "Amber",
    "ff9800": "Orange",
    "ff5722": "Dark Orange",
    "795548": "Brown",
    "c0c0c0": "Light Grey",
    "9e9e9e": "Grey",
    "607d8b": "Dark Grey",
    "111111": "Black",
    "ffffff": "White",
}
_COLOR_BY_NAME = {name.lower(): hexcode for hexcode, name in COLOR_NAMES.items()} | {
    "gray": "9e9e9e",
    "light gray": "c0c0c0",
    "dark gray": "607d8b",
}

# Header (normalised: lower case, runs of space/_/- as one space) -> fieldops' key.
DEVICE_HEADERS = {
    "name": "name",
    "device type": "device_type",
    "type": "device_type",  # UI export
    "rack": "rack",
    "position": "position",
    "face": "face",
    "rack face": "face",  # UI export (the model field's verbose name)
    "role": "role",
    "device role": "role",  # NetBox < 4.0 exports
    "manufacturer": "manufacturer",
    "asset tag": "asset_tag",
    "serial": "serial",
    "serial number": "serial",  # UI export
    "site": "site",
    "location": "location",
    "status": "status",
    "id": "id",
}
CABLE_HEADERS = {
    "id": "id",
    "label": "label",
    "type": "type",
    "status": "status",
    "color": "color",
    "color name": "color_name",
    "length": "length",
    "length unit": "length_unit",
    "description": "description",
    "media": "media",  # fieldops' own column
}
for _side in "ab":
    CABLE_HEADERS |= {
        f"side {_side} device": f"side_{_side}_device",
        f"side {_side} name": f"side_{_side}_name",
        f"side {_side} type": f"side_{_side}_type",
        f"side {_side} site": f"side_{_side}_site",
        f"device {_side}": f"side_{_side}_device",  # UI export
        f"termination {_side}": f"side_{_side}_name",  # UI export
        f"site {_side}": f"side_{_side}_site",  # UI export
        f"rack {_side}": f"side_{_side}_rack",  # UI export (informative)
        f"location {_side}": f"side_{_side}_location",  # UI export (informative)
    }

EMPTY = ("", "\u2014", "&mdash;")  # NetBox tables show an em dash for "no value"
_HEADER_RE = re.compile(r"[\s_\-]+")
_LENGTH_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")
_PAREN_RE = re.compile(r"^(.*\S)\s+\(([^()]*)\)$")


def header_key(header: str, headers: Mapping[str, str]) -> str:
    """fieldops' key for a CSV header of either NetBox style (the normalised header when unknown)."""
    norm = _HEADER_RE.sub(" ", header.strip().lower()).strip()
    return headers.get(norm, norm.replace(" ", "_"))


def empty(value: str) -> bool:
    return value.strip() in EMPTY


def choice_value(text: str, choices: Mapping[str, str]) -> str | None:
    """A NetBox choice value from its value or its label, any case; None when neither."""
    t = text.strip().lower()
    for value, label in choices.items():
        if t in (value, label.lower()):
            return value
    return None


def netbox_color(color: str) -> str:
    """A NetBox colour: six hex digits without '#' ('' when unknown).

    >>> netbox_color("#2196F3"), netbox_color("Blue"), netbox_color("mauve")
    ('2196f3', '2196f3', '')
    """
    c = color.strip().lower().lstrip("#")
    if len(c) == 6 and all(ch in "0123456789abcdef" for ch in c):
        return c
    return _COLOR_BY_NAME.get(c, "")


def parse_length(text: str, unit: str = "") -> tuple[float, str] | None:
    """``(length, unit)`` from ``3``, ``2.50 m`` (UI export) or ``3 Meters``; None when malformed.

    >>> parse_length("2.50 m"), parse_length("3", "m"), parse_length("4 Feet")
    ((2.5, 'm'), (3.0, 'm'), (4.0, 'ft'))
    """
    m = _LENGTH_RE.match(text)
    if not m:
        return None
    given = m.group(2) or unit
    found = choice_value(given, LENGTH_UNITS) if given else ""
    if found is None:
        return None
    return float(m.group(1)), found


def split_suffix(text: str) -> tuple[str, str]:
    """``("A01", "1A-AJ05")`` from ``A01 (1A-AJ05)``: how NetBox writes a rack with a facility ID
    or a port with a label in its UI exports; ``(text, "")`` otherwise."""
    m = _PAREN_RE.match(text)
    return (m.group(1), m.group(2)) if m else (text, "")


def slugify(text: str) -> str:
    """NetBox-style slug: lower case, runs of other characters as one ``-``.

    >>> slugify("Compute Leaf"), slugify("oob-switch")
    ('compute-leaf', 'oob-switch')
    """
    return re.sub(r"[^a-z0-9_]+", "-", text.strip().lower()).strip("-")
