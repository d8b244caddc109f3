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


def test_walking_benchmark_compares_a_technician_with_an_ortools_tour_of_the_same_stops():
    pytest.importorskip("ortools", reason="OR-Tools is a benchmark dependency (the bench extra)")
    r = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "bench_walking.py"),
            "floorplans/lab-hall",
            "--member",
            "technician-1",
            "--limit-s",
            "1",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    # the plan's carried walks, its order re-walked on the solver's matrix and the schedule's
    # own figure agree, and the plan's order keeps every constraint of the solver's model
    assert "note:" not in r.stdout, r.stdout
    (row,) = [line.split() for line in r.stdout.splitlines() if line.startswith("technician-")]
    assert row[0] == "technician-1"
    visits, nodes = int(row[1]), int(row[2])
    assert nodes > visits  # a cable is two nodes: its pickup and its delivery
    fieldops_m, greedy_m, from_plan, from_greedy, best = (
        float(x.replace(",", "")) for x in row[5:10]
    )
    assert 0 < best == min(from_plan, from_greedy)
    assert from_plan <= fieldops_m and from_greedy <= greedy_m  # a search never loses its start
    assert float(row[10]) == pytest.approx(fieldops_m / best, abs=0.01)
