"""The scale benchmark stays runnable: ``benchmarks/run --su 1`` runs every stage of the
pipeline on the smallest SuperPOD-style hall and records each as ok, with plausible details.
(Timings are the benchmark's business, not the test's.)"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks.scale import STAGES
from tests.fixtures_web import REPO

pytestmark = pytest.mark.slow


def test_scale_benchmark_runs_every_stage_at_one_scalable_unit(tmp_path):
    r = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run"), "--su", "1", "--results", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    (result,) = tmp_path.glob("scale-*.json")
    stages = json.loads(result.read_text())["results"]["1"]
    every_stage = [name for name in STAGES if name != "print-labels"]  # labels: --labels only
    assert {s: v["status"] for s, v in stages.items()} == dict.fromkeys(every_stage, "ok"), stages
    assert stages["expand"]["detail"]["cables"] == 965
    # 1 % of the cables missing, 1 % mislabelled, one device in 500 missing: 10 + 10 + 1
    assert stages["reconcile"]["detail"] == {"drift": 21, "fixup_steps": 21}
    assert stages["diff"]["detail"]["devices"]["removed"] > 0
    assert "reconcile" in r.stdout and "diff" in r.stdout  # the table's columns
