"""The install is the locked set: scripts/bootstrap puts exactly requirements/lock.txt's versions
into .venv, and the lock covers every dependency pyproject.toml declares (runtime and test)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "lock.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)\s*(?:;\s*(.+))?$")


def locked() -> dict[str, str]:
    """name -> version of the lock's pins that apply to this interpreter and platform."""
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        m = PIN.match(line.strip())
        if m and (m.group(3) is None or Marker(m.group(3)).evaluate()):
            pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


def install_mode() -> str:
    marker = Path(sys.prefix) / "fieldops-install"
    return marker.read_text().strip() if marker.exists() else "unknown"


def test_the_lock_pins_every_declared_dependency_within_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared += extra
    pins = locked()
    wrong = []
    for text in declared:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        if name not in pins:
            wrong.append(f"{req.name}: not in the lock")
        elif not req.specifier.contains(pins[name], prereleases=True):
            wrong.append(f"{req.name}: lock has {pins[name]}, pyproject asks {req.specifier}")
    assert not wrong, "refresh the lock (requirements/README.md): " + "; ".join(wrong)


def test_bootstrap_installed_the_locked_versions():
    if install_mode() == "latest":
        pytest.skip("installed with scripts/bootstrap --latest: the newest releases, not the lock")
    assert install_mode() == "locked", "this environment was not made by scripts/bootstrap"
    pins = locked()
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    # everything fieldops[test] pulls in, transitively, is pinned and installed at its pin
    needed, todo = set(), ["fieldops[test,postgres]"]
    while todo:
        req = Requirement(todo.pop())
        name = canonicalize_name(req.name)
        if req.marker and not req.marker.evaluate({"extra": ""}):
            continue
        key = (name, frozenset(req.extras))
        if key in needed:
            continue
        needed.add(key)
        for sub in metadata.distribution(name).requires or []:
            r = Requirement(sub)
            if r.marker is None or any(r.marker.evaluate({"extra": e}) for e in req.extras or [""]):
                r.marker = None
                todo.append(str(r))
    names = {n for n, _ in needed} - {"fieldops"}
    assert sorted(n for n in names if n not in pins) == []
    assert {n: installed[n] for n in names if installed[n] != pins[n]} == {}
    for tool in ("pip", "setuptools", "wheel"):
        assert installed[tool] == pins[tool], tool


def test_bootstrap_help_names_every_mode():
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "bootstrap"), "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0
    for flag in ("--test", "--postgres", "--latest"):
        assert flag in out.stdout
    bad = subprocess.run(
        ["bash", str(ROOT / "scripts" / "bootstrap"), "--tset"], capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert "unknown option '--tset'" in bad.stderr
