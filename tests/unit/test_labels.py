"""Cable IDs, QR payloads and label text (fieldops.core.labels)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldops.core import labels
from fieldops.core.labels import (
    assign_ids,
    cable_identity,
    hash_id,
    hash_ids,
    is_cable_id,
    label_text,
    parse_qr_payload,
    qr_payload,
)

CROCKFORD = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def test_hash_id_format_and_known_value():
    # pinned: printed labels depend on it. blake2b(8 bytes) -> top 50 bits -> 10 x 5 bits
    assert hash_id("leaf-a:swp1|srv-01:eno1") == "C-6BMR43E27H"
    cid = hash_id("x")
    assert re.fullmatch(r"C-[0-9A-Z]{10}", cid) and set(cid[2:]) <= CROCKFORD
    assert is_cable_id(cid)


def test_hash_id_is_the_top_50_bits_of_blake2b_in_crockford_base32():
    import hashlib

    n = int.from_bytes(hashlib.blake2b(b"a:1|b:1", digest_size=8).digest(), "big") >> 14
    digits = "".join(
        "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[(n >> (5 * k)) & 31] for k in range(9, -1, -1)
    )
    assert hash_id("a:1|b:1") == "C-" + digits


@given(st.lists(st.text(max_size=30), max_size=20))
def test_bulk_hashing_equals_one_by_one(identities):
    assert hash_ids(identities) == [hash_id(s) for s in identities]


def test_100k_realistic_identities_get_distinct_ids():
    """The old 7-character IDs collided in ~6 % of 100k-cable designs; 50 bits make it ~4e-6."""
    idents = [
        cable_identity(f"r{r:03d}-s{s:02d}:p{p}", f"r{r:03d}-sw:s{4 * s + p}")
        for r in range(834)
        for s in range(30)
        for p in range(4)
    ][:100_000]
    ids, warnings = assign_ids((i, "") for i in idents)
    assert len(set(ids.values())) == len(idents) == 100_000 and warnings == []
    assert all(ids[i] == hash_id(i) for i in idents[:1000])


def test_identity_ignores_end_order():
    assert cable_identity("b:1", "a:2") == cable_identity("a:2", "b:1") == "a:2|b:1"


def test_explicit_label_wins():
    ids, _ = assign_ids(
        [
            ("a:1|b:1", "c-abc1234"),  # a 7-character ID printed by an earlier version
            ("a:2|b:2", "UPLINK-7"),
            ("a:3|b:3", "c-6bmr43e27h"),  # a 10-character ID
            ("a:4|b:4", "C-HELLOWORLD"),  # 10 characters, but I/L/O/U are not in the alphabet
        ]
    )
    assert ids["a:1|b:1"] == "C-ABC1234"  # already an ID: used as is (upper-cased)
    assert ids["a:2|b:2"] == hash_id("label:UPLINK-7")  # any other label: hashed
    assert ids["a:3|b:3"] == "C-6BMR43E27H"
    assert ids["a:4|b:4"] == hash_id("label:C-HELLOWORLD")


def _force(monkeypatch, table: dict[str, str]):
    """Make the hash return ``table[identity]`` where given (to force collisions)."""
    real = labels.hash_id
    fake = lambda s: table.get(s) or real(s)  # noqa: E731
    monkeypatch.setattr(labels, "hash_id", fake)
    monkeypatch.setattr(labels, "hash_ids", lambda idents: [fake(s) for s in idents])
    return real


def test_collisions_are_resolved_deterministically_and_warned(monkeypatch):
    same = "C-5AME000000"
    real = _force(monkeypatch, {"b:1|c:1": same, "a:1|z:1": same, "m:1|n:1": same})
    items = [("b:1|c:1", ""), ("a:1|z:1", ""), ("m:1|n:1", ""), ("p:1|q:1", "")]
    ids1, warn1 = labels.assign_ids(items)
    ids2, warn2 = labels.assign_ids(list(reversed(items)))
    assert ids1 == ids2 and warn1 == warn2
    assert ids1["a:1|z:1"] == same  # the identity that sorts first keeps the hash
    assert ids1["b:1|c:1"] == real("b:1|c:1#1")
    assert ids1["m:1|n:1"] == real("m:1|n:1#1")
    assert ids1["p:1|q:1"] == real("p:1|q:1")
    assert warn1 == [
        f"cable b:1 -- c:1 and cable a:1 -- z:1 hash to the same ID {same}; a:1 -- z:1 keeps it "
        f"and b:1 -- c:1 gets {real('b:1|c:1#1')}: pin both by writing these IDs as their labels",
        f"cable m:1 -- n:1 and cable a:1 -- z:1 hash to the same ID {same}; a:1 -- z:1 keeps it "
        f"and m:1 -- n:1 gets {real('m:1|n:1#1')}: pin both by writing these IDs as their labels",
    ]


def test_a_salted_id_skips_ids_already_taken(monkeypatch):
    real = labels.hash_id
    _force(monkeypatch, {"b:1|b:2": "C-0000000001", "a:1|a:2": "C-0000000001"})
    taken = real("b:1|b:2#1")  # an unrelated cable already holds the first salted ID
    ids, _ = labels.assign_ids([("a:1|a:2", ""), ("b:1|b:2", ""), ("c:1|c:2", taken)])
    assert ids["c:1|c:2"] == taken and ids["a:1|a:2"] == "C-0000000001"
    assert ids["b:1|b:2"] == real("b:1|b:2#2")


def test_explicit_id_beats_a_hash_collision(monkeypatch):
    real = _force(monkeypatch, {"a:1|b:1": "C-P1NNED0001"})
    ids, warnings = labels.assign_ids([("a:1|b:1", ""), ("x:1|y:1", "C-P1NNED0001")])
    assert ids["x:1|y:1"] == "C-P1NNED0001"
    assert ids["a:1|b:1"] == real("a:1|b:1#1")
    assert "a:1 -- b:1" in warnings[0] and "x:1 -- y:1" in warnings[0]


def test_two_labels_giving_one_id_are_warned():
    ids, warnings = assign_ids([("a:1|b:1", "C-ABC1234"), ("x:1|y:1", "c-abc1234")])
    assert ids["a:1|b:1"] == "C-ABC1234" and ids["x:1|y:1"] == hash_id("x:1|y:1#1")
    assert warnings == [
        f"cable x:1 -- y:1: label gives ID C-ABC1234, already used by a:1 -- b:1; it gets a new ID {ids['x:1|y:1']}"
    ]


def test_qr_payload_round_trip():
    assert qr_payload("C-6BMR43E27H", "a") == "C-6BMR43E27H/A"
    assert parse_qr_payload("C-6BMR43E27H/A") == ("C-6BMR43E27H", "A")
    assert parse_qr_payload("  c-6bmr43e27h / b\n") == ("C-6BMR43E27H", "B")
    assert parse_qr_payload("c6bmr43e27h") == ("C-6BMR43E27H", None)
    # typed by hand: Crockford reads O as 0 and I, L as 1 in 10-character IDs
    assert parse_qr_payload("C-0I2L45O789/a") == ("C-0121450789", "A")
    # 7-character IDs printed before are read as printed (their alphabet had I, L, O, U)
    assert parse_qr_payload("c-4k7q2m9/b") == ("C-4K7Q2M9", "B")
    assert parse_qr_payload("C-UILO123") == ("C-UILO123", None)
    with pytest.raises(ValueError, match="'A' or 'B'"):
        qr_payload("C-6BMR43E27H", "C")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "C-123",
        "C-6BMR43E27H/C",
        "X-6BMR43E27H",
        "C-6BMR43E27H/A/B",
        "C-6BMR43E27U",  # U is not in the alphabet
        "C-6BMR43E27",  # 9 characters
        "C-6BMR43E27HH",  # 11 characters
        "C-" + "A" * 100,
    ],
)
def test_parse_rejects_other_codes(bad):
    with pytest.raises(ValueError, match="not a cable code"):
        parse_qr_payload(bad)


@given(st.text(max_size=40), st.sampled_from("AB"))
def test_payloads_are_qr_alphanumeric_and_parse_back(identity, end):
    cid = hash_id(identity)
    payload = qr_payload(cid, end)
    assert len(payload) == 14
    assert set(payload) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-/")
    assert parse_qr_payload(payload.lower()) == (cid, end)


def test_label_text_is_upper_case_one_token_per_field():
    near = labels.end_reference("1a-b04", "a1", 7, "srv a", "eth 0")
    assert near == "1A-B04 A1 U07 SRV_A:ETH_0"  # device:port one token, spaces as '_'
    assert (
        label_text("C-6BMR43E27H", "B", near, "X") == "C-6BMR43E27H/B 1A-B04 A1 U07 SRV_A:ETH_0 > X"
    )
    assert labels.end_reference("1A-B04", "A1", None, "pdu-a", "Outlet 3").split() == [
        "1A-B04",
        "A1",
        "U--",
        "PDU-A:OUTLET_3",
    ]


def test_label_lines_are_id_with_end_this_end_and_the_far_end():
    near = labels.end_reference("1A-F06", "A01", 10, "srv-01", "eno1")
    far = labels.end_reference("1A-H06", "A03", 40, "leaf-a", "swp1")
    assert labels.label_lines("C-6BMR43E27H", "a", near, far) == (
        "C-6BMR43E27H/A",
        "1A-F06 A01 U10 SRV-01:ENO1",
        "TO 1A-H06 A03 U40 LEAF-A:SWP1",
    )


def test_machine_text_is_printable_ascii_upper_case():
    assert labels.machine_text("Gerät é\tb ✓") == "GERAT E B ?"
    assert labels.end_reference("1A", "Zürich", 1, "srv\u200b", "") == "1A ZURICH U01 SRV?:-"
