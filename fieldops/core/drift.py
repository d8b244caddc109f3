"""The drift report: what is wrong in the hall, per cable and device, how bad and where.

Pure (no I/O). :func:`fieldops.core.reconcile.build_drift` builds a :class:`DriftReport`; this
module is its vocabulary (statuses, severity, the ``drift.json`` document, the text summary).
A lead acts on :meth:`DriftReport.items` (drift and suspect items, most severe first, then by
rack and U) and :meth:`DriftReport.summary` (one line per category found).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from fieldops.core.asbuilt import AsBuilt
from fieldops.core.fixups import fixup_index

SCHEMA = "fieldops.drift/1.1"
CABLE_STATUSES = (
    "as_designed",
    "mislabelled",
    "missing",
    "swapped",
    "wrong_port",
    "unexpected",
    "suspect",
    "unobserved",
)
DEVICE_STATUSES = ("as_designed", "wrong_u", "missing", "unexpected", "unobserved")
DRIFT_CABLE = ("mislabelled", "missing", "swapped", "wrong_port", "unexpected")
DRIFT_DEVICE = ("wrong_u", "missing", "unexpected")
# What a lead fixes first: (kind, status) most urgent first, with the summary line's words for
# one item and for several. A device out of place blocks its cables; a cable in the wrong place
# carries traffic where it must not (a rail crossed), a missing one only fails loudly; a wrong
# label misleads the next technician; a suspect cord is a check, not a fix.
SEVERITY = (
    ("device", "missing", "device missing", "devices missing"),
    (
        "device",
        "wrong_u",
        "device in the wrong rack, U or face",
        "devices in the wrong rack, U or face",
    ),
    ("cable", "swapped", "cable swapped (ends exchanged)", "cables swapped (ends exchanged)"),
    ("cable", "wrong_port", "cable in a wrong port or device", "cables in a wrong port or device"),
    ("cable", "missing", "cable missing", "cables missing"),
    ("device", "unexpected", "device not in the design", "devices not in the design"),
    ("cable", "unexpected", "cable not in the design", "cables not in the design"),
    (
        "cable",
        "mislabelled",
        "cable carrying another cable's label",
        "cables carrying another cable's label",
    ),
    (
        "cable",
        "suspect",
        "suspect cord or console cable (check; no fix-up step)",
        "suspect cords or console cables (check; no fix-up step)",
    ),
)
_RANK = {(k, s): i for i, (k, s, _, _) in enumerate(SEVERITY)}
SOURCE_WORDS = {
    "lldp": "Ethernet (give lldpctl -f json from the devices)",
    "infiniband": "InfiniBand (give ibnetdiscover or iblinkinfo output)",
    "pdu": "power cords (give a PDU outlet report)",
    "console": "console cables (give a console-server port status)",
    "": "no source can see them (patch panels, cables between two device-side ports)",
}


# ---------------------------------------------------------------- drift


class CableDrift(NamedTuple):
    """One designed cable's finding (or an unexpected link's). A named tuple, not a frozen
    dataclass: a 64-SU hall builds ~80,000 of them and a frozen dataclass costs 5x more to make."""

    cable: str  # designed cable ID; for unexpected links the observed reference
    status: str  # one of CABLE_STATUSES
    designed: tuple[str, ...] = ()  # designed ends (sorted); () for unexpected
    observed: tuple[str, ...] = ()  # ends as found; () when missing or unobserved
    partner: str = ""  # swapped: the other cable; mislabelled: the label it carries
    moves: tuple[tuple[str, str], ...] = ()  # (from port, to port) that put it right
    message: str = ""
    rack: str = ""  # where the fix happens (the end to work at)
    u: int | None = None

    def to_dict(self) -> dict:
        return {
            "cable": self.cable,
            "status": self.status,
            "designed": list(self.designed),
            "observed": list(self.observed),
            "partner": self.partner,
            "moves": [list(m) for m in self.moves],
            "message": self.message,
            "rack": self.rack,
            "u": self.u,
        }


@dataclass(frozen=True, slots=True)
class DeviceDrift:
    device: str
    status: str  # one of DEVICE_STATUSES
    designed: tuple = ()  # (rack, position, face)
    observed: tuple = ()
    message: str = ""

    @property
    def rack(self) -> str:
        where = self.observed if self.status == "unexpected" else self.designed
        return where[0] if where else ""

    @property
    def u(self) -> int | None:
        where = self.observed if self.status == "unexpected" else self.designed
        return where[1] if where else None

    def to_dict(self) -> dict:
        return {
            "device": self.device,
            "status": self.status,
            "designed": list(self.designed),
            "observed": list(self.observed),
            "message": self.message,
        }


def item_id(d: CableDrift | DeviceDrift) -> str:
    return d.cable if isinstance(d, CableDrift) else d.device


def item_kind(d: CableDrift | DeviceDrift) -> str:
    return "cable" if isinstance(d, CableDrift) else "device"


@dataclass(frozen=True)
class DriftReport:
    design: str
    revision: str
    hall: str
    cables: tuple[CableDrift, ...]
    devices: tuple[DeviceDrift, ...]
    resolved: AsBuilt  # the as-built record with each link's identity decided
    cable_ids: Mapping = field(default_factory=dict, compare=False)
    unobserved_by_source: Mapping[str, int] = field(default_factory=dict, compare=False)

    @property
    def counts(self) -> dict:
        c = {s: 0 for s in CABLE_STATUSES}
        for d in self.cables:
            c[d.status] += 1
        v = {s: 0 for s in DEVICE_STATUSES}
        for d in self.devices:
            v[d.status] += 1
        return {
            "cables": c,
            "devices": v,
            "drift": sum(c[s] for s in DRIFT_CABLE) + sum(v[s] for s in DRIFT_DEVICE),
        }

    @property
    def has_drift(self) -> bool:
        return self.counts["drift"] > 0

    def drifted(self) -> list:
        return [d for d in self.cables if d.status in DRIFT_CABLE] + [
            d for d in self.devices if d.status in DRIFT_DEVICE
        ]

    def items(self) -> list:
        """Drift and suspect items, most severe first, then by rack, U and name."""
        out = [d for d in (*self.devices, *self.cables) if (item_kind(d), d.status) in _RANK]
        return sorted(
            out,
            key=lambda d: (
                _RANK[(item_kind(d), d.status)],
                d.rack,
                d.u if d.u is not None else -1,
                item_id(d),
            ),
        )

    def summary(self) -> list[dict]:
        """One entry per category found: ``{kind, status, count, text}``, most severe first."""
        found: dict[tuple[str, str], int] = {}
        for d in self.items():
            key = (item_kind(d), d.status)
            found[key] = found.get(key, 0) + 1
        return [
            {
                "kind": k,
                "status": s,
                "count": found[(k, s)],
                "text": f"{found[(k, s)]} {one if found[(k, s)] == 1 else many}",
            }
            for k, s, one, many in SEVERITY
            if (k, s) in found
        ]

    def to_dict(self, steps=None) -> dict:
        """The ``drift.json`` document; with the fix-up ``steps``, each item names its step."""
        index = fixup_index(steps) if steps is not None else {}
        items = []
        for d in self.items():
            step = index.get(item_id(d), "")
            items.append(
                {
                    "kind": item_kind(d),
                    "id": item_id(d),
                    "status": d.status,
                    "severity": _RANK[(item_kind(d), d.status)],
                    "rack": d.rack,
                    "u": d.u,
                    "message": d.message,
                    "fixup": step,
                }
            )
        return {
            "schema": SCHEMA,
            "design": {"name": self.design, "revision": self.revision, "hall": self.hall},
            "counts": self.counts,
            "summary": self.summary(),
            "unobserved": dict(self.unobserved_by_source),
            "items": items,
            "cables": [d.to_dict() for d in self.cables],
            "devices": [d.to_dict() for d in self.devices],
        }

    def summary_lines(self) -> list[str]:
        c = self.counts
        cab = ", ".join(f"{s.replace('_', ' ')} {n}" for s, n in c["cables"].items() if n)
        dev = ", ".join(f"{s.replace('_', ' ')} {n}" for s, n in c["devices"].items() if n)
        lines = [f"cables: {cab or 'none'}", f"devices: {dev or 'none'}"]
        lines += [f"  {s['text']}" for s in self.summary()]
        for src, n in self.unobserved_by_source.items():
            lines.append(
                f"  {n} {'cable' if n == 1 else 'cables'} unobserved: {SOURCE_WORDS.get(src, src)}"
            )
        # by rack, the rack with the most severe item first; a swapped pair is one line
        by_rack: dict[str, list] = {}
        for d in self.items():
            by_rack.setdefault(d.rack, []).append(d)
        for rack, items in by_rack.items():
            lines.append(f"rack {rack or '(none)'}:")
            shown: set[str] = set()
            for d in items:
                if d.message not in shown:
                    shown.add(d.message)
                    lines.append(f"  [{d.status}] {d.message}")
        return lines
