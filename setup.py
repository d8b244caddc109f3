"""Packaging glue: ship the top-level templates/, static/, floorplans/ and robot_profiles/
folders inside the wheel (as fieldops.templates etc.) so an installed fieldops finds them."""

from pathlib import Path

from setuptools import find_packages, setup

DATA_DIRS = {
    "fieldops.templates": "templates",
    "fieldops.static": "static",
    "fieldops.floorplans": "floorplans",
    "fieldops.robot_profiles": "robot_profiles",
    "fieldops.docs": "docs",  # openapi.yaml is served by the web app
}
HERE = Path(__file__).parent
DATA_DIRS = {pkg: folder for pkg, folder in DATA_DIRS.items() if (HERE / folder).is_dir()}

setup(
    packages=find_packages(include=["fieldops", "fieldops.*"]) + list(DATA_DIRS),
    package_dir={"": ".", **DATA_DIRS},
    package_data={name: ["**/*"] for name in DATA_DIRS}
    | {
        "fieldops": ["data/*", "data/**/*", "blueprints/*", "blueprints/**/*"],
        "fieldops.adapters.store": ["migrations/*", "migrations/**/*"],
    },
)
