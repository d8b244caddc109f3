"""Packaging glue: ship the top-level templates/, static/, floorplans/ and robot_profiles/
folders inside the wheel (as fieldops.templates etc.) so an installed fieldops finds them."""

from pathlib import Path

from setuptools import find_namespace_packages, setup

DATA_DIRS = {
    "fieldops.templates": "templates",
    "fieldops.static": "static",
    "fieldops.floorplans": "floorplans",
    "fieldops.robot_profiles": "robot_profiles",
    "fieldops.docs": "docs",  # openapi.yaml is served by the web app
}
HERE = Path(__file__).parent
DATA_DIRS = {pkg: folder for pkg, folder in DATA_DIRS.items() if (HERE / folder).is_dir()}


def data_packages() -> list[str]:
    """Each data folder and its sub-folders as (namespace) packages, so setuptools ships them
    as declared rather than warning about importable folders it was not told about."""
    names = []
    for pkg, folder in DATA_DIRS.items():
        names.append(pkg)
        for sub in sorted(p for p in (HERE / folder).rglob("*") if p.is_dir()):
            if "__pycache__" not in sub.parts:
                names.append(".".join([pkg, *sub.relative_to(HERE / folder).parts]))
    return names


setup(
    packages=find_namespace_packages(include=["fieldops", "fieldops.*"], exclude=["*__pycache__"])
    + data_packages(),
    package_dir={"": ".", **DATA_DIRS},
    package_data={name: ["**/*"] for name in DATA_DIRS}
    | {
        "fieldops": ["data/*", "data/**/*", "blueprints/*", "blueprints/**/*"],
        "fieldops.adapters.store": ["migrations/*", "migrations/**/*"],
    },
)
