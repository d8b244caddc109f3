"""Cable IDs, QR payloads and label text (fieldops.core.labels)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldops.core import labels
from fieldops.core.labels import (
    assign_ids,
    cable_identity,
    hash_id,
    is_cable_id,
    label_text,
    parse_qr_payload,
    qr_payload,
)


def test_hash_id_format_and_known_value():
    assert hash_id("leaf-a:swp1|srv-01:eno1") == "C-6Q2Y2C4"  # pinned: printed labels depend on it
    assert is_cable_id(hash_id("x"))


def test_identity_ignores_end_order():
    assert cable_identity("b:1", "a:2") == cable_identity("a:2", "b:1") == "a:2|b:1"


def test_explicit_label_wins():
    ids, _ = assign_ids([("a:1|b:1", "c-abc1234"), ("a:2|b:2", "UPLINK-7")])
    assert ids["a:1|b:1"] == "C-ABC1234"  # already an ID: used as is (upper-cased)
    assert ids["a:2|b:2"] == hash_id("label:UPLINK-7")  # any other label: hashed


def test_collisions_are_resolved_deterministically(monkeypatch):
    real = labels.hash_id
    monkeypatch.setattr(labels, "hash_id", lambda s: "C-SAME000" if "#" not in s else real(s))
    items = [("b:1|c:1", ""), ("a:1|z:1", ""), ("m:1|n:1", "")]
    ids1, _ = labels.assign_ids(items)
    ids2, _ = labels.assign_ids(list(reversed(items)))
    assert ids1 == ids2
    assert ids1["a:1|z:1"] == "C-SAME000"  # the identity that sorts first keeps the hash
    assert len(set(ids1.values())) == 3
    assert ids1["b:1|c:1"] == real("b:1|c:1#1")


def test_explicit_id_beats_a_hash_collision(monkeypatch):
    monkeypatch.setattr(labels, "hash_id", lambda s: "C-PINNED1" if "#" not in s else "C-OTHER01")
    ids, _ = labels.assign_ids([("a:1|b:1", ""), ("x:1|y:1", "C-PINNED1")])
    assert ids["x:1|y:1"] == "C-PINNED1"
    assert ids["a:1|b:1"] == "C-OTHER01"


def test_qr_payload_round_trip():
    assert qr_payload("C-4K7Q2M9", "a") == "C-4K7Q2M9/A"
    assert parse_qr_payload("C-4K7Q2M9/A") == ("C-4K7Q2M9", "A")
    assert parse_qr_payload("  c-4k7q2m9 / b\n") == ("C-4K7Q2M9", "B")
    assert parse_qr_payload("c4k7q2m9") == ("C-4K7Q2M9", None)
    with pytest.raises(ValueError, match="'A' or 'B'"):
        qr_payload("C-4K7Q2M9", "C")


@pytest.mark.parametrize(
    "bad", ["", "C-123", "C-4K7Q2M9/C", "X-4K7Q2M9", "C-4K7Q2M9/A/B", "C-" + "A" * 100]
)
def test_parse_rejects_other_codes(bad):
    with pytest.raises(ValueError, match="not a cable code"):
        parse_qr_payload(bad)


@given(st.text(max_size=40), st.sampled_from("AB"))
def test_payloads_are_qr_alphanumeric_and_parse_back(identity, end):
    cid = hash_id(identity)
    payload = qr_payload(cid, end)
    assert set(payload) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-/")
    assert parse_qr_payload(payload.lower()) == (cid, end)


def test_label_text_is_upper_case_one_token_per_field():
    near = labels.end_reference("1a-b04", "a1", 7, "srv a", "eth 0")
    assert near == "1A-B04 A1 U07 SRV_A ETH_0"
    assert label_text("C-4K7Q2M9", "B", near, "X") == "C-4K7Q2M9/B 1A-B04 A1 U07 SRV_A ETH_0 > X"
