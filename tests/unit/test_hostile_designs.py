"""Hostile design folders through ``fieldops validate`` and ``fieldops plan -o``, in-process.

Each example starts from the tiny sample hall and applies one to three attacks: symlink loops,
links to ``/``, ``/proc`` or ``/dev/zero``, links and ``..`` leading outside the folder, names
too long for the file system, NUL bytes, FIFOs, folders where files belong, deeply nested YAML
and folders, huge numbers, wrong types, binary junk, duplicate keys, include cycles and piles of
overlapping racks. The contract (issue 18): exit 0 or 2, never a traceback or an internal
error, never a hang (a per-example watchdog), and after exit 2 nothing in the output folder.

The default run is 2,000 examples; the long one adds rare big attacks (thousands of piled
racks, rows of up to 30,000) and runs when ``FIELDOPS_HOSTILE_EXAMPLES=N`` asks for N examples.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import shutil
import signal
import tempfile
from pathlib import Path
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldops import cli
from tests.samples import SERVER_TYPE, SWITCH_TYPE, tiny_cables, tiny_devices, tiny_floorplan

# per example, validate and plan together, in CPU seconds: a loop or a walk of the disk trips it
# whatever else the machine is doing. A read that blocks (a FIFO) uses no CPU: pytest-timeout's
# SIGALRM (left alone here) ends the test then.
DEADLINE_CPU_S = 20
FILES = ("floorplan.yaml", "elevations.yaml", "connections.yaml", "types/test-server-1u.yaml")
TARGETS = (*FILES, "types", "media.yaml", "design.yaml")
REF_KEYS = ("floorplan", "elevations", "connections", "device_types", "media")
OUTSIDE = ("/", "/proc", "/proc/self/environ", "/dev/zero", "/dev/null", "/etc/hostname")
SETTINGS = dict(
    report_multiple_bugs=False,
    deadline=None,  # the watchdog below bounds each example instead (hypothesis' is flaky)
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_PARSER = cli.build_parser()  # built once: building it reads the label stocks (~0.1 s)


class Hang(BaseException):
    """Raised by the watchdog; a BaseException so no ``except Exception`` swallows it."""


def _base() -> dict:
    return {
        "design.yaml": {
            "name": "tiny",
            "floorplan": "floorplan.yaml",
            "device_types": ["types"],
            "elevations": "elevations.yaml",
            "connections": "connections.yaml",
        },
        "floorplan.yaml": tiny_floorplan(),
        "elevations.yaml": {"devices": tiny_devices()},
        "connections.yaml": {"cables": tiny_cables()},
        # deep copies: attacks change nested values in place, and other tests share these
        "types/test-server-1u.yaml": copy.deepcopy(SERVER_TYPE),
        "types/test-switch-1u.yaml": copy.deepcopy(SWITCH_TYPE),
    }


# ---------------------------------------------------------------- attacks (plain tuples, so
# a failing example prints what it did)

long_names = st.integers(min_value=250, max_value=5000).map(lambda n: "x" * n)
odd_refs = st.one_of(
    st.sampled_from(
        [
            *OUTSIDE,
            "../outside.yaml",
            "../outside",
            "types/../../outside.yaml",
            ".",
            "..",
            "design.yaml",
            "a\x00b.yaml",
            "nope.yaml",
            "",
            "@builtin",
            "types/",
            "fifo",
        ]
    ),
    long_names,
    st.integers(min_value=1, max_value=300).map(lambda n: "d/" * n + "f.yaml"),
    st.integers(min_value=1, max_value=40).map(lambda n: "../" * n + "etc/hostname"),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([2**31, 2**63, 2**64, -(2**63), 10**19, 10**308]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
values = st.recursive(
    scalars,
    lambda c: st.one_of(
        st.lists(c, max_size=3), st.dictionaries(st.text(max_size=8), c, max_size=3)
    ),
    max_leaves=6,
)
# (file, path) of fields worth breaking
FIELDS = (
    ("floorplan.yaml", ("racks", 0, "position", 0)),
    ("floorplan.yaml", ("racks", 0, "rotation_deg")),
    ("floorplan.yaml", ("racks", 0, "name")),
    ("floorplan.yaml", ("racks", 0)),
    ("floorplan.yaml", ("racks",)),
    ("floorplan.yaml", ("rack_types", 0, "width_mm")),
    ("floorplan.yaml", ("rack_types", 0, "depth_mm")),
    ("floorplan.yaml", ("grid", "pitch_mm")),
    ("floorplan.yaml", ("outline", 1, 0)),
    ("floorplan.yaml", ("outline",)),
    ("floorplan.yaml", ("trays", 0, "points", 1)),
    ("floorplan.yaml", ("trays", 0, "elevation_mm")),
    ("floorplan.yaml", ("waypoints", 0, "position")),
    ("elevations.yaml", ("devices", 0, "position")),
    ("elevations.yaml", ("devices", 0, "rack")),
    ("elevations.yaml", ("devices",)),
    ("connections.yaml", ("cables", 0, "a")),
    ("connections.yaml", ("cables", 0, "media")),
    ("types/test-server-1u.yaml", ("u_height",)),
    ("types/test-server-1u.yaml", ("weight",)),
    ("types/test-server-1u.yaml", ("interfaces",)),
    ("types/test-server-1u.yaml", ("power-ports", 0, "maximum_draw")),
    ("design.yaml", ("allow_outside",)),
    ("design.yaml", ("name",)),
)

attack = st.one_of(
    st.tuples(st.just("loop"), st.sampled_from(TARGETS), st.booleans()),
    st.tuples(st.just("link"), st.sampled_from(TARGETS), odd_refs),
    st.tuples(st.just("ref"), st.sampled_from(REF_KEYS), st.one_of(odd_refs, values)),
    st.tuples(st.just("include"), st.sampled_from(FILES[1:3]), odd_refs),
    st.tuples(st.just("allow_outside"), st.booleans()),
    st.tuples(st.just("fifo"), st.sampled_from(TARGETS)),
    st.tuples(st.just("folder"), st.sampled_from(FILES)),
    st.tuples(st.just("junk"), st.sampled_from(TARGETS), st.binary(max_size=200)),
    st.tuples(
        st.just("deep"),
        st.sampled_from(FILES),
        st.sampled_from(["[", "{a: ", "- ", "a:\n "]),
        st.integers(min_value=10, max_value=100_000),
    ),
    st.tuples(st.just("deepdir"), st.integers(min_value=1, max_value=80)),
    st.tuples(st.just("set"), st.sampled_from(FIELDS), values),
    st.tuples(st.just("dupkey"), st.sampled_from(FILES)),
    st.tuples(
        st.just("pile"),
        st.integers(min_value=2, max_value=80),
        st.sampled_from([0, 0, 90, 45, 13.5]),
        st.integers(min_value=0, max_value=700),
    ),
    st.tuples(st.just("rows"), st.integers(min_value=1, max_value=1_000), st.integers(0, 600)),
)


# ---------------------------------------------------------------- applying them safely


def _inside(path: Path, top: Path) -> bool:
    """Whether writing ``path`` stays in the example's folder (never through a planted link)."""
    try:
        return Path(os.path.realpath(path.parent)).is_relative_to(top)
    except (OSError, ValueError):
        return False


def _clear(path: Path) -> None:
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _put(path: Path, top: Path, data: bytes | None = None) -> None:
    """Write ``data`` at ``path`` (None: an empty folder), replacing whatever is there."""
    if not _inside(path, top):
        return
    _clear(path)
    if data is None:
        path.mkdir()
    else:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)


def _link(path: Path, top: Path, dest: str) -> None:
    if _inside(path, top) and "\x00" not in dest:
        _clear(path)
        with contextlib.suppress(OSError):
            path.symlink_to(dest)


def _set(doc, keys, value):
    """Set ``doc[keys[0]][keys[1]]...`` when that path still exists (earlier attacks may have
    replaced part of it)."""

    def has(d, k) -> bool:
        if isinstance(d, dict):
            return k in d
        return isinstance(d, list) and isinstance(k, int) and 0 <= k < len(d)

    for k in keys[:-1]:
        if not has(doc, k):
            return
        doc = doc[k]
    if isinstance(doc, dict) or has(doc, keys[-1]):
        doc[keys[-1]] = value


def _dump(doc) -> bytes:
    return yaml.dump(doc, Dumper=_DUMPER, allow_unicode=True, sort_keys=False).encode()


def build(top: Path, attacks: list) -> Path:
    """The tiny design under ``top/d`` with ``attacks`` applied; returns the design folder."""
    root = top / "d"
    (root / "types").mkdir(parents=True)
    docs = _base()
    for a in attacks:  # document edits first, file-system tricks after
        kind = a[0]
        if kind == "ref":
            docs["design.yaml"][a[1]] = a[2]
        elif kind == "allow_outside":
            docs["design.yaml"]["allow_outside"] = a[1]
        elif kind == "include":
            docs[a[1]]["include"] = a[2]
        elif kind == "set":
            _set(docs[a[1][0]], a[1][1], a[2])
        elif kind == "pile":
            _, n, rot, spread = a
            if not isinstance(docs["floorplan.yaml"].get("racks"), list):
                docs["floorplan.yaml"]["racks"] = []  # an earlier attack broke the list
            docs["floorplan.yaml"]["racks"] += [
                {"name": f"P{i}", "rack_type": "r42", "position": [3000 + i * spread % 900, 4500]}
                | ({"rotation_deg": rot} if rot else {})
                for i in range(n)
            ]
        elif kind == "rows":
            docs["floorplan.yaml"]["rows"] = [
                {"name": "Q", "rack_type": "r42", "count": a[1], "first": [600, 600]}
                | ({"pitch_mm": a[2]} if a[2] >= 100 else {})
            ]
    for name, doc in docs.items():
        _put(root / name, top, _dump(doc))
    (top / "outside").mkdir()
    _put(top / "outside.yaml", top, _dump(_base()["floorplan.yaml"]))
    _put(top / "outside" / "x.yaml", top, _dump(dict(SERVER_TYPE)))
    for a in attacks:
        with contextlib.suppress(OSError):  # an attack that cannot be set up here is skipped
            _plant(root, top, a)
    return root


def _plant(root: Path, top: Path, a: tuple) -> None:
    """One file-system attack."""
    kind = a[0]
    if kind == "loop":
        if a[2]:
            _link(root / a[1], top, a[1].rsplit("/", 1)[-1])
        else:
            _link(root / "loop-b", top, str(root / a[1]))
            _link(root / a[1], top, str(root / "loop-b"))
    elif kind == "link":
        _link(root / a[1], top, a[2])
    elif kind == "fifo":
        if _inside(root / a[1], top):
            _clear(root / a[1])
            os.mkfifo(root / a[1])
    elif kind == "folder":
        _put(root / a[1], top)
    elif kind == "junk":
        _put(root / a[1], top, a[2])
    elif kind == "deep":
        _, name, opener, depth = a
        _put(root / name, top, (opener * depth).encode())
    elif kind == "deepdir":
        here = root / "types"
        for i in range(a[1]):
            here = here / f"d{i}"
            if not _inside(here / "x", top):
                break
            with contextlib.suppress(OSError):
                here.mkdir(exist_ok=True)
        with contextlib.suppress(OSError):
            _put(here / "deep.yaml", top, _dump(dict(SWITCH_TYPE, slug="deep")))
    elif kind == "dupkey":
        path = root / a[1]
        if _inside(path, top) and path.is_file() and not path.is_symlink():
            _put(path, top, path.read_bytes() + b"\nmanufacturer: again\nmanufacturer: twice\n")


# ---------------------------------------------------------------- running the CLI in-process


def _alarm(signum, frame):
    raise Hang(f"over {DEADLINE_CPU_S} s of CPU")


def run_cli(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.object(cli, "build_parser", lambda: _PARSER),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = cli.main(argv)
    return code, out.getvalue() + err.getvalue()


def check(attacks: list, *, rules_only: bool = True) -> None:
    """Validate then plan the attacked design; ``rules_only`` leaves the plan's own checks to
    plan (validate would compute them too: twice the work for the same code)."""
    top = Path(tempfile.mkdtemp(prefix="fieldops-hostile-")).resolve()
    old = signal.signal(signal.SIGPROF, _alarm)
    signal.setitimer(signal.ITIMER_PROF, DEADLINE_CPU_S)
    try:
        root = build(top, attacks)
        code, text = run_cli(["validate", *(["--rules-only"] if rules_only else []), str(root)])
        assert code in (0, 2), text[-2000:]
        assert "Traceback" not in text and "fieldops: error" not in text, text[-2000:]
        out = top / "out"
        code, text = run_cli(["plan", str(root), "-o", str(out), "-q"])
        assert code in (0, 2), text[-2000:]
        assert "Traceback" not in text and "fieldops: error" not in text, text[-2000:]
        if code == 2:
            left = [p for p in out.rglob("*") if not p.is_dir()] if out.is_dir() else []
            assert not left, f"partial output after exit 2: {left}"
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)
        shutil.rmtree(top, ignore_errors=True)


@pytest.mark.timeout(900)  # ~1.5 min on a quiet machine; 2,000 examples on a busy one take longer
@settings(max_examples=2_000, **SETTINGS)
@given(st.lists(attack, min_size=1, max_size=3))
def test_hostile_designs_end_in_exit_0_or_2_without_traceback_hang_or_partial_output(attacks):
    check(attacks)


SLOW_EXAMPLES = int(os.environ.get("FIELDOPS_HOSTILE_EXAMPLES") or "3000")
big = st.one_of(
    st.tuples(st.just("rows"), st.integers(min_value=1, max_value=30_000), st.integers(0, 600)),
    st.tuples(
        st.just("pile"),
        st.integers(min_value=300, max_value=6_000),
        st.sampled_from([0, 90, 45]),
        st.integers(min_value=0, max_value=50),
    ),
)
# one_of picks its branches about evenly: ~1 attack in 100 is a big one (seconds each)
big_attack = st.one_of(*[attack] * 99, big)


@pytest.mark.slow
@pytest.mark.timeout(0)
@pytest.mark.skipif(
    not os.environ.get("FIELDOPS_HOSTILE_EXAMPLES"),
    reason="the long hostile run (minutes): set FIELDOPS_HOSTILE_EXAMPLES=N to run N examples",
)
@settings(max_examples=SLOW_EXAMPLES, **SETTINGS)
@given(st.lists(big_attack, min_size=1, max_size=4))
def test_many_more_hostile_designs(attacks):
    check(attacks)
