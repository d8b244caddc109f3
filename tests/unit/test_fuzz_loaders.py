"""Fuzz the loaders: random text, random YAML documents and mutated valid designs.

The contract: loading and validating never raise anything but DesignError (and
``services.validate_design`` not even that: it returns problems), and every problem names a
file. Seeded through hypothesis' database-free derandomised mode, so CI runs are repeatable.
"""

from __future__ import annotations

import copy
import math
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldops import services
from fieldops.adapters.yamlfile import parse_yaml
from fieldops.core.problems import DesignError
from tests.samples import (
    SERVER_TYPE,
    SWITCH_TYPE,
    tiny_cables,
    tiny_devices,
    tiny_floorplan,
    write_design,
)

FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)

DESIGN_FUZZ = settings(FUZZ, max_examples=50)  # each example writes and validates a design

YAML_TOKENS = [
    "a",
    ":",
    " ",
    "\n",
    "  ",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&x",
    "*x",
    "<<: ",
    "!!str",
    "!!int",
    "!!python/name:os.system",
    "'",
    '"',
    "#",
    "---",
    "...",
    "?",
    "|",
    ">",
    "%YAML 1.1",
    "\t",
    "1e400",
    ".nan",
    "-",
    "0x1F",
    "~",
    "\\",
    "\x00",
    "\ufeff",
    "é",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


@FUZZ
@given(st.text(max_size=300))
def test_parse_yaml_random_text(text):
    try:
        parse_yaml(text, "fuzz.yaml")
    except DesignError as exc:
        assert all(p.file == "fuzz.yaml" for p in exc.problems)


@FUZZ
@given(st.lists(st.sampled_from(YAML_TOKENS), max_size=60))
def test_parse_yaml_yaml_shaped_text(tokens):
    try:
        parse_yaml("".join(tokens), "fuzz.yaml")
    except DesignError as exc:
        assert exc.problems and all(p.file == "fuzz.yaml" for p in exc.problems)


def _validate(root: Path) -> list:
    report = services.validate_design(root)  # must not raise
    for p in report.problems:
        assert p.file, p
        assert "\n" not in str(p)
    return report.problems


@DESIGN_FUZZ
@given(
    st.sampled_from(
        [
            "design.yaml",
            "floorplan.yaml",
            "elevations.yaml",
            "connections.yaml",
            "types/test-server-1u.yaml",
        ]
    ),
    documents,
)
def test_random_yaml_documents_in_any_design_file(name, doc):
    with tempfile.TemporaryDirectory() as tmp:
        root = write_design(Path(tmp) / "d")
        (root / name).write_text(yaml.safe_dump(doc, allow_unicode=True))
        _validate(root)


def _paths(value, prefix=()):
    """Every (path) into a nested dict/list structure."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


def _mutate(doc, path, new, delete):
    doc = copy.deepcopy(doc)
    if not path:
        return new
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return doc


VALID = {
    "floorplan": tiny_floorplan(),
    "devices": {"devices": tiny_devices()},
    "cables": {"cables": tiny_cables()},
    "server": SERVER_TYPE,
    "switch": SWITCH_TYPE,
}


@DESIGN_FUZZ
@given(st.sampled_from(sorted(VALID)), st.data(), documents, st.booleans())
def test_mutated_valid_designs_only_report_problems(which, data, new, delete):
    doc = VALID[which]
    paths = list(_paths(doc))
    path = data.draw(st.sampled_from(paths))
    mutated = _mutate(doc, path, new, delete and bool(path))
    with tempfile.TemporaryDirectory() as tmp:
        kw = {
            "floorplan": mutated if which == "floorplan" else None,
            "device_types": [t for t in (SERVER_TYPE, SWITCH_TYPE) if t is not doc],
        }
        root = write_design(Path(tmp) / "d", **kw)
        target = {
            "devices": "elevations.yaml",
            "cables": "connections.yaml",
            "server": "types/mutated.yaml",
            "switch": "types/mutated.yaml",
        }.get(which)
        if target:
            (root / target).write_text(yaml.safe_dump(mutated, allow_unicode=True))
        _validate(root)


@DESIGN_FUZZ
@given(
    st.sampled_from(["position", "u_height", "max_kw", "max_kg", "rotation_deg", "width_mm"]),
    st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(min_value=-(10**20), max_value=10**20),
)
def test_absurd_numbers_anywhere_in_a_rack(field, number):
    fp = tiny_floorplan()
    target = (
        fp["rack_types"][0]
        if field in ("u_height", "max_kw", "max_kg", "width_mm")
        else fp["racks"][0]
    )
    target[field] = [number, 3000] if field == "position" else number
    with tempfile.TemporaryDirectory() as tmp:
        problems = _validate(write_design(Path(tmp) / "d", floorplan=fp))
        if isinstance(number, float) and not math.isfinite(number):
            assert any("finite" in p.message for p in problems)
