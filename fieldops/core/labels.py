"""Cable IDs, label text and QR payloads. Pure.

A cable ID is ``C-`` followed by 7 upper-case alphanumerics (``C-4K7Q2M9``). It is derived
only from the cable's own identity, never from list positions, so re-planning after other
cables were added or removed keeps every existing ID (and every printed label) valid:

* an explicit ``label`` in the connections file wins: a label that is already a cable ID
  (``C-XXXXXXX``) is used as is; any other label is hashed into one;
* otherwise the ID is a hash of the cable's sorted ends (``dev:port`` strings).

Two cables can hash to the same ID (about 6 % of designs with 100,000 cables have one such
pair). The tie-break is deterministic: explicit IDs first, then the cable whose identity sorts
first keeps the plain hash; the others take a salted hash (``identity#1``, ``#2``, ...). Pin a
cable's ID by writing it as the cable's ``label`` if that ever matters.

QR codes carry ``{cable_id}/{end}`` (end ``A`` or ``B``): upper-case alphanumerics, ``-`` and
``/``, so encoders use the compact QR alphanumeric mode.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ID_LEN = 7
ID_PREFIX = "C-"
ID_RE = re.compile(r"^C-[0-9A-Z]{7}$")
ENDS = ("A", "B")
_SPACE = 36**ID_LEN


def hash_id(identity: str) -> str:
    """The cable ID for an identity string.

    >>> hash_id("leaf-a:swp1|srv-01:eno1")
    'C-6Q2Y2C4'
    """
    n = int.from_bytes(hashlib.blake2b(identity.encode(), digest_size=8).digest(), "big") % _SPACE
    q, r = divmod(n, 46656)
    q2, r2 = divmod(q, 46656)
    t3 = _triples()
    return ID_PREFIX + ALPHABET[q2] + t3[r2] + t3[r]


_T3: list[str] = []


def _triples() -> list[str]:
    """All 46,656 three-character base-36 strings, for fast ID formatting."""
    if not _T3:
        _T3.extend(a + b + c for a in ALPHABET for b in ALPHABET for c in ALPHABET)
    return _T3


def is_cable_id(text: str) -> bool:
    return bool(ID_RE.match(text))


def cable_identity(a: str, b: str) -> str:
    """The identity of a cable from its two ends (``dev:port``), independent of end order."""
    x, y = sorted((a, b))
    return f"{x}|{y}"


def primary_id(identity: str, label: str = "") -> tuple[str, bool]:
    """The ID a cable asks for and whether it is explicit (from its label)."""
    label = label.strip().upper()
    if label:
        if is_cable_id(label):
            return label, True
        return hash_id("label:" + label), True
    return hash_id(identity), False


def assign_ids(cables: Iterable[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """Collision-free IDs for ``(identity, label)`` pairs: ``({identity: id}, warnings)``.

    Identities must be unique (a duplicate cable is a validation error); a repeated identity
    keeps its first ID.
    """
    wanted: dict[str, list[tuple[bool, str]]] = {}
    seen: set[str] = set()
    for identity, label in cables:
        if identity in seen:
            continue
        seen.add(identity)
        cid, explicit = primary_id(identity, label)
        wanted.setdefault(cid, []).append((not explicit, identity))
    out: dict[str, str] = {}
    warnings: list[str] = []
    taken = set(wanted)
    for cid in sorted(wanted):
        claims = sorted(wanted[cid])
        out[claims[0][1]] = cid
        for implicit, identity in claims[1:]:
            if not implicit and not claims[0][0]:
                warnings.append(
                    f"cable {identity.replace('|', ' -- ')}: label gives ID {cid}, already used by {claims[0][1].replace('|', ' -- ')}; it gets a new ID"
                )
            n = 1
            while True:
                alt = hash_id(f"{identity}#{n}")
                if alt not in taken:
                    break
                n += 1
            taken.add(alt)
            out[identity] = alt
    return out, warnings


# ---------------------------------------------------------------- QR payloads


def qr_payload(cable_id: str, end: str) -> str:
    """What the QR code on one end's label encodes.

    >>> qr_payload("C-4K7Q2M9", "A")
    'C-4K7Q2M9/A'
    """
    end = end.strip().upper()
    if end not in ENDS:
        raise ValueError(f"cable end must be 'A' or 'B', not {end!r}")
    return f"{cable_id}/{end}"


_QR_RE = re.compile(r"^(C-[0-9A-Z]{7})(?:\s*/\s*([AB]))?$")


def parse_qr_payload(text: str) -> tuple[str, str | None]:
    """``(cable_id, end)`` from a scanned or typed code; end is None for a bare cable ID.

    Tolerates lower case, surrounding whitespace and a missing dash (``c4k7q2m9/a``).

    >>> parse_qr_payload(" c-4k7q2m9/b ")
    ('C-4K7Q2M9', 'B')
    """
    if not isinstance(text, str) or len(text) > 64:
        raise ValueError("not a cable code: expected C-XXXXXXX or C-XXXXXXX/A")
    t = text.strip().upper()
    if t.startswith("C") and not t.startswith("C-"):
        t = "C-" + t[1:]
    m = _QR_RE.match(t)
    if not m:
        raise ValueError(
            f"not a cable code: {text.strip()[:40]!r} (expected C-XXXXXXX or C-XXXXXXX/A)"
        )
    return m.group(1), m.group(2)


# ---------------------------------------------------------------- label text


def end_reference(location_id: str, rack: str, u: int | None, device: str, port: str) -> str:
    """One end's place in TIA-606 style: ``1A-F06 A01 U10 SRV-01 ENO1`` (``U--`` for zero-U)."""
    u_text = f"U{u:02d}" if u is not None else "U--"
    return " ".join(_clean(x) for x in (location_id, rack, u_text, device, port))


def label_text(cable_id: str, end: str, near: str, far: str) -> str:
    """The text printed on one end's label: ID/end, this end, then ``>`` and the far end.

    >>> label_text("C-4K7Q2M9", "A", "1A-F06 A01 U10 SRV-01 ENO1", "1A-H06 A03 U40 LEAF-A SWP1")
    'C-4K7Q2M9/A 1A-F06 A01 U10 SRV-01 ENO1 > 1A-H06 A03 U40 LEAF-A SWP1'
    """
    return f"{qr_payload(cable_id, end)} {near} > {far}"


def _clean(text: str) -> str:
    """Upper case, whitespace collapsed to '_' (a label field is one printed token)."""
    t = str(text).upper()
    if t and t.isprintable() and " " not in t:
        return t
    return "_".join(t.split()) or "-"
