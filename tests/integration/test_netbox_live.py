"""Against a real NetBox, where one is configured: push the lab hall, push it again (nothing to
do), import it back through the REST API and plan it: the same labels, faces, work orders and
steps.

Configure with FIELDOPS_NETBOX_URL (e.g. http://localhost:8000) and FIELDOPS_NETBOX_TOKEN_FILE
(a file holding an API token allowed to write DCIM objects and custom fields). The test writes
site 'fieldops-live-test' (slug fieldops-live-test) and reuses it on later runs, so its second
push is an update; asset tags LAB-0001.. must not belong to another site's devices.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.test_netbox import differences, plan_view, run
from tests.samples import LAB_HALL

URL = os.environ.get("FIELDOPS_NETBOX_URL", "")
TOKEN_FILE = os.environ.get("FIELDOPS_NETBOX_TOKEN_FILE", "")
SITE = "fieldops-live-test"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (URL and TOKEN_FILE and Path(TOKEN_FILE).is_file()),
        reason="no live NetBox configured: set FIELDOPS_NETBOX_URL and FIELDOPS_NETBOX_TOKEN_FILE "
        "(a file holding an API token) to run the push/import round trip against a real NetBox",
    ),
]


def test_live_netbox_push_twice_then_import_plans_the_same(tmp_path, capsys):
    plan = tmp_path / "plan"
    assert run(capsys, "plan", LAB_HALL, "-o", plan)[0] == 0
    common = ("--url", URL, "--token-file", TOKEN_FILE, "--site", SITE)
    code, out, err = run(capsys, "netbox", "push", LAB_HALL, *common, "--plan", plan)
    assert code == 0, out + err
    code, out, err = run(capsys, "netbox", "push", LAB_HALL, *common, "--plan", plan)
    assert code == 0 and "0 created, 0 updated, 0 decommissioned, 0 blocked" in out, out + err
    back = tmp_path / "back"
    code, out, err = run(
        capsys,
        "netbox",
        "import",
        "--url",
        URL,
        "--token-file",
        TOKEN_FILE,
        "--site",
        SITE,
        "--floorplan",
        LAB_HALL / "floorplan.yaml",
        "--device-types",
        LAB_HALL / "devicetypes",
        "-o",
        back,
    )
    assert code == 0, err
    before, after = plan_view(LAB_HALL), plan_view(back)
    assert differences(before, after) == {k: 0 for k in before}
