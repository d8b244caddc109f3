"""What a work order's cut sheet shows, as data: the numbered stops and the step table.

Pure (no reportlab): :mod:`.cutsheet`, :mod:`.steptable` and :mod:`.floormap` draw it. The
walking order is the work order's step order. A **stop** is a place the walker stands at (a
rack face's stand-off point): a cable step reaches the stand-off of the end it starts at,
then the other end's. Stops are numbered in the order they are first reached, so each place
on the floor map carries one number, and the step table's "Stop" column names it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fieldops.core.steppaths import step_visits as core_visits

Point = tuple[int, int]


@dataclass(frozen=True, slots=True)
class TableRow:
    """One row of the step table. A cable step has two, one per end, in the order walked."""

    number: int  # the step's number in the work order (1-based)
    step_id: str
    end: str  # "A" / "B" for a cable end, "" for a one-row step
    first: bool  # the first row of its step
    rows: int  # rows of this step: 2 for a cable, else 1
    stop: int | None  # the stop (map number) of this row's place
    what: str  # the step column (first row only is drawn)
    label: str  # the label to match: "C-XXXXXXXXXX/A", or the code to scan
    place: str  # "1A-H06 A03"
    where: str  # "U10 rear"
    port: str  # "srv-07:eno2", or the device
    length: str  # "15 m" (ordered)
    routed: str  # "11.6" (m) needed, before rounding up to an orderable length
    sku: str


def step_visits(step) -> list[Point]:
    """The floor points a walker reaches doing ``step`` (:func:`core.steppaths.step_visits`)."""
    return [(int(x), int(y)) for x, y in core_visits(step)]


def _xy(end) -> Point | None:
    if not isinstance(end, dict):
        return None
    x, y = end.get("x_mm"), end.get("y_mm")
    if isinstance(x, int | float) and isinstance(y, int | float) and (x, y) != (0, 0):
        return (int(x), int(y))
    return None


def build_stops(steps: Sequence) -> tuple[list[Point], list[list[int]]]:
    """``(stop points, stop numbers of each step's visits)``: stop ``k`` (1-based) is at
    ``points[k - 1]``, numbered in the order first reached; coming back to a place reuses
    its number."""
    number: dict[Point, int] = {}
    per_step: list[list[int]] = []
    for step in steps:
        per_step.append([number.setdefault(xy, len(number) + 1) for xy in step_visits(step)])
    return list(number), per_step


def _metres(mm) -> str:
    return f"{mm / 1000:g} m" if mm else ""


def _place(location_id, rack) -> str:
    return " ".join(str(p) for p in (location_id, rack) if p)


def _where(u, face) -> str:
    u_text = f"U{u:02d}" if isinstance(u, int) else "U--"
    return f"{u_text} {face}".strip()


def _stop_at(step, numbers: list[int], xy: Point | None) -> int | None:
    if not numbers:
        return None
    visits = step_visits(step)
    if xy is not None and xy in visits:
        return numbers[visits.index(xy)]
    return numbers[0]


def _end_rows(n: int, step, what: str, ends: list[tuple[str, dict, int | None]], run):
    """One row per cable end ``(letter, end, stop)``; the end is a step action's end dict."""
    act = step.action
    cid = act.get("cable", "")
    ordered = act.get("length_mm") or (run.ordered_mm if run else 0)
    routed = f"{run.length_mm / 1000:.1f}" if run is not None and run.length_mm else ""
    sku = act.get("sku", "") or (run.sku if run else "")
    return [
        TableRow(
            n,
            step.id,
            letter,
            k == 0,
            len(ends),
            stop,
            what,
            f"{cid}/{letter}",
            _place(end.get("location_id", ""), end.get("rack", "")),
            _where(end.get("u"), end.get("face", "")),
            f"{end.get('device', '')}:{end.get('port', '')}",
            _metres(ordered) or "NONE",
            routed,
            sku,
        )
        for k, (letter, end, stop) in enumerate(ends)
    ]


def _cable_rows(n: int, step, numbers: list[int], run, media_classes: Mapping[str, str]):
    act = step.action
    ends = [("A", act.get("a") or {}), ("B", act.get("b") or {})]
    here = (int(step.location.x_mm), int(step.location.y_mm))
    first = next((k for k, (_, e) in enumerate(ends) if _xy(e) == here), 0)
    ends = ends[first:] + ends[:first]  # the end the walker starts at comes first
    media = media_classes.get(act.get("media", ""), "")
    path = act.get("tray_path") or []
    same_rack = ends[0][1].get("rack") == ends[1][1].get("rack")
    via = (
        f"via {' > '.join(path)}"
        if path
        else ("inside the rack" if same_rack else "directly between the racks")
    )
    what = f"{media.capitalize()} cable {via}" if media else f"Cable {via}"
    rows = [(letter, end, _stop_at(step, numbers, _xy(end))) for letter, end in ends]
    return _end_rows(n, step, what, rows, run)


def _power_rows(n: int, step, numbers: list[int], run):
    act = step.action
    loc = step.location
    place = {"location_id": loc.location_id, "rack": act.get("rack", loc.rack)}
    face = act.get("face", loc.face)
    if run is not None:  # the plan's ends: the device end first, then the PDU's
        pairs = sorted((("A", run.a), ("B", run.b)), key=lambda e: e[1].device != act.get("device"))
        ends = [
            (
                letter,
                {f: getattr(e, f) for f in ("device", "port", "location_id", "rack", "u", "face")},
            )
            for letter, e in pairs
        ]
    else:
        device = {"device": act.get("device", ""), "port": act.get("port", ""), "u": act.get("u")}
        pdu = {"device": act.get("pdu", ""), "port": act.get("outlet", ""), "u": None}
        ends = [("A", {**place, **device, "face": face}), ("B", {**place, **pdu, "face": face})]
    feed = act.get("feed") or ""
    what = f"Power cord, feed {feed}" if feed else "Power cord"
    stop = numbers[0] if numbers else None
    return _end_rows(n, step, what, [(letter, end, stop) for letter, end in ends], run)


def _one_row(n: int, step, numbers: list[int]) -> TableRow:
    loc = step.location
    act = step.action if isinstance(step.action, dict) else {}
    device = act.get("device") or next((p.ref for p in step.parts if p.kind == "device"), "")
    code = step.expect_codes[0] if step.expect_codes else ""
    sku = next((p.sku for p in step.parts if p.sku), "")
    return TableRow(
        n,
        step.id,
        "",
        True,
        1,
        numbers[0] if numbers else None,
        step.title,
        code,
        _place(loc.location_id, loc.rack),
        _where(loc.u, loc.face) if loc.u is not None else loc.face,
        device,
        "",
        "",
        sku,
    )


def build_table(
    steps: Sequence, runs_by_id: Mapping, media_classes: Mapping[str, str] | None = None
) -> tuple[list[TableRow], list[Point]]:
    """The step table of a work order (steps in walking order) and its stop points.

    A cable step (``run_cable``, ``connect_power``) gives one row per end, the end walked to
    first on top; every other step one row. ``media_classes`` maps a media slug to its class
    (copper, fibre) for the step column. Lengths and SKUs come from the step's action,
    the length before rounding from the cable plan's run when it is known.
    """
    points, per_step = build_stops(steps)
    media_classes = media_classes or {}
    rows: list[TableRow] = []
    for n, (step, numbers) in enumerate(zip(steps, per_step, strict=True), start=1):
        act = step.action if isinstance(step.action, dict) else {}
        run = runs_by_id.get(act.get("cable", "")) if act.get("cable") else None
        if step.kind == "run_cable" and isinstance(act.get("a"), dict):
            rows.extend(_cable_rows(n, step, numbers, run, media_classes))
        elif step.kind == "connect_power" and act.get("cable"):
            rows.extend(_power_rows(n, step, numbers, run))
        else:
            rows.append(_one_row(n, step, numbers))
    return rows, points
