"""Ordered cable lengths from a plan folder (what ``fieldops plan`` wrote), without routing.

``cutsheet.csv`` is read when present (``cable_id``, both ends, ``ordered_mm``); otherwise
``workorders.json``, whose cable and cord parts carry the SKU, turned back into a length
through the media catalogue (``Media.sku_for`` over the orderable lengths). The plan must be
of the same design: a cable ID whose ends differ from the design's is refused (a stale or
foreign plan), cables the plan does not hold are counted, so the caller can say so.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fieldops.adapters.yamlfile import read_text
from fieldops.core.model import Design
from fieldops.core.problems import DesignError, Problem

CUTSHEET = "cutsheet.csv"
WORKORDERS = "workorders.json"


@dataclass
class PlanLengths:
    source: Path
    ordered_mm: dict[str, int] = field(default_factory=dict)  # cable ID -> ordered length
    missing: list[str] = field(default_factory=list)  # design cable IDs the plan lacks
    design: dict = field(default_factory=dict)  # workorders.json's design block, if read


def read_plan_lengths(
    plan_dir: Path, design: Design, cable_ids: Mapping[tuple[str, str], str]
) -> PlanLengths:
    """Ordered lengths of the design's cables from ``plan_dir``; DesignError when the folder
    holds no plan, or a plan of another design."""
    plan_dir = Path(plan_dir)
    if not plan_dir.is_dir():
        raise DesignError([Problem(str(plan_dir), 0, "", "plan folder not found")])
    ends_of = {cid: key for key, cid in cable_ids.items()}
    if (plan_dir / CUTSHEET).is_file():
        out = _from_cutsheet(plan_dir / CUTSHEET, ends_of)
    elif (plan_dir / WORKORDERS).is_file():
        out = _from_workorders(plan_dir / WORKORDERS, design, cable_ids)
    else:
        raise DesignError(
            [
                Problem(
                    str(plan_dir),
                    0,
                    "",
                    f"no {CUTSHEET} or {WORKORDERS} here: give the folder 'fieldops plan' wrote",
                )
            ]
        )
    out.missing = sorted(cid for cid in ends_of if cid not in out.ordered_mm)
    return out


def _from_cutsheet(path: Path, ends_of: Mapping[str, tuple[str, str]]) -> PlanLengths:
    label = str(path)
    text = read_text(path, label)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    need = {"cable_id", "a_device", "a_port", "b_device", "b_port", "ordered_mm"}
    if not need <= set(reader.fieldnames or ()):
        missing = ", ".join(sorted(need - set(reader.fieldnames or ())))
        raise DesignError([Problem(label, 1, "", f"not a fieldops cut sheet (no {missing})")])
    out = PlanLengths(path)
    problems = []
    try:
        for row in reader:
            cid = row["cable_id"]
            line = reader.line_num
            ends = tuple(
                sorted((f"{row['a_device']}:{row['a_port']}", f"{row['b_device']}:{row['b_port']}"))
            )
            if cid not in ends_of:
                continue  # a cable the design no longer has: nothing to export
            if ends != ends_of[cid]:
                problems.append(
                    Problem(
                        label,
                        line,
                        f"cables[{cid}]",
                        f"the plan runs {cid} between {' and '.join(ends)}, the design between "
                        f"{' and '.join(ends_of[cid])}: the plan is of another design or revision "
                        "(re-run 'fieldops plan')",
                    )
                )
                continue
            try:
                mm = int(row["ordered_mm"] or 0)
            except ValueError:
                problems.append(
                    Problem(label, line, f"cables[{cid}].ordered_mm", "not a whole number of mm")
                )
                continue
            if mm > 0:
                out.ordered_mm[cid] = mm
    except csv.Error as exc:
        problems.append(Problem(label, reader.line_num, "", f"CSV error: {exc}"))
    if problems:
        raise DesignError(problems[:20])
    return out


def _from_workorders(
    path: Path, design: Design, cable_ids: Mapping[tuple[str, str], str]
) -> PlanLengths:
    label = str(path)
    try:
        doc = json.loads(read_text(path, label))
    except json.JSONDecodeError as exc:
        raise DesignError([Problem(label, exc.lineno, "", f"not JSON: {exc.msg}")]) from None
    if not isinstance(doc, dict) or not str(doc.get("schema", "")).startswith(
        "fieldops.workorders/"
    ):
        raise DesignError([Problem(label, 0, "schema", "not a fieldops workorders.json")])
    meta = doc.get("design") if isinstance(doc.get("design"), dict) else {}
    if meta.get("name") not in (None, design.name):
        raise DesignError(
            [
                Problem(
                    label,
                    0,
                    "design.name",
                    f"the plan is of design '{meta.get('name')}', not '{design.name}'",
                )
            ]
        )
    media_of = {cable_ids[c.key]: c.media for c in design.cables}
    lengths_by_sku = {
        (slug, m.sku_for(mm)): mm for slug, m in design.media.items() for mm in m.lengths_mm
    }
    out = PlanLengths(path, design=dict(meta))
    for step in doc.get("steps") or []:
        for part in (step.get("parts") or []) if isinstance(step, dict) else []:
            if not isinstance(part, dict) or part.get("kind") not in ("cable", "cord"):
                continue
            cid, sku = str(part.get("ref", "")), str(part.get("sku", ""))
            mm = lengths_by_sku.get((media_of.get(cid, ""), sku))
            if mm:
                out.ordered_mm.setdefault(cid, mm)
    return out
