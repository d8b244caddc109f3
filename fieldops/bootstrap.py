"""The composition root: the one place that picks concrete adapters and default locations."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


def data_dir(name: str) -> Path:
    """A top-level data folder (floorplans, robot_profiles, templates, static).

    From a source checkout these are the repo's folders; from an installed wheel they are
    shipped as ``fieldops/<name>`` (see setup.py).
    """
    for candidate in (REPO_DIR / name, PACKAGE_DIR / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"fieldops data folder '{name}' is missing from the installation")


def sample_design(name: str = "lab-hall") -> Path:
    return data_dir("floorplans") / name


def robot_profiles_dir() -> Path:
    return data_dir("robot_profiles")
