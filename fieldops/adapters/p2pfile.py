"""Write the P2P cable-validation files: one xlsx workbook with a sheet per fabric (what NVIDIA's
UFM Cable Validation Tool loads), the same sheets as CSV files, and an HCA mapping per fabric.

The workbook's bytes depend only on the links: openpyxl stamps the save time into
``docProps/core.xml`` and the zip entries, so both are set to a fixed time afterwards.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

from fieldops.core.p2p import COLUMNS, HCA_FABRICS, P2PLink, hca_mapping

FIXED_TIME = "2000-01-01T00:00:00Z"
_STAMP = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def render_xlsx(sheets: dict[str, list[P2PLink]]) -> bytes:
    """The workbook: a sheet per fabric, a bold header row, frozen below it."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for fabric, links in sheets.items():
        ws = wb.create_sheet(fabric)
        ws.append(list(COLUMNS))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for link in links:
            row = link.row()
            ws.append([_cell(row[c]) for c in COLUMNS])
        ws.freeze_panes = "A2"
        for i, name in enumerate(COLUMNS, start=1):
            width = max([len(name), *(len(str(link.row()[name])) for link in links)])
            ws.column_dimensions[ws.cell(1, i).column_letter].width = min(40, width + 2)
    buf = io.BytesIO()
    wb.save(buf)
    return _fixed_times(buf.getvalue())


def _cell(value):
    """Numbers as numbers (U, whole port numbers, lengths); split ports like ``1/2`` as text."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def _fixed_times(data: bytes) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _STAMP.sub(rb"\g<1>" + FIXED_TIME.encode() + rb"\g<2>", body)
            fixed = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, body)
    return out.getvalue()


def render_csv(links: list[P2PLink]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    w.writeheader()
    w.writerows(link.row() for link in links)
    return buf.getvalue()


def write_p2p_files(folder: Path, links: list[P2PLink]) -> tuple[list[Path], list[str]]:
    """``(files written, notes)``: ``cable-validation.xlsx``, ``<fabric>.csv`` for each fabric
    with links, and ``hca-mapping-<fabric>.csv`` for the compute and storage fabrics."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sheets: dict[str, list[P2PLink]] = {}
    for link in links:
        sheets.setdefault(link.fabric, []).append(link)
    files, notes = [], []
    if not sheets:
        return files, ["no data cables for the P2P sheets"]
    (folder / "cable-validation.xlsx").write_bytes(render_xlsx(sheets))
    files.append(folder / "cable-validation.xlsx")
    for fabric, part in sheets.items():
        (folder / f"{fabric}.csv").write_text(render_csv(part), encoding="utf-8")
        files.append(folder / f"{fabric}.csv")
        if fabric not in HCA_FABRICS:
            continue
        mapping, conflicts = hca_mapping(part)
        notes += [f"{fabric}: {c}" for c in conflicts]
        if mapping:
            text = "port,hca-name\n" + "".join(f"{p},{n}\n" for p, n in mapping)
            (folder / f"hca-mapping-{fabric}.csv").write_text(text, encoding="utf-8")
            files.append(folder / f"hca-mapping-{fabric}.csv")
    return files, notes
