"""`fieldops validate` end to end: real processes, real files, exit codes, text and JSON output.

A few bad inputs go through a subprocess (what a user sees: no traceback, exit 2); the wheel
test builds and installs the package into a throwaway venv and validates the bundled sample.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from fieldops.cli import main
from tests.samples import LAB_HALL, REPO
from tests.samples_validate import DEVICES, make_design


def fieldops(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "fieldops", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def _no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stdout + result.stderr


def test_valid_design_exits_0_with_a_summary(tmp_path):
    result = fieldops("validate", str(make_design(tmp_path)))
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "tiny: 3 racks, 3 devices, 2 cables, 0 error(s), 0 warning(s): valid\n",
        "",
    )


def test_design_with_an_error_exits_2_and_names_file_line_and_path(tmp_path):
    design = make_design(
        tmp_path,
        devices=DEVICES + ["{name: srv3, device_type: test-server-1u, rack: R01, position: 10}"],
    )
    result = fieldops("validate", str(design))
    assert result.returncode == 2
    assert result.stdout.splitlines() == [
        "elevations.yaml:5: devices[3].position: device 'srv3' overlaps 'srv1' at U10 (front) in rack 'R01'",
        "tiny: 3 racks, 4 devices, 2 cables, 1 error(s), 0 warning(s): INVALID",
    ]


def test_json_output_has_the_same_fields(tmp_path):
    design = make_design(
        tmp_path,
        devices=DEVICES + ["{name: srv3, device_type: test-server-1u, rack: R01, position: 10}"],
    )
    result = fieldops("validate", str(design), "--format", "json")
    assert result.returncode == 2
    doc = json.loads(result.stdout)
    assert doc == {
        "design": "tiny",
        "valid": False,
        "strict": False,
        "summary": {"racks": 3, "devices": 4, "cables": 2},
        "errors": 1,
        "warnings": 0,
        "problems": [
            {
                "file": "elevations.yaml",
                "line": 5,
                "path": "devices[3].position",
                "message": "device 'srv3' overlaps 'srv1' at U10 (front) in rack 'R01'",
                "severity": "error",
                "rule": "elevation",
            }
        ],
    }


def test_warnings_pass_unless_strict(tmp_path, capsys):
    design = make_design(
        tmp_path,
        devices=DEVICES + ["{name: pdu1, device_type: test-pdu-0u, rack: R01, position: 5}"],
    )
    assert main(["validate", str(design)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "elevations.yaml:5: devices[3].position: warning: device 'pdu1' is zero-U (test-pdu-0u); it takes no 'position' (ignored)",
        "tiny: 3 racks, 4 devices, 2 cables, 0 error(s), 1 warning(s): valid",
    ]
    assert main(["validate", str(design), "--strict"]) == 2
    assert (
        capsys.readouterr().out.splitlines()[-1]
        == "tiny: 3 racks, 4 devices, 2 cables, 0 error(s), 1 warning(s): INVALID (--strict)"
    )
    assert main(["validate", str(design), "--strict", "--format", "json"]) == 2
    assert json.loads(capsys.readouterr().out)["valid"] is False


def test_clearance_option_is_checked(tmp_path):
    result = fieldops("validate", str(make_design(tmp_path)), "--clearance-mm", "-5")
    assert result.returncode == 2
    assert "argument --clearance-mm: -5 is outside 0..10000 mm" in result.stderr
    _no_traceback(result)


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (
            lambda d: (d / "elevations.yaml").write_text("devices:\n  - {name: x\n"),
            # fieldops' part: file, line, what kind of problem (the parser's words follow)
            "elevations.yaml:3: <root>: YAML syntax error: ",
        ),
        (
            lambda d: (d / "elevations.yaml").write_text("devices: " + "[" * 5000 + "]" * 5000),
            "elevations.yaml:1: <root>: YAML ",  # nesting stopped by PyYAML or by fieldops
        ),
        (
            lambda d: (d / "floorplan.yaml").write_bytes(b"hall: caf\xe9\n"),
            "floorplan.yaml:1: <root>: not UTF-8 text (byte 0xe9 at offset 9)",
        ),
        (
            lambda d: (d / "connections.yaml").open("wb").truncate(50 * 1024 * 1024),
            "connections.yaml: <root>: file is 50.0 MB, over the 20 MB limit",
        ),
        (
            lambda d: (d / "connections.yaml").write_text(
                "include: [connections.yaml]\ncables: []\n"
            ),
            "connections.yaml:1: include[0]: circular include: connections.yaml -> connections.yaml",
        ),
        (
            lambda d: (d / "floorplan.yaml").unlink(),
            "design.yaml:3: floorplan: floor plan 'floorplan.yaml' not found",
        ),
        (
            lambda d: (d / "floorplan.yaml").write_text(
                "hall: H\nrack_types: [{slug: r42, u_height: 10000}]\n"
            ),
            "floorplan.yaml:2: rack_types[0].u_height: 10000 is above the maximum 100",
        ),
    ],
)
def test_bad_input_through_the_cli_exits_2_without_a_traceback(tmp_path, breakage, expected):
    design = make_design(tmp_path)
    breakage(design)
    result = fieldops("validate", str(design))
    assert result.returncode == 2, result.stdout + result.stderr
    assert any(line.startswith(expected) for line in result.stdout.splitlines()), result.stdout
    _no_traceback(result)


def test_missing_design_directory(tmp_path):
    result = fieldops("validate", str(tmp_path / "nope"), cwd=tmp_path)
    assert result.returncode == 2
    assert (
        result.stdout.splitlines()[0]
        == f"{tmp_path / 'nope'}: <root>: no design here: does not exist (expected a directory with a design.yaml)"
    )
    _no_traceback(result)


def test_the_lab_sample_validates_from_the_command_line():
    result = fieldops("validate", str(LAB_HALL), "--format", "json")
    doc = json.loads(result.stdout)
    assert (result.returncode, doc["valid"], doc["errors"], doc["summary"]["racks"]) == (
        0,
        True,
        0,
        12,
    )


@pytest.mark.slow
def test_wheel_ships_the_data_and_validates_the_bundled_sample(tmp_path):
    """Build the wheel, install it (no deps) into a throwaway venv that borrows this venv's
    libraries, and validate the sample from the installed package, far from the source tree."""
    wheels = tmp_path / "whl"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(REPO)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if (
        "invalid command 'bdist_wheel'" in build.stderr
    ):  # setuptools < 70.1 without the 'wheel' package
        pytest.skip(
            "building a wheel offline needs the 'wheel' package (or setuptools >= 70.1) in the test environment"
        )
    assert build.returncode == 0, build.stderr
    wheel = next(wheels.glob("fieldops-*.whl"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # dependencies from this venv, appended after the venv's own site-packages (no editable finder)
    Path(site, "borrowed_deps.pth").write_text(ours + "\n")
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            "--target",
            site,
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [str(py), "-c", "import fieldops, fieldops.bootstrap as b; print(fieldops.__file__); print(b.sample_design()); print(b.robot_profiles_dir())"],
        capture_output=True, text=True, cwd=tmp_path, env=env, check=True,
    ).stdout.split()  # fmt: skip
    assert all(p.startswith(site) for p in where), where
    result = subprocess.run(
        [str(py), "-m", "fieldops", "validate", where[1]],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        result.stdout.splitlines()[-1]
        == "lab-hall: 12 racks, 58 devices, 157 cables, 0 error(s), 19 warning(s): valid"
    )
    shipped = {
        p.relative_to(site).parts[:2] for p in Path(site, "fieldops").rglob("*") if p.is_file()
    }
    for folder in (
        ("fieldops", "floorplans"),
        ("fieldops", "robot_profiles"),
        ("fieldops", "data"),
    ):
        assert folder in shipped, folder
