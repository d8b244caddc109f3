"""The attacks of issue 18 on the loaders, one by one: each ended in a traceback (exit 1), a
hang or a silently accepted file outside the design before; now a ``file:line`` problem and
exit 2 (or, for ``allow_outside: true``, the documented opt-in)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from fieldops.adapters import safefiles
from fieldops.cli import main
from tests.samples import SERVER_TYPE, tiny_floorplan, write_design


def run(capsys, *argv: str) -> tuple[int, list[str]]:
    code = main(list(argv))
    cap = capsys.readouterr()
    return code, (cap.out + cap.err).splitlines()


def design(tmp_path: Path, **extra) -> Path:
    return write_design(tmp_path / "d", design_extra=extra)


def set_ref(root: Path, **refs) -> None:
    doc = yaml.safe_load((root / "design.yaml").read_text())
    doc.update(refs)
    (root / "design.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def line_of(root: Path, key: str) -> int:
    lines = (root / "design.yaml").read_text().splitlines()
    return next(i for i, text in enumerate(lines, 1) if text.startswith(f"{key}:"))


def test_a_symlink_loop_for_the_floor_plan_is_a_problem_at_its_line(tmp_path, capsys):
    root = design(tmp_path)
    (root / "floorplan.yaml").unlink()
    (root / "floorplan.yaml").symlink_to("floorplan.yaml")
    code, out = run(capsys, "validate", str(root))
    assert code == 2
    assert out[0] == (
        f"design.yaml:{line_of(root, 'floorplan')}: floorplan: floor plan 'floorplan.yaml' "
        "symlink loop (a link that points back at itself)"
    )


def test_a_two_link_loop_in_elevations_and_in_an_include_is_a_problem(tmp_path, capsys):
    root = design(tmp_path)
    (root / "a.yaml").symlink_to("b.yaml")
    (root / "b.yaml").symlink_to("a.yaml")
    (root / "connections.yaml").write_text("include: a.yaml\ncables: []\n")
    set_ref(root, elevations="a.yaml")
    code, out = run(capsys, "validate", str(root))
    assert code == 2
    assert f"design.yaml:{line_of(root, 'elevations')}: elevations: file 'a.yaml' symlink loop" in (
        "\n".join(out)
    )
    assert "connections.yaml:1: include: file 'a.yaml' symlink loop" in "\n".join(out)


def test_device_types_at_the_file_system_root_end_at_once_with_a_problem(tmp_path, capsys):
    root = design(tmp_path)
    set_ref(root, device_types="/")
    code, out = run(capsys, "validate", str(root))
    assert code == 2
    assert out[0].startswith(
        f"design.yaml:{line_of(root, 'device_types')}: device_types: device types '/' leads "
        "outside the design folder (to /)"
    )


def test_a_devicetypes_symlink_to_the_root_is_not_walked(tmp_path, capsys):
    root = design(tmp_path)
    (root / "lib").symlink_to("/")
    set_ref(root, device_types=["lib"])
    code, out = run(capsys, "validate", str(root))
    assert code == 2
    assert "device_types[0]: device types 'lib' leads outside the design folder (to /)" in out[0]


def test_with_allow_outside_a_huge_folder_stops_at_the_entry_budget(tmp_path, capsys, monkeypatch):
    root = design(tmp_path, allow_outside=True)
    big = tmp_path / "big"
    for i in range(30):
        (big / f"d{i}").mkdir(parents=True)
        (big / f"d{i}" / "notes.txt").write_text("not yaml")
    monkeypatch.setattr(safefiles, "MAX_WALK_ENTRIES", 40)
    set_ref(root, device_types=["types", str(big)])
    code, out = run(capsys, "validate", str(root))
    assert code == 2
    assert f"device_types[1]: device types '{big}' holds over 40 entries" in "\n".join(out)


def test_a_folder_walk_counts_yaml_files_and_bytes(tmp_path, monkeypatch):
    (tmp_path / "lib").mkdir()
    for i in range(5):
        (tmp_path / "lib" / f"t{i}.yaml").write_text("slug: x\n")
    monkeypatch.setattr(safefiles, "MAX_WALK_FILES", 4)
    with pytest.raises(safefiles.Refused, match="over 4 YAML files"):
        safefiles.walk_yaml(tmp_path / "lib", tmp_path)
    monkeypatch.setattr(safefiles, "MAX_WALK_FILES", 100)
    monkeypatch.setattr(safefiles, "MAX_WALK_BYTES", 30)
    with pytest.raises(safefiles.Refused, match="of YAML files"):
        safefiles.walk_yaml(tmp_path / "lib", tmp_path)


def test_a_walk_skips_fifos_links_out_and_linked_folders_and_never_opens_other_files(tmp_path):
    lib = tmp_path / "d" / "lib"
    lib.mkdir(parents=True)
    (lib / "ok.yaml").write_text("slug: ok\n")
    os.mkfifo(lib / "pipe.yaml")
    os.mkfifo(lib / "pipe.txt")  # not YAML: never looked at
    (lib / "out.yaml").symlink_to("/etc/hostname")
    (lib / "proc").symlink_to("/proc")
    (lib / "self.yaml").symlink_to("self.yaml")
    found = safefiles.walk_yaml(lib, tmp_path / "d")
    assert found.files == [lib / "ok.yaml"]
    why = {p.name: reason for p, reason in found.skipped}
    assert why["pipe.yaml"].startswith("is not a regular file")
    assert why["out.yaml"].startswith("leads outside the design folder")
    assert why["self.yaml"].startswith("symlink loop")
    assert set(why) == {"pipe.yaml", "out.yaml", "self.yaml"}


def test_a_file_name_too_long_is_a_problem_at_its_line(tmp_path, capsys):
    root = design(tmp_path)
    set_ref(root, elevations="x" * 300)
    code, out = run(capsys, "validate", str(root))
    assert code == 2
    found = [line for line in out if "file 'xxx" in line]
    assert found[0].startswith(f"design.yaml:{line_of(root, 'elevations')}: elevations: file 'x")
    assert found[0].endswith("' file name too long")


def test_a_design_path_too_long_is_a_problem_not_a_traceback(tmp_path, capsys):
    code, out = run(capsys, "plan", str(tmp_path / ("y" * 300)), "-o", str(tmp_path / "out"))
    assert code == 2
    assert "no design here: file name too long" in "\n".join(out)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_symlink_to_a_file_outside_is_refused_unless_allow_outside(tmp_path, capsys):
    outside = tmp_path / "shared" / "types"
    outside.mkdir(parents=True)
    (outside / "srv.yaml").write_text(yaml.safe_dump(SERVER_TYPE))
    root = write_design(tmp_path / "d", device_types=[])
    (root / "types" / "srv.yaml").symlink_to(outside / "srv.yaml")
    code, out = run(capsys, "validate", "--rules-only", str(root))
    assert code == 2
    assert f"types/srv.yaml: <root>: not read: leads outside the design folder (to {outside}" in (
        "\n".join(out)
    )
    set_ref(root, allow_outside=True)
    code, out = run(capsys, "validate", "--rules-only", str(root))
    assert "leads outside" not in "\n".join(out)
    assert "test-server-1u" not in "\n".join(p for p in out if "unknown device type" in p)


def test_dot_dot_and_absolute_paths_leave_the_folder_only_with_allow_outside(tmp_path, capsys):
    (tmp_path / "elsewhere.yaml").write_text("devices: []\n")
    root = design(tmp_path)
    set_ref(root, elevations="../elsewhere.yaml", connections=str(tmp_path / "elsewhere.yaml"))
    code, out = run(capsys, "validate", "--rules-only", str(root))
    assert code == 2
    text = "\n".join(out)
    assert "elevations: file '../elsewhere.yaml' leads outside the design folder" in text
    assert "connections: file '" in text and "leads outside the design folder" in text
    set_ref(root, allow_outside=True, connections="connections.yaml")
    code, out = run(capsys, "validate", "--rules-only", str(root))
    assert "leads outside" not in "\n".join(out)


def test_kernel_file_systems_are_refused_even_with_allow_outside(tmp_path, capsys):
    root = design(tmp_path, allow_outside=True)
    set_ref(root, elevations="/proc/self/environ", device_types=["/proc"])
    code, out = run(capsys, "validate", str(root))
    assert code == 2
    text = "\n".join(out)
    assert "elevations: file '/proc/self/environ' is in /proc, a kernel file system" in text
    assert "device types '/proc' is in /proc" in text


def test_a_fifo_named_as_elevations_is_a_problem_not_a_hang(tmp_path, capsys):
    root = design(tmp_path)
    (root / "elevations.yaml").unlink()
    os.mkfifo(root / "elevations.yaml")
    code, out = run(capsys, "validate", str(root))
    assert code == 2
    assert "elevations: file 'elevations.yaml' is not a regular file (a FIFO" in "\n".join(out)


def test_piled_racks_list_100_overlaps_and_count_the_rest(tmp_path, capsys):
    fp = tiny_floorplan()
    fp["racks"] = [
        {"name": f"P{i:03d}", "rack_type": "r42", "position": [3000 + i % 20, 4500]}
        for i in range(600)
    ]
    root = write_design(tmp_path / "d", floorplan=fp, devices=[], cables=[])
    code, out = run(capsys, "validate", str(root))
    assert code == 2
    assert sum("overlaps rack" in line for line in out) == 100
    # 600 racks, each pair 0..19 mm apart: every one of the 179,700 pairs overlaps
    assert (
        "floorplan.yaml:1: racks: and 179,600 more pairs of overlapping racks (the first 100 are listed)"
        in out
    )
    assert not any("clearance" in line for line in out)


def test_rows_beyond_25000_racks_are_refused_before_they_are_built(tmp_path, capsys):
    fp = tiny_floorplan()
    fp["rows"] = [
        {"name": f"Q{i}", "rack_type": "r42", "count": 10_000, "first": [600, 600]}
        for i in range(3)
    ]
    root = write_design(tmp_path / "d", floorplan=fp)
    code, out = run(capsys, "validate", "--rules-only", str(root))
    assert code == 2
    assert any(
        "rows[2].count: 10,000 more racks make the hall over the 25,000-rack limit" in line
        for line in out
    )


def test_whatever_a_loader_still_raises_becomes_a_problem(tmp_path, capsys, monkeypatch):
    from fieldops.adapters import designfile

    def boom(*a, **k):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(designfile, "parse_floorplan", boom)
    code, out = run(capsys, "validate", str(design(tmp_path)))
    assert code == 2
    assert "cannot load this design: RecursionError: maximum recursion depth exceeded" in out[0]
