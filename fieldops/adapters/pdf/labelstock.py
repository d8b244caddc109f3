"""The label stock catalogue (``fieldops/data/labelstock.yaml``): sizes, print zones, sheet grids."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from fieldops.core.problems import DesignError, Problem

CATALOGUE = Path(__file__).resolve().parent.parent.parent / "data" / "labelstock.yaml"
DEFAULT_STOCK = "wrap-25x38"
KINDS = ("sheet", "roll")


@dataclass(frozen=True, slots=True)
class LabelStock:
    """One label stock. Millimetres; a roll prints one label per page (the page is the label)."""

    name: str
    description: str
    kind: str  # sheet | roll
    label_mm: tuple[float, float]
    printable_mm: tuple[float, float]
    page_mm: tuple[float, float]
    grid: tuple[int, int]  # columns, rows
    origin_mm: tuple[float, float]  # left, top margin to the first label's top-left corner
    pitch_mm: tuple[float, float]

    @property
    def per_page(self) -> int:
        return self.grid[0] * self.grid[1]

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


def parse_label_stocks(data, file: str = "labelstock.yaml") -> dict[str, LabelStock]:
    """Check and build the catalogue; every problem is reported at once as a DesignError."""
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
        if kind == "roll":
            page, grid, origin, pitch = label, (1, 1), (0.0, 0.0), label
        else:
            page = _pair(item.get("page"), "page", where, problems, file)
            grid = _pair(item.get("grid"), "grid", where, problems, file, number=int)
            origin = _pair(item.get("origin", [0, 0]), "origin", where, problems, file)
            pitch = _pair(item.get("pitch", item.get("label")), "pitch", where, problems, file)
        if None in (label, printable, page, grid, origin, pitch):
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
            continue
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
        )
    if problems:
        raise DesignError(problems)
    return stocks


def load_label_stocks(path: str | Path | None = None) -> dict[str, LabelStock]:
    """The catalogue at ``path`` (default: the bundled one)."""
    path = Path(path) if path else CATALOGUE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DesignError(
            [Problem(str(path), 0, "", f"cannot read the label stock catalogue: {exc}")]
        ) from None
    return parse_label_stocks(data, str(path))


def get_stock(name: str, path: str | Path | None = None) -> LabelStock:
    """One stock by name; an unknown name is a DesignError listing the known ones."""
    stocks = load_label_stocks(path)
    if name not in stocks:
        known = ", ".join(sorted(stocks))
        raise DesignError(
            [Problem("--stock", 0, name, f"unknown label stock '{name}' (known: {known})")]
        )
    return stocks[name]
