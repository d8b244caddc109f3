"""A newcomer's first mistakes, through the real command: one clear line, a non-zero exit,
nothing half-written, no traceback."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from fieldops.bootstrap import sample_design

REPO = Path(__file__).resolve().parents[2]
LAB_HALL = sample_design("lab-hall")


def fieldops(*args: str, cwd: Path | None = None, pre: str = "", timeout: float = 180):
    """Run ``fieldops ARGS`` in a fresh interpreter (``pre``: Python run first, e.g. to make
    a module unimportable as on a machine without it)."""
    code = f"{pre}\nimport sys\nfrom fieldops.cli import main\nsys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=timeout,
    )


def one_clear_line(result, exit_code: int = 2) -> str:
    assert result.returncode == exit_code, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.stderr.strip().splitlines()[0]


# ---------------------------------------------------------------- databases


@pytest.mark.parametrize("command", [["serve"], ["load", str(LAB_HALL)], ["users", "list"]])
def test_an_unsupported_database_names_the_supported_ones(tmp_path, command):
    r = fieldops(*command, "--db", "mysql://root@127.0.0.1/test", cwd=tmp_path)
    assert one_clear_line(r) == (
        "--db: 'mysql' databases are not supported (supported: sqlite, postgresql)"
    )


def test_postgresql_without_its_driver_says_which_extra_to_install(tmp_path):
    r = fieldops(
        "serve", "--db", "postgresql://127.0.0.1/test", "--port", "0",
        pre="import sys; sys.modules['psycopg'] = None  # as after a plain bootstrap",
        cwd=tmp_path,
    )  # fmt: skip
    assert one_clear_line(r) == (
        "--db: PostgreSQL support is not installed: run scripts/bootstrap --postgres "
        "(or pip install 'fieldops[postgres]')"
    )


def test_a_sqlite_folder_that_does_not_exist_is_named_with_the_slash_rule(tmp_path):
    r = fieldops("users", "list", "--db", "sqlite:///no/such/dir/x.db", cwd=tmp_path)
    assert one_clear_line(r) == (
        f"--db: the folder for the SQLite database does not exist: {tmp_path}/no/such/dir "
        f"(sqlite:///no/such/dir/x.db is relative to {tmp_path}; an absolute path takes four "
        "slashes: sqlite:////no/such/dir/x.db)"
    )
    assert list(tmp_path.iterdir()) == []  # no -writelock, no secret, nothing
    r = fieldops("users", "list", "--db", f"sqlite:///{tmp_path}/gone/x.db")
    assert one_clear_line(r) == (
        f"--db: the folder for the SQLite database does not exist: {tmp_path}/gone"
    )


# ---------------------------------------------------------------- output folders


def _taken_folder(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("my notes\n")
    return out


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", str(LAB_HALL)],
        ["print", str(LAB_HALL)],
        ["diff", str(LAB_HALL), str(LAB_HALL)],
        ["netbox", "export", str(LAB_HALL)],
        ["reconcile", str(LAB_HALL), "--observed", "lldp.json"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_a_folder_holding_other_files_is_refused_before_any_work(tmp_path, argv):
    out = _taken_folder(tmp_path)
    r = fieldops(*argv, "-o", str(out), cwd=tmp_path)
    line = one_clear_line(r)
    assert line == (
        f"fieldops {' '.join(a for a in argv[:2] if not a.startswith('/'))}: {out} holds 1 "
        "file(s) fieldops did not write (notes.txt); choose an empty or new folder, or pass "
        "--force to write into it anyway"
    )
    assert "routing" not in r.stderr  # refused before any work
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_plan_writes_again_into_its_own_folder_and_with_force_beside_other_files(tmp_path):
    out = tmp_path / "out"
    assert fieldops("plan", str(LAB_HALL), "-o", str(out), "-q").returncode == 0
    first = (out / "workorders.json").read_bytes()
    again = fieldops("plan", str(LAB_HALL), "-o", str(out), "-q", "--pdf")
    assert again.returncode == 0, again.stderr  # its own files: re-planning is fine
    assert (out / "workorders.json").read_bytes() == first
    (out / "notes.txt").write_text("my notes\n")
    assert fieldops("plan", str(LAB_HALL), "-o", str(out), "-q").returncode == 2
    forced = fieldops("plan", str(LAB_HALL), "-o", str(out), "-q", "--force")
    assert forced.returncode == 0, forced.stderr
    assert (out / "notes.txt").read_text() == "my notes\n"  # left alone
    # the PDFs of the --pdf run are gone: the folder never mixes two plans
    assert not (out / "cutsheets.pdf").exists()
    assert (out / "workorders.json").read_bytes() == first


def test_an_output_path_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "out"
    target.write_text("x")
    r = fieldops("plan", str(LAB_HALL), "-o", str(target))
    assert one_clear_line(r) == f"fieldops plan: {target} exists and is not a folder"
    assert target.read_text() == "x"


# ---------------------------------------------------------------- ports


@pytest.fixture
def taken_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["serve", "--db", "sqlite:///x.db", "--port", "{port}"], "--port"),
        (["demo", "-o", "d", "--port", "{port}"], "--port"),
        (["demo", "-o", "d", "--port", "0", "--mqtt-port", "{port}"], "--mqtt-port"),
        (["broker", "--port", "{port}"], "--port"),
    ],
    ids=["serve", "demo", "demo-mqtt", "broker"],
)
def test_a_taken_port_is_named_with_its_option_before_any_work(tmp_path, taken_port, argv, option):
    r = fieldops(*[a.format(port=taken_port) for a in argv], cwd=tmp_path)
    assert one_clear_line(r) == (
        f"{option}: 127.0.0.1:{taken_port} is taken (another program listens there); pick "
        f"another with {option} N, or {option} 0 for a free one"
    )
    assert "planning" not in r.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no database, no plan


def test_serve_on_port_0_picks_a_free_port_and_says_which(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "fieldops", "serve", "--db", f"sqlite:///{tmp_path}/f.db",
         "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        m = re.match(r"fieldops serving on (http://127\.0\.0\.1:(\d+)/)", line)
        assert m and int(m.group(2)) > 0, line
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(m.group(1) + "login", timeout=5) as resp:
                    assert resp.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
