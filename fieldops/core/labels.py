"""Cable IDs, label text and QR payloads. Pure.

A cable ID is ``C-`` followed by 10 characters of Crockford's base32 alphabet (digits and
upper-case letters without I, L, O and U, so nothing reads as another character when typed):
``C-6BMR43E27H``. It is derived only from the cable's own identity, never from list positions,
so re-planning after other cables were added or removed keeps every existing ID (and every
printed label) valid:

* an explicit ``label`` in the connections file wins: a label that is already a cable ID
  (``C-XXXXXXXXXX``, or a 7-character ID of fieldops before 10-character IDs) is used as is;
  any other label is hashed into one;
* otherwise the ID is a hash (BLAKE2b, top 50 bits) of the cable's sorted ends (``dev:port``).

Fifty bits make two cables of a 100,000-cable design share a hash about 4 times in a million
designs (n^2 / 2^51). Should it happen, the tie-break is deterministic (explicit IDs first,
then the identity that sorts first keeps the plain hash; the others take a salted hash,
``identity#1``, ``#2``, ...) and the plan warns, naming both cables: pin them by writing
their IDs as their ``label`` so no later change can move them.

QR codes carry ``{cable_id}/{end}`` (end ``A`` or ``B``): upper-case alphanumerics, ``-`` and
``/``, so encoders use the compact QR alphanumeric mode (14 characters fit version 1).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

import numpy as np

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
ID_LEN = 10
ID_BITS = 5 * ID_LEN  # 50 bits of the hash
ID_PREFIX = "C-"
ID_RE = re.compile(r"^C-[0-9A-HJKMNP-TV-Z]{10}$")
LEGACY_ID_RE = re.compile(r"^C-[0-9A-Z]{7}$")  # IDs printed before 10-character IDs
ENDS = ("A", "B")
_SHIFTS = tuple(5 * k for k in range(ID_LEN - 1, -1, -1))
_ALPHA_BYTES = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)
_TYPED = str.maketrans("ILO", "110")  # Crockford: I and L read as 1, O as 0


def hash_id(identity: str) -> str:
    """The cable ID for an identity string.

    >>> hash_id("leaf-a:swp1|srv-01:eno1")
    'C-6BMR43E27H'
    """
    h = hashlib.blake2b(identity.encode(), digest_size=8).digest()
    n = int.from_bytes(h, "big") >> (64 - ID_BITS)
    return ID_PREFIX + "".join([ALPHABET[(n >> s) & 31] for s in _SHIFTS])


def hash_ids(identities: Iterable[str]) -> list[str]:
    """:func:`hash_id` of many identities at once (the hashes one by one, the rest in numpy).

    >>> hash_ids(["leaf-a:swp1|srv-01:eno1"])
    ['C-6BMR43E27H']
    """
    blake = hashlib.blake2b
    digest = b"".join([blake(s.encode(), digest_size=8).digest() for s in identities])
    n = np.frombuffer(digest, dtype=">u8").astype(np.uint64) >> np.uint64(64 - ID_BITS)
    width = len(ID_PREFIX) + ID_LEN
    chars = np.empty((len(n), width), dtype=np.uint8)
    chars[:, 0], chars[:, 1] = ord("C"), ord("-")
    shifts = np.array(_SHIFTS, dtype=np.uint64)
    chars[:, 2:] = _ALPHA_BYTES[(n[:, None] >> shifts[None, :]) & np.uint64(31)]
    return chars.view(f"S{width}").ravel().astype(f"U{width}").tolist()


def is_cable_id(text: str) -> bool:
    """Whether ``text`` is a cable ID as printed: ``C-`` + 10 base32 characters (or a
    7-character ID of earlier fieldops versions)."""
    return bool(ID_RE.match(text) or LEGACY_ID_RE.match(text))


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
    keeps its first ID. Every collision is warned about, naming the cables and the IDs to pin.
    """
    idents: list[str] = []
    labels: list[str] = []
    seen: set[str] = set()
    for identity, label in cables:
        if identity in seen:
            continue
        seen.add(identity)
        idents.append(identity)
        labels.append(label)
    hashed = hash_ids(idents)
    first: dict[str, tuple[bool, str]] = {}
    clash: dict[str, list[tuple[bool, str]]] = {}
    for identity, label, cid in zip(idents, labels, hashed, strict=True):
        implicit = True
        if label and label.strip():
            cid, explicit = primary_id(identity, label)
            implicit = not explicit
        claim = (implicit, identity)
        prev = first.setdefault(cid, claim)
        if prev is not claim:
            clash.setdefault(cid, [prev]).append(claim)
    out = {identity: cid for cid, (_, identity) in first.items() if cid not in clash}
    warnings: list[str] = []
    taken = set(first)
    for cid in sorted(clash):
        claims = sorted(clash[cid])
        owner_implicit, owner = claims[0]
        out[owner] = cid
        for implicit, identity in claims[1:]:
            n = 1
            while True:
                alt = hash_id(f"{identity}#{n}")
                if alt not in taken:
                    break
                n += 1
            taken.add(alt)
            out[identity] = alt
            who, other = _ends(identity), _ends(owner)
            if not implicit and not owner_implicit:
                warnings.append(
                    f"cable {who}: label gives ID {cid}, already used by {other}; it gets a new ID {alt}"
                )
            else:
                warnings.append(
                    f"cable {who} and cable {other} hash to the same ID {cid}; {other} keeps it and "
                    f"{who} gets {alt}: pin both by writing these IDs as their labels"
                )
    return out, warnings


def _ends(identity: str) -> str:
    return identity.replace("|", " -- ")


def assign_cable_ids(cables: Iterable) -> tuple[dict[tuple[str, str], str], list[str]]:
    """Every cable's ID, decided once for the whole design: ``({cable.key: id}, warnings)``.

    The one place cable IDs are assigned. Routing, work orders, labels, reconcile, revisions
    and NetBox exports all take the IDs from here, so none of them needs to route the design
    to learn an ID. Collisions are resolved over the whole cable set (routable or not), so an
    ID never depends on which cables happened to route.

    >>> from fieldops.core.model import Cable, Termination
    >>> ids, _ = assign_cable_ids([Cable(Termination("srv-01", "eno1"), Termination("leaf-a", "swp1"), "dac")])
    >>> ids[("leaf-a:swp1", "srv-01:eno1")]
    'C-6BMR43E27H'
    """
    cables = list(cables)
    keys = [c.key for c in cables]
    ids, warnings = assign_ids(
        (f"{a}|{b}", c.label) for (a, b), c in zip(keys, cables, strict=True)
    )
    return {k: ids[f"{k[0]}|{k[1]}"] for k in keys}, warnings


# ---------------------------------------------------------------- QR payloads


def qr_payload(cable_id: str, end: str) -> str:
    """What the QR code on one end's label encodes.

    >>> qr_payload("C-6BMR43E27H", "A")
    'C-6BMR43E27H/A'
    """
    end = end.strip().upper()
    if end not in ENDS:
        raise ValueError(f"cable end must be 'A' or 'B', not {end!r}")
    return f"{cable_id}/{end}"


_QR_RE = re.compile(r"^C-?([0-9A-Z]{10}|[0-9A-Z]{7})(?:\s*/\s*([AB]))?$")
_EXPECTED = "expected C-XXXXXXXXXX or C-XXXXXXXXXX/A"


def parse_qr_payload(text: str) -> tuple[str, str | None]:
    """``(cable_id, end)`` from a scanned or typed code; end is None for a bare cable ID.

    Tolerates lower case, surrounding whitespace, a missing dash (``c6bmr43e27h/a``) and, in
    10-character IDs, the letters Crockford's alphabet reads as digits (``I``/``L`` as ``1``,
    ``O`` as ``0``). Seven-character IDs of earlier versions are accepted as printed.

    >>> parse_qr_payload(" c-6bmr43e27h/b ")
    ('C-6BMR43E27H', 'B')
    """
    if not isinstance(text, str) or len(text) > 64:
        raise ValueError(f"not a cable code: {_EXPECTED}")
    m = _QR_RE.match(text.strip().upper())
    body = m.group(1) if m else ""
    if len(body) == ID_LEN:
        body = body.translate(_TYPED)
    if not m or (len(body) == ID_LEN and "U" in body):
        raise ValueError(f"not a cable code: {text.strip()[:40]!r} ({_EXPECTED})")
    return ID_PREFIX + body, m.group(2)


# ---------------------------------------------------------------- label text
#
# A cable label names both ends the same way the cut sheet and the tablet do. One end is
# ``LOCATION RACK U## DEVICE:PORT`` (``1A-F06 A01 U10 SRV-01:ENO1``; ``U--`` for zero-U
# devices): four printed tokens, upper-case ASCII, spaces inside a name written ``_`` so each
# token stays whole when a label wraps. A label prints three lines (``label_lines``): the
# cable ID with its end, this end, and ``TO`` the far end; the cut sheet's ``a_label`` /
# ``b_label`` hold the same text on one line with ``>`` for ``TO`` (``label_text``).


def end_reference(location_id: str, rack: str, u: int | None, device: str, port: str) -> str:
    """One end's place: ``1A-F06 A01 U10 SRV-01:ENO1`` (``U--`` for zero-U).

    >>> end_reference("1a-f06", "A01", 10, "srv-01", "eno1")
    '1A-F06 A01 U10 SRV-01:ENO1'
    """
    u_text = f"U{u:02d}" if u is not None else "U--"
    return f"{_clean(location_id)} {_clean(rack)} {u_text} {_clean(device)}:{_clean(port)}"


def label_text(cable_id: str, end: str, near: str, far: str) -> str:
    """One end's label on one line (the cut sheet's ``a_label``): ID/end, this end, ``>``, far end.

    >>> label_text("C-6BMR43E27H", "A", "1A-F06 A01 U10 SRV-01:ENO1", "1A-H06 A03 U40 LEAF-A:SWP1")
    'C-6BMR43E27H/A 1A-F06 A01 U10 SRV-01:ENO1 > 1A-H06 A03 U40 LEAF-A:SWP1'
    """
    return f"{qr_payload(cable_id, end)} {near} > {far}"


def label_lines(cable_id: str, end: str, near: str, far: str) -> tuple[str, str, str]:
    """The three printed lines of one end's label (each may wrap, between tokens only).

    >>> label_lines("C-6BMR43E27H", "B", "1A-H06 A03 U40 LEAF-A:SWP1", "1A-F06 A01 U10 SRV-01:ENO1")
    ('C-6BMR43E27H/B', '1A-H06 A03 U40 LEAF-A:SWP1', 'TO 1A-F06 A01 U10 SRV-01:ENO1')
    """
    return (qr_payload(cable_id, end), near, f"TO {far}")


def machine_text(text) -> str:
    """Label text: upper-case printable ASCII; accents dropped, other characters ``?``,
    whitespace runs made one space.

    >>> machine_text("  srv-été:eth0 ✓ ")
    'SRV-ETE:ETH0 ?'
    """
    t = str(text)
    if not (t.isascii() and t.isprintable()):
        out = []
        for ch in unicodedata.normalize("NFKD", t):
            if unicodedata.combining(ch):
                continue
            if " " <= ch <= "~":
                out.append(ch)
            elif ch.isspace():
                out.append(" ")
            else:
                out.append("?")
        t = "".join(out)
    return " ".join(t.upper().split())


def _clean(text) -> str:
    """One printed token: :func:`machine_text` with spaces as ``_`` (``-`` when empty)."""
    t = str(text)
    if t and t.isascii() and t.isprintable() and " " not in t:
        return t.upper()
    return machine_text(t).replace(" ", "_") or "-"
