"""The label stock catalogue (``fieldops/data/labelstock.yaml``): sizes, print zones, sheet grids.

A sheet stock has one layout per paper size (``A4`` and ``letter``), so the one page-size
setting of ``fieldops print`` / ``fieldops plan --pdf`` picks the label sheets too. A roll
prints one label per page whatever the paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from fieldops.core.problems import DesignError, Problem

CATALOGUE = Path(__file__).resolve().parent.parent.parent / "data" / "labelstock.yaml"
DEFAULT_STOCK = "wrap-51x38"
KINDS = ("sheet", "roll")
PAPERS = ("A4", "letter")  # every sheet stock has a layout for each
QR_MAX_MM = 16.0  # QR box (symbol + quiet zone): 11.6 mm symbols, 0.55 mm modules at version 1
QR_MAX_SHARE = 0.55  # of the print zone's width: the rest is for text


def paper_name(name: str) -> str:
    """The catalogue's spelling of a paper size (``a4`` -> ``A4``); DesignError for others."""
    for paper in PAPERS:
        if paper.lower() == str(name).lower():
            return paper
    raise DesignError(
        [Problem("--pagesize", 0, str(name), f"unknown page size '{name}' (A4 or letter)")]
    )


@dataclass(frozen=True, slots=True)
class LabelStock:
    """One label stock laid out on one paper size. Millimetres; a roll prints one label per
    page (the page is the label)."""

    name: str
    description: str
    kind: str  # sheet | roll
    label_mm: tuple[float, float]
    printable_mm: tuple[float, float]
    page_mm: tuple[float, float]
    grid: tuple[int, int]  # columns, rows
    origin_mm: tuple[float, float]  # left, top margin to the first label's top-left corner
    pitch_mm: tuple[float, float]
    paper: str = "A4"  # A4 | letter | roll

    @property
    def per_page(self) -> int:
        return self.grid[0] * self.grid[1]

    @property
    def qr_mm(self) -> float:
        """Side of the QR box (symbol and its quiet zone) at the print zone's top-left."""
        w, h = self.printable_mm
        return min(h, QR_MAX_MM, w * QR_MAX_SHARE)

    def slot_mm(self, index: int) -> tuple[float, float]:
        """Top-left corner of label ``index`` on its page, in mm from the page's top-left."""
        col, row = index % self.grid[0], index // self.grid[0]
        return (
            self.origin_mm[0] + col * self.pitch_mm[0],
            self.origin_mm[1] + row * self.pitch_mm[1],
        )


def _pair(
    raw, what: str, where: str, problems: list[Problem], file: str, *, number=float
) -> tuple | None:
    if not (
        isinstance(raw, list)
        and len(raw) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw)
    ):
        problems.append(
            Problem(file, 0, f"{where}.{what}", f"must be a pair of numbers, got {raw!r}")
        )
        return None
    low_ok = what == "origin"  # a margin may be 0; sizes and counts may not
    if any(v < 0 or (v == 0 and not low_ok) or v > 10_000 for v in raw):
        problems.append(
            Problem(
                file,
                0,
                f"{where}.{what}",
                f"must be {'0' if low_ok else 'more than 0'}..10000, got {raw!r}",
            )
        )
        return None
    if number is int and not all(float(v).is_integer() for v in raw):
        problems.append(Problem(file, 0, f"{where}.{what}", f"must be whole numbers, got {raw!r}"))
        return None
    return (number(raw[0]), number(raw[1]))


def _sheet_layout(raw, label, where: str, problems: list[Problem], file: str) -> tuple | None:
    """(page, grid, origin, pitch) of one paper's layout, checked against the label size."""
    if not isinstance(raw, dict):
        problems.append(Problem(file, 0, where, "must be a mapping with page, grid, origin, pitch"))
        return None
    page = _pair(raw.get("page"), "page", where, problems, file)
    grid = _pair(raw.get("grid"), "grid", where, problems, file, number=int)
    origin = _pair(raw.get("origin", [0, 0]), "origin", where, problems, file)
    pitch = _pair(raw.get("pitch", list(label)), "pitch", where, problems, file)
    if None in (page, grid, origin, pitch):
        return None
    right = origin[0] + (grid[0] - 1) * pitch[0] + label[0]
    bottom = origin[1] + (grid[1] - 1) * pitch[1] + label[1]
    if right > page[0] + 0.01 or bottom > page[1] + 0.01:
        problems.append(
            Problem(
                file,
                0,
                f"{where}.grid",
                f"labels reach {right:.1f} x {bottom:.1f} mm, past the {page[0]} x {page[1]} mm page",
            )
        )
        return None
    return page, grid, origin, pitch


def parse_label_stocks(
    data, file: str = "labelstock.yaml", pagesize: str = "A4"
) -> dict[str, LabelStock]:
    """Check and build the catalogue, each sheet stock laid out on ``pagesize``; every problem
    is reported at once as a DesignError."""
    paper = paper_name(pagesize)
    problems: list[Problem] = []
    items = data.get("stocks") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise DesignError([Problem(file, 0, "stocks", "must be a non-empty list of label stocks")])
    stocks: dict[str, LabelStock] = {}
    for i, item in enumerate(items):
        where = f"stocks[{i}]"
        if not isinstance(item, dict):
            problems.append(Problem(file, 0, where, "must be a mapping"))
            continue
        name = item.get("name")
        if not isinstance(name, str) or not name or len(name) > 64:
            problems.append(Problem(file, 0, f"{where}.name", "must be a name of 1..64 characters"))
            continue
        if name in stocks:
            problems.append(Problem(file, 0, f"{where}.name", f"duplicate stock '{name}'"))
            continue
        kind = item.get("kind", "sheet")
        if kind not in KINDS:
            problems.append(
                Problem(
                    file, 0, f"{where}.kind", f"must be one of {', '.join(KINDS)}, got {kind!r}"
                )
            )
            continue
        label = _pair(item.get("label"), "label", where, problems, file)
        printable = _pair(
            item.get("printable", item.get("label")), "printable", where, problems, file
        )
        if None in (label, printable):
            continue
        if printable[0] > label[0] or printable[1] > label[1]:
            problems.append(Problem(file, 0, f"{where}.printable", "is larger than the label"))
            continue
        if min(printable) < 8:
            problems.append(
                Problem(
                    file, 0, f"{where}.printable", "is smaller than 8 mm: a QR code would not fit"
                )
            )
            continue
        if kind == "roll":
            layout = (label, (1, 1), (0.0, 0.0), label)
            on = "roll"
        else:
            sheets = item.get("sheets")
            if not isinstance(sheets, dict) or set(sheets) != set(PAPERS):
                got = ", ".join(sorted(map(str, sheets))) if isinstance(sheets, dict) else "none"
                problems.append(
                    Problem(
                        file,
                        0,
                        f"{where}.sheets",
                        f"must give a layout for each of {', '.join(PAPERS)} (got {got})",
                    )
                )
                continue
            layouts = {
                p: _sheet_layout(sheets[p], label, f"{where}.sheets.{p}", problems, file)
                for p in PAPERS
            }
            if None in layouts.values():
                continue
            layout, on = layouts[paper], paper
        page, grid, origin, pitch = layout
        stocks[name] = LabelStock(
            name,
            str(item.get("description", "")),
            kind,
            label,
            printable,
            page,
            grid,
            origin,
            pitch,
            on,
        )
    if problems:
        raise DesignError(problems)
    return stocks


def load_label_stocks(
    path: str | Path | None = None, pagesize: str = "A4"
) -> dict[str, LabelStock]:
    """The catalogue at ``path`` (default: the bundled one), sheets laid out on ``pagesize``."""
    path = Path(path) if path else CATALOGUE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DesignError(
            [Problem(str(path), 0, "", f"cannot read the label stock catalogue: {exc}")]
        ) from None
    return parse_label_stocks(data, str(path), pagesize)


def get_stock(name: str, path: str | Path | None = None, pagesize: str = "A4") -> LabelStock:
    """One stock by name, laid out on ``pagesize``; an unknown name is a DesignError listing
    the known ones."""
    stocks = load_label_stocks(path, pagesize)
    if name not in stocks:
        known = ", ".join(sorted(stocks))
        raise DesignError(
            [Problem("--stock", 0, name, f"unknown label stock '{name}' (known: {known})")]
        )
    return stocks[name]
