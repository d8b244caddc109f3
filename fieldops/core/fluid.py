"""The cooling loop's work: hose steps, fill and bleed, pressure test, leak check, and the
readings that pass or fail them. Pure.

Steps (phase ``cooling``, after cabling, before burn-in)::

    mount:A + mount:B ──> hose:<id>              (scan the label at both ends, like a cable)
    every hose of rack R, the CDU's cords ──> fill:R ──> pressure:R ──> leak:R
    leak:R ──> burnin:D   for every liquid-cooled device D in R (power-on waits for the loop)

A test step carries its readings in ``action["readings"]`` (name, label, unit, min, max) and
``action["limits"]`` (a difference of two readings with a maximum, e.g. the pressure drop over
the hold); :func:`judge_readings` passes or fails what a technician recorded. A failed reading
never confirms the step: the store opens a problem on it, which blocks it, so every burn-in
behind the leak test stays blocked until the lead clears the problem and the test passes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

from fieldops.core.cableplan import CableRun
from fieldops.core.model import FLUID_PORT, FRONT, Design, FluidRules, Reading
from fieldops.core.problems import ERROR, Problem
from fieldops.core.workorder import CONFIRM_MANUAL, CONFIRM_SCAN_LABEL, Part, Step

FLUID_CLASS = "fluid"
HOSE, FILL, PRESSURE, LEAK = "connect_hose", "fill_bleed", "pressure_test", "leak_check"
FLUID_KINDS = (HOSE, FILL, PRESSURE, LEAK)
POWER_ON = "burnin_check"  # a liquid-cooled device's burn-in: flow and temperatures at power-on
READING_KINDS = (PRESSURE, LEAK, POWER_ON)
MAX_READING = 1e9


def pressure_readings(rules: FluidRules) -> dict:
    """The pressure test's readings and its drop limit, from the design's rules."""
    return {
        "readings": [
            Reading(
                "start_kpa", "Pressure at the start of the hold", "kPa", rules.test_kpa
            ).to_dict(),
            Reading("end_kpa", "Pressure at the end of the hold", "kPa", 0.0).to_dict(),
            Reading("hold_min", "Minutes held", "min", rules.hold_min).to_dict(),
        ],
        "limits": [
            {
                "name": "drop_kpa",
                "label": "pressure drop over the hold",
                "unit": "kPa",
                "of": ["start_kpa", "end_kpa"],
                "max": rules.max_drop_kpa,
            }
        ],
    }


def power_on_readings(rules: FluidRules) -> dict:
    """What the CDU shows at a liquid-cooled device's first power-on: flow, supply and return
    temperatures, and the rise across the rack, each with the design's rule."""
    return {
        "readings": [
            Reading("flow_lpm", "Coolant flow at the CDU", "L/min", rules.min_flow_lpm).to_dict(),
            Reading("supply_c", "Supply temperature", "°C", None, rules.max_supply_c).to_dict(),
            Reading("return_c", "Return temperature", "°C", None, rules.max_return_c).to_dict(),
        ],
        "limits": [
            {
                "name": "rise_k",
                "label": "temperature rise (return - supply)",
                "unit": "K",
                "of": ["return_c", "supply_c"],
                "max": rules.max_rise_k,
            }
        ],
    }


def leak_readings(rules: FluidRules, joints: int) -> dict:
    """The leak check's readings: every joint looked at, wet joints within the rule."""
    return {
        "readings": [
            Reading(
                "joints_checked", "Joints checked (dry tissue at each)", "count", joints
            ).to_dict(),
            Reading("leaks_found", "Wet joints found", "count", 0, rules.max_leaks).to_dict(),
        ],
        "limits": [],
    }


def judge_readings(spec: Mapping, values: Mapping) -> tuple[list[str], list[str]]:
    """What is missing and what fails among recorded ``values`` against a step's ``spec``
    (its ``readings`` and ``limits``). ``([], [])``: passed.

    >>> spec = pressure_readings(FluidRules(test_kpa=700, hold_min=30, max_drop_kpa=10))
    >>> judge_readings(spec, {"start_kpa": 705, "end_kpa": 690, "hold_min": 30})
    ([], ['pressure drop over the hold 15 kPa is over 10 kPa'])
    """
    missing, failed = [], []
    got: dict[str, float] = {}
    for r in spec.get("readings") or ():
        name, unit = r["name"], r.get("unit", "")
        v = values.get(name) if isinstance(values, Mapping) else None
        if isinstance(v, str):
            try:
                v = float(v.strip())
            except ValueError:
                v = None
        if (
            isinstance(v, bool)
            or not isinstance(v, int | float)
            or not math.isfinite(v)
            or abs(v) > MAX_READING
        ):
            missing.append(f"{r.get('label', name)} ({unit})")
            continue
        got[name] = float(v)
        lo, hi = r.get("min"), r.get("max")
        if lo is not None and v < lo:
            failed.append(f"{r.get('label', name)} {v:g} {unit} is under {lo:g} {unit}")
        if hi is not None and v > hi:
            failed.append(f"{r.get('label', name)} {v:g} {unit} is over {hi:g} {unit}")
    for lim in spec.get("limits") or ():
        a, b = lim["of"]
        if a in got and b in got and lim.get("max") is not None:
            diff = got[a] - got[b]
            if diff > lim["max"]:
                unit = lim.get("unit", "")
                failed.append(f"{lim['label']} {diff:g} {unit} is over {lim['max']:g} {unit}")
    return missing, failed


def liquid_cooled(design: Design) -> set[str]:
    """Names of the devices whose type is cooled by the loop (cold plates)."""
    types = design.device_types
    return {
        d.name
        for d in design.devices
        if (dt := types.get(d.device_type)) is not None and dt.liquid_cooled
    }


def check_cooling(design: Design, ctx=None) -> list[Problem]:
    """A validate rule: every fluid port of a liquid-cooled device has a hose. Without one
    there is no loop to test, and nothing would hold its power-on back."""
    used = {(str(e.device), str(e.port)) for c in design.cables for e in (c.a, c.b)}
    out = []
    for dev in design.devices:
        dt = design.device_types.get(dev.device_type)
        if dt is None or not dt.liquid_cooled:
            continue
        dry = [p.name for p in dt.ports if p.kind == FLUID_PORT and (dev.name, p.name) not in used]
        if dry:
            out.append(
                Problem.at(
                    dev.source,
                    f"liquid-cooled device '{dev.name}' has no hose on {', '.join(dry)}: connect "
                    "its supply and return, or it could be powered on without cooling",
                    severity=ERROR,
                    rule="fluid",
                )
            )
    return out


def build_fluid_steps(
    design: Design,
    runs: Sequence[CableRun],
    *,
    loc: Callable,
    end_dict: Callable,
    mount_deps: Callable,
    cords_of: Mapping[str, list[str]],
    times: Mapping[str, float],
) -> tuple[list[Step], dict[str, str]]:
    """The hose, fill, pressure and leak steps of the design's hoses (``runs`` of class
    fluid), and rack -> its leak test step ID (what the rack's liquid-cooled burn-ins wait for)."""
    steps: list[Step] = []
    rules = design.fluid
    devices = design.device_index()
    types = design.device_types
    cdus = {
        d.name for d in design.devices if getattr(types.get(d.device_type), "cooling", "") == "cdu"
    }
    hoses_of: dict[str, list[str]] = defaultdict(list)
    cdus_of: dict[str, set[str]] = defaultdict(set)
    for run in runs:
        sid = f"hose:{run.id}"
        media = design.media.get(run.media)
        bore = f", {media.inner_diameter_mm:g} mm bore" if media and media.inner_diameter_mm else ""
        bend = media.bend_radius_mm if media else 0
        length = (
            f"{run.ordered_mm / 1000:g} m"
            if run.ordered_mm
            else "NO ORDERABLE LENGTH (see the cut sheet)"
        )
        a, b = run.a, run.b
        path = (
            f"along {', '.join(run.tray_path)}"
            if run.tray_path
            else f"inside rack {a.rack}"
            if a.rack == b.rack
            else "between the racks"
        )
        steps.append(
            Step(
                id=sid,
                phase="cooling",
                kind=HOSE,
                title=f"Hose {run.id}: {a.device}:{a.port} to {b.device}:{b.port}",
                instruction=(
                    f"Take hose {run.id} ({run.sku or run.media}, {length}{bore}). Check both couplings are capped and clean. "
                    f"Connect the end labelled '{a.label}' to {a.device} {a.port} (rack {a.rack}, {a.location_id}, {a.face}), "
                    f"route it {path} with no bend tighter than {bend} mm radius and no twist, and connect the end labelled "
                    f"'{b.label}' to {b.device} {b.port} (rack {b.rack}, {b.location_id}, {b.face}). Push each quick disconnect "
                    f"until it clicks and tug to check it is latched, then scan the label at each end. Do not open any valve."
                ),
                location=loc(a.rack, a.face or FRONT, a.u, sid),
                confirm=CONFIRM_SCAN_LABEL,
                expect_codes=(run.id,),
                parts=(Part("hose", run.id, run.sku, 1),),
                depends_on=tuple(sorted(set(mount_deps(a.device, b.device)))),
                duration_s=times.get(HOSE, 180.0),
                action={
                    "type": HOSE,
                    "cable": run.id,
                    "media": run.media,
                    "sku": run.sku,
                    "length_mm": int(run.ordered_mm),
                    "inner_diameter_mm": float(media.inner_diameter_mm) if media else 0.0,
                    "bend_radius_mm": int(bend),
                    "a": end_dict(a, sid),
                    "b": end_dict(b, sid),
                    "tray_path": list(run.tray_path),
                },
                required_actions=(HOSE,),
                group=f"hoses:{a.rack}",
            )
        )
        for end in (a, b):
            hoses_of[end.rack].append(sid)
            if end.device in cdus:
                for other in (a, b):
                    cdus_of[other.rack].add(end.device)
    cooled = liquid_cooled(design)
    racks_cooled = sorted({devices[n].rack for n in cooled if n in devices})
    leak_of: dict[str, str] = {}
    for rack in racks_cooled:
        hoses = sorted(set(hoses_of.get(rack, ())))
        if not hoses:
            continue  # a liquid-cooled device with no hose: validate warns; nothing to test
        cdu_cords = sorted({c for cdu in cdus_of.get(rack, ()) for c in cords_of.get(cdu, ())})
        cdu_names = ", ".join(sorted(cdus_of.get(rack, ()))) or "the CDU"
        where = loc(rack, "rear", None, f"fill:{rack}")
        joints = 2 * len(hoses)
        fill, pressure, leak = f"fill:{rack}", f"pressure:{rack}", f"leak:{rack}"
        common = {"rack": rack, "hoses": hoses, "cdu": sorted(cdus_of.get(rack, ()))}
        steps.append(
            Step(
                id=fill,
                phase="cooling",
                kind=FILL,
                title=f"Fill and bleed the loop of rack {rack}",
                instruction=(
                    f"Rack {rack} ({where.location_id}), rear: with every hose of the rack connected ({len(hoses)}), "
                    f"start {cdu_names} in fill mode and open the rack's supply and return valves slowly. Bleed air at the "
                    f"manifold's high points until coolant runs clear with no bubbles; top up the CDU reservoir to its mark. "
                    f"Keep absorbent pads under the manifold. Tick the step when no air is left."
                ),
                location=where,
                confirm=CONFIRM_MANUAL,
                depends_on=tuple(sorted(set(hoses) | set(cdu_cords))),
                duration_s=times.get(FILL, 1800.0),
                action={"type": FILL, **common},
                required_actions=(FILL,),
                group=f"loop:{rack}",
            )
        )
        spec = pressure_readings(rules)
        steps.append(
            Step(
                id=pressure,
                phase="cooling",
                kind=PRESSURE,
                title=f"Pressure test the loop of rack {rack}",
                instruction=(
                    f"Rack {rack}, rear: isolate the rack's loop and raise it to {rules.test_kpa:g} kPa (gauge). Record the "
                    f"pressure at the start, hold it {rules.hold_min:g} min, record the pressure at the end. It passes when the "
                    f"start is at least {rules.test_kpa:g} kPa and the drop is at most {rules.max_drop_kpa:g} kPa; a failed test "
                    f"blocks power-on of the rack until the loop is fixed and tested again."
                ),
                location=where,
                confirm=CONFIRM_MANUAL,
                depends_on=(fill,),
                duration_s=max(times.get(PRESSURE, 0.0), rules.hold_min * 60 + 600),
                action={"type": PRESSURE, **common, **spec},
                required_actions=(PRESSURE,),
                group=f"loop:{rack}",
            )
        )
        steps.append(
            Step(
                id=leak,
                phase="cooling",
                kind=LEAK,
                title=f"Leak check the loop of rack {rack}",
                instruction=(
                    f"Rack {rack}, front and rear, at test pressure: check every joint ({joints}: both ends of "
                    f"{len(hoses)} hoses) with a dry tissue and a torch, and look under the rack and the manifold. "
                    f"Record how many joints you checked and how many were wet; "
                    f"more than {rules.max_leaks} wet joint(s) fails the check and keeps the rack powered off."
                ),
                location=where,
                confirm=CONFIRM_MANUAL,
                depends_on=(pressure,),
                duration_s=times.get(LEAK, 900.0),
                action={"type": LEAK, **common, **leak_readings(rules, joints)},
                required_actions=(LEAK,),
                group=f"loop:{rack}",
            )
        )
        leak_of[rack] = leak
    return steps, leak_of


def cooling_check(device: str, rack: str, leak_step: str) -> dict:
    """The burn-in check of a liquid-cooled device: flow and temperatures at first power-on."""
    return {
        "check": "coolant_flow",
        "leak_test": leak_step,
        "text": (
            f"Before power-on: {leak_step} is passed. At power-on, read rack {rack}'s coolant flow and supply and "
            f"return temperatures on the CDU and enter them below (a reading outside its rule blocks the step), "
            f"and check {device}'s cold-plate temperatures on its BMC. "
            "Power it off at once if the return temperature climbs without flow."
        ),
    }
