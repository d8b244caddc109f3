"""The drift report in the lead's dashboard: ``fieldops reconcile`` writes drift.json, a lead
loads it (POST /api/drift), the dashboard and GET /api/drift show it; another hall's report, a
file that is not a drift report, a technician or a planner loading one are refused."""

from __future__ import annotations

import json

import pytest

from fieldops.cli import main
from tests.samples import write_design


@pytest.fixture(scope="module")
def drift_doc(tmp_path_factory) -> dict:
    """The drift.json of the tiny hall (hall TINY, the seeded plan's) with two cables swapped."""
    root = tmp_path_factory.mktemp("tiny")
    hall = write_design(root / "hall")
    seen = root / "sw1.csv"
    seen.write_text(
        "device,port,neighbour_device,neighbour_port\nsw1,swp1,srv2,eth0\nsw1,swp2,srv1,eth0\n"
    )
    assert main(["reconcile", str(hall), "--observed", str(seen), "-o", str(root / "out")]) == 1
    return json.loads((root / "out" / "drift.json").read_text())


def test_a_lead_loads_the_report_and_the_dashboard_shows_it(as_user, token_for, client, drift_doc):
    assert client.get("/api/drift", headers=token_for("lee")).status_code == 404
    r = client.post("/api/drift", json=drift_doc, headers=token_for("lee"))
    assert r.status_code == 201, r.json
    assert r.json["drift"] == 2 and r.json["loaded_by"] == "lee" and r.json["hall"] == "TINY"
    got = client.get("/api/drift", headers=token_for("pat")).json  # planners watch too
    assert [i["status"] for i in got["items"]] == ["swapped", "swapped"]
    assert got["summary"][0]["text"] == "2 cables swapped (ends exchanged)"
    assert all(i["fixup"].startswith("fixup-") for i in got["items"])
    c, _ = as_user("lee")
    page = c.get("/lead/").get_data(as_text=True)
    assert "As-built drift (2)" in page and "2 cables swapped (ends exchanged)" in page
    assert drift_doc["items"][0]["message"] in page
    assert "cables unobserved" not in page  # the switch reported: everything was looked at


def test_another_halls_report_a_non_report_and_the_wrong_roles_are_refused(
    client, token_for, drift_doc
):
    other = json.loads(json.dumps(drift_doc))
    other["design"]["hall"] = "LAB1"
    r = client.post("/api/drift", json=other, headers=token_for("lee"))
    assert r.status_code == 409
    assert r.json["error"]["message"] == (
        "the drift report is for hall 'LAB1', the loaded plan is hall 'TINY'"
    )
    r = client.post(
        "/api/drift", json={"schema": "fieldops.workorders/1.0"}, headers=token_for("lee")
    )
    assert (
        r.status_code == 400 and "'schema' must be fieldops.drift/1.x" in r.json["error"]["message"]
    )
    bad = json.loads(json.dumps(drift_doc))
    bad["items"][1]["status"] = "<script>"
    r = client.post("/api/drift", json=bad, headers=token_for("lee"))
    assert r.status_code == 400 and r.json["error"]["message"].startswith("items[1]: kind must be")
    for name in ("ann", "pat"):  # a technician; a planner may watch but not load
        assert client.post("/api/drift", json=drift_doc, headers=token_for(name)).status_code == 403
    assert client.get("/api/drift", headers=token_for("ann")).status_code == 403
    assert client.get("/api/drift", headers=token_for("lee")).status_code == 404  # nothing kept


@pytest.mark.parametrize("drift", [2**31, 2**64, -1, True])
def test_a_drift_count_past_the_32_bit_column_is_400(client, token_for, drift_doc, drift):
    doc = {**drift_doc, "counts": {**drift_doc["counts"], "drift": drift}}
    r = client.post("/api/drift", json=doc, headers=token_for("lee"))
    assert r.status_code == 400 and "0 to 2147483647" in r.json["error"]["message"]
