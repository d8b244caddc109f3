"""`fieldops plan` on a hall whose short tray is full: trays.csv, the cut sheet and the summary
say where the cables went and how much longer they are (tests/samples_trays.py, DETOUR hall)."""

from __future__ import annotations

import csv

from fieldops.cli import main
from tests.samples_trays import LOOP, t1, tray_design


def read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_plan_writes_trays_csv_and_says_what_was_diverted(tmp_path, capsys):
    design = tray_design(tmp_path / "case", [t1(), *LOOP])
    out = tmp_path / "out"
    assert main(["plan", str(design), "-o", str(out), "-q", "--cables-only"]) == 0
    summary = capsys.readouterr().out.splitlines()
    # 13155.5 - 6355.5 mm (tests/unit/test_trays.py computes both routes by hand)
    assert summary[1:3] == [
        "trays: 4 segments, fullest T1/1 at 47.1% (limit 50%); 0 over the limit (trays.csv)",
        "trays: 1 cable diverted off full segments, +6.8 m of route in all (longest detour "
        "+6.80 m, C-SDM8VH3DFH)",
    ]
    rows = read(out / "trays.csv")
    assert [(r["tray"], r["segment"], r["cables"], r["fill_ratio"], r["over"]) for r in rows] == [
        ("T1", "1", "1", "0.4712", ""),
        ("T-N1", "1", "1", "0.0009", ""),
        ("T-N2", "1", "1", "0.0009", ""),
        ("T-N3", "1", "1", "0.0009", ""),
    ]
    assert {k: rows[0][k] for k in ("x0_mm", "y0_mm", "x1_mm", "y1_mm", "length_mm")} == {
        "x0_mm": "800",
        "y0_mm": "3000",
        "x1_mm": "4000",
        "y1_mm": "3000",
        "length_mm": "3200",
    }
    assert (rows[0]["usable_area_mm2"], rows[0]["media_classes"], rows[0]["biggest"]) == (
        "60",
        "copper",
        "cat6ax1",
    )
    cut = {r["cable_id"]: r for r in read(out / "cutsheet.csv")}
    moved = cut["C-SDM8VH3DFH"]
    assert (moved["tray_path"], moved["length_mm"], moved["ordered_mm"]) == (
        "T1 > T-N1 > T-N2 > T-N3 > T1",
        "14227",
        "15000",
    )
