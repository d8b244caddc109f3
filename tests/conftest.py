"""Shared fixtures. Area-specific fixtures live in tests/fixtures_*.py, loaded as plugins below."""

from __future__ import annotations

import pytest

from tests.samples import write_design

pytest_plugins = [
    name
    for name in (
        "tests.fixtures_mqtt",
        "tests.fixtures_db",
        "tests.fixtures_web",
    )
    if __import__("importlib.util").util.find_spec(name) is not None
]


@pytest.fixture
def tiny_design(tmp_path):
    """A small valid design directory (see tests/samples.py)."""
    return write_design(tmp_path / "tiny")
