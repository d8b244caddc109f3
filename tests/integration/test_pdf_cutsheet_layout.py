"""A cut sheet a technician works from (issue 16, item 9): the step table, the floor map.

Both sample halls are planned for real and printed; every page of the first work orders is
rendered to PNG with pypdfium2 (kept in ``$FIELDOPS_PNG_DIR`` when set, to look at them), and
the layout is asserted from the text and drawing objects pdfium reads back, so the table
cannot silently regress:

* the table header reads ``# Stop Step Label Location Device:port Length SKU`` left to right;
* every step of the work order has its row(s) in walking order, a cable one row per end, each
  with its own check box, the end's label ``C-XXXXXXXXXX/A`` and its ``DEVICE:PORT`` on the
  same line, at >= 8 pt;
* the map numbers every stop once, in bold 8 pt, names the racks, trays, doors and staging,
  and draws the walking path it was given (it computes none).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest

from fieldops import services
from fieldops.adapters.pdf import write_cutsheets
from fieldops.adapters.pdf.floormap import FloorMap, fill_colour
from fieldops.adapters.pdf.sheetlayout import build_stops, build_table
from fieldops.core.steppaths import carried_paths
from tests.integration.test_pdf_support import words
from tests.samples import GPU_HALL, LAB_HALL

pytestmark = pytest.mark.slow  # plans real halls: tens of seconds

HEADER = ["#", "Stop", "Step", "Label", "Location", "Device:port", "Length", "SKU"]
CHECK_PT = 4.5 * 72 / 25.4


def planned(hall):
    loaded = services.load_valid_design(hall)
    plan = services.build_plan(loaded)
    return loaded.design, plan


@pytest.fixture(scope="module", params=[LAB_HALL, GPU_HALL], ids=["lab-hall", "gpu-hall"])
def printed(request, tmp_path_factory):
    """The hall's cut sheets for its first two work orders with cables, and their PNGs."""
    design, plan = planned(request.param)
    work = plan.work
    index = work.step_index()
    cabled = [wo for wo in work.workorders if any(index[s].kind == "run_cable" for s in wo.steps)][
        :2
    ]
    assert cabled
    some = type(work)(work.steps, tuple(cabled), work.team, work.stats)
    paths = carried_paths(work)
    out = Path(os.environ.get("FIELDOPS_PNG_DIR") or tmp_path_factory.mktemp("png"))
    out.mkdir(parents=True, exist_ok=True)
    path = write_cutsheets(
        out / f"{request.param.name}-cutsheets.pdf", design, plan.cable_plan, some, paths=paths
    )
    pdf = pdfium.PdfDocument(str(path))
    try:
        for i in range(min(len(pdf), 12)):
            image = pdf[i].render(scale=150 / 72).to_pil()
            image.save(out / f"{request.param.name}-page{i + 1:02d}.png")
            assert image.getbbox() is not None  # something was drawn
    finally:
        pdf.close()
    return design, plan, some, path, paths


def same_line(a, b, tol: float = 3.0) -> bool:
    """On one text line: the same page, vertical centres within ``tol`` points (descenders
    move a word's bottom, capitals its top)."""
    return a.page == b.page and abs(a.y - b.y) <= tol


def test_the_table_header_reads_left_to_right(printed):
    _, _, _, path, _ = printed
    ws = words(path)
    heads = [w for w in ws if w.text == "Device:port"]
    assert heads, "no step table"
    for head in heads:
        line = sorted((w for w in ws if same_line(w, head)), key=lambda w: w.left)
        assert [w.text for w in line] == HEADER


def test_every_step_has_its_rows_in_walking_order_one_per_cable_end(printed):
    design, plan, work, path, _ = printed
    ws = words(path)
    index = work.step_index()
    wo = work.workorders[0]
    steps = [index[s] for s in wo.steps]
    rows, _ = build_table(steps, plan.cable_plan.by_id())
    assert len(rows) == sum(2 if s.kind in ("run_cable", "connect_power") else 1 for s in steps)
    table_pages = {w.page for w in ws if w.text == "Device:port"}
    labels = {w.text: w for w in ws if w.page in table_pages and w.text.startswith("C-")}
    port_col = {  # the Device:port column: from its header to the Length header
        w.page: (w.left, next(h.left for h in ws if h.page == w.page and h.text == "Length"))
        for w in ws
        if w.text == "Device:port"
    }
    last = None
    for row in rows:
        if not row.label.startswith("C-"):
            continue
        label = labels[row.label]  # both ends of every cable, each on its own row
        col = port_col[label.page]
        port = [w for w in ws if same_line(w, label) and col[0] - 3 < w.left < col[1]]
        assert " ".join(w.text for w in port) == row.port, row.label  # DEVICE:PORT, same line
        assert label.size >= 8 and all(w.size >= 8 for w in port)
        here = (label.page, -label.bottom)
        assert last is None or here > last, row  # walking order, top to bottom, page by page
        last = here
        boxes = check_boxes(path, label.page)
        assert any(abs(b + CHECK_PT / 2 - label.y) < 8 for b in boxes), row.label  # its box


def check_boxes(path, page_no: int) -> list[float]:
    """Bottoms of the 4.5 mm check-box squares drawn on a page (pdfium path objects)."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[page_no]
        out = []
        for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=4):
            left, bottom, right, top = obj.get_bounds()
            # pdfium's bounds include the stroke: 12.8 pt + 0.9 pt line, ~14.6 pt; the stop
            # badges (11.2 pt discs) stay out
            w, h = right - left, top - bottom
            if CHECK_PT - 0.5 < w < CHECK_PT + 2.5 and abs(w - h) < 0.2:
                out.append(bottom)
        return out
    finally:
        pdf.close()


def test_each_table_page_has_a_check_box_per_row(printed):
    _, _, _, path, _ = printed
    ws = words(path)
    for page in sorted({w.page for w in ws if w.text == "Device:port"})[:3]:
        head = next(w for w in ws if w.page == page and w.text == "Location")
        rows = [  # every row names its location: "1A-F06 A01" over "U10 rear"
            w
            for w in ws
            if w.page == page
            and abs(w.left - head.left) < 3
            and w.y < head.y - 4
            and re.match(r"^\d+[A-Z]+-[A-Z]+\d+$", w.text)
        ]
        assert rows and len(check_boxes(path, page)) == len(rows)


def test_the_map_numbers_every_stop_once_and_names_the_floor(printed):
    design, _, work, path, _ = printed
    ws = [w for w in words(path) if w.page == 0]
    index = work.step_index()
    points, _ = build_stops([index[s] for s in work.workorders[0].steps])
    assert 1 < len(points) < 100
    caption = next(w for w in ws if w.text == "Route:")  # the map: under the work order's
    walking = next(w for w in ws if w.text == "Walking")  # facts, above its caption
    ws = [w for w in ws if caption.y < w.y < walking.y]
    badges = [w for w in ws if w.size == 8 and w.text.isdigit() and int(w.text) <= len(points)]
    numbers = sorted(int(w.text) for w in badges)
    assert numbers == list(range(1, len(points) + 1))  # one badge per stop, none twice
    text = " ".join(w.text for w in words(path) if w.page == 0)
    assert "stops, numbered in the order first reached" in text
    assert "Route: the walking path from the plan." in text
    visited = {index[s].location.rack for s in work.workorders[0].steps}
    rack_names = {w.text for w in ws if w.size >= 6}
    assert visited <= rack_names  # the racks it works in are named on the map
    assert any(t.name in text for t in design.floorplan.trays)
    assert "STAGING" in text  # the start (on the map, or 'from STAGING' at its edge)


def test_the_map_draws_the_paths_it_is_given_and_computes_none(tmp_path):
    design, plan = planned(LAB_HALL)
    work = plan.work
    wo = work.workorders[0]
    some = type(work)(work.steps, (wo,), work.team, work.stats)
    texts = {}
    for name, paths in (("none", None), ("plan", carried_paths(work))):
        path = write_cutsheets(tmp_path / f"{name}.pdf", design, plan.cable_plan, some, paths=paths)
        texts[name] = " ".join(w.text for w in words(path) if w.page == 0)
    assert "straight legs between stops (no walking paths given)" in texts["none"]
    assert "the walking path from the plan." in texts["plan"]
    index = work.step_index()
    steps = [index[s] for s in wo.steps]
    fm = FloorMap(design, steps, paths={steps[0].id: ((0.0, 0.0), (1.0, 1.0))})
    assert fm.legs == [[(0.0, 0.0), (1.0, 1.0)]]  # drawn as given, whatever it is


def test_step_paths_chain_from_the_start_through_every_stop():
    """The cut sheets draw the plan's walks: a member's first walk starts at the staging area,
    every walk starts where the member stood (their booklet in order, with the checks of
    robots' steps the plan put in between)."""
    design, plan = planned(LAB_HALL)
    work = plan.work
    paths = carried_paths(work)
    index = work.step_index()
    start = plan.walk.waypoint(
        next(w for w in design.floorplan.waypoints if w.kind == "staging").name
    )
    visits: dict[str, list] = {}
    for s in work.steps:
        if s.order >= 0:
            visits.setdefault(s.assignee, []).append((s.order, s.id, paths.get(s.id)))
    for c in work.stats.get("confirmations", []):
        walk = [p for w in (c["walk"], c["walk_on"]) if w for p in w["path_mm"]] or None
        visits.setdefault(c["technician"], []).append((c["order"], c["step"], walk))
    for who, seq in visits.items():
        here = None
        for _, sid, line in sorted(seq, key=lambda v: v[0]):
            step = index[sid]
            xy = (float(step.location.x_mm), float(step.location.y_mm))
            if line is None:  # standing still: the step is where the last one ended
                assert here == xy, (who, sid)
                continue
            line = [tuple(map(float, p)) for p in line]
            assert line[0] == pytest.approx(start if here is None else here, abs=1), (who, sid)
            assert xy in line
            here = line[-1]


def test_trays_are_shaded_by_fill_when_given(tmp_path):
    design, plan = planned(LAB_HALL)
    work = plan.work
    some = type(work)(work.steps, (work.workorders[0],), work.team, work.stats)
    fill = {("TRAY-X", 0): 1.0}
    path = write_cutsheets(
        tmp_path / "fill.pdf", design, plan.cable_plan, some, tray_fill=fill, paths={}
    )
    text = " ".join(w.text for w in words(path) if w.page == 0)
    assert "tray fill, of its limit:" in text and ">100%" in text
    pdf = pdfium.PdfDocument(str(path))
    try:
        image = pdf[0].render(scale=2).to_pil().convert("RGB")
    finally:
        pdf.close()
    full = fill_colour(1.0)
    want = tuple(round(v * 255) for v in (full.red, full.green, full.blue))
    hits = sum(
        1
        for px in image.get_flattened_data()
        if all(abs(a - b) <= 12 for a, b in zip(px, want, strict=True))
    )
    assert hits > 200  # the full tray segment is drawn in the 100 % shade


def test_the_plan_pdfs_shade_trays_by_the_fill_routing_computed(tmp_path):
    """fieldops plan --pdf hands the routed fill to the map: each segment as a share of its
    limit, keyed by (tray, segment from 0) as the map draws them."""
    from fieldops.core.steppaths import tray_fill_of

    design, plan = planned(LAB_HALL)
    fill = tray_fill_of(plan.cable_plan)
    segs = plan.cable_plan.tray_segments
    assert len(fill) == len(segs) > 0
    busiest = max(segs, key=lambda s: s.fill_ratio)
    assert fill[(busiest.tray, busiest.segment - 1)] == pytest.approx(
        busiest.fill_ratio / busiest.max_fill_ratio
    )
    out = services.plan_design(LAB_HALL, tmp_path / "plan", pdf=True)
    cut = next(f for f in out.files if f.name == "cutsheets.pdf")
    assert "tray fill, of its limit:" in " ".join(w.text for w in words(cut) if w.page == 0)
