"""Step generation: every phase of a build as located steps with stable IDs. Pure.

One step per rack (place, level, bond), per device (rails, mount), per power cord, per data
cable, per device burn-in and per rack verification. IDs come from the object the step acts on
(``rack:A01``, ``rails:srv-01``, ``mount:srv-01``, ``power:C-XXXXXXX``, ``cable:C-XXXXXXX``,
``burnin:srv-01``, ``verify:A01``), never from list positions, so a re-plan keeps them.

Dependencies (``depends_on``)::

    rack:R ─┬─> rails:D (every U-mounted device D in R)
            └─> mount chain of R: zero-U devices (PDUs) first, then bottom-up by U;
                each mount also needs its own rails
    mount:D (+ mount:PDU) ──> power:<cord>        mount:A + mount:B ──> cable:<id>
    mount:D, its cords, its cables, the cords of its link peers ──> burnin:D
    the cords into R's power shelves ──> burnin:D  (D on R's busbar: no cord of its own)
    rack:R, burn-in (or mount, cords, cables) of every device in R ──> verify:R

The machine ``action`` of a step carries what a robot (and the capability check) needs: the
device's U and height, both cable ends with their stand-off poses, and ``max_elevation_mm``,
the highest tray the cable's route uses.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable

from fieldops.core.cableplan import CablePlan, CableRun
from fieldops.core.delivery import Deliveries
from fieldops.core.feeds import cords_into_shelves, feed_name, overhead_mm
from fieldops.core.fluid import (
    FLUID_CLASS,
    build_fluid_steps,
    cooling_check,
    liquid_cooled,
    power_on_readings,
)
from fieldops.core.model import FRONT, OVERHEAD, REAR, Design, Device, DeviceType, RobotProfile
from fieldops.core.problems import DesignError, Problem
from fieldops.core.schedule import RIG
from fieldops.core.workorder import (
    CONFIRM_MANUAL,
    CONFIRM_SCAN_ASSET,
    CONFIRM_SCAN_LABEL,
    Location,
    Part,
    Step,
)

# Standard times (seconds) when no team profile declares one for a step kind.
DEFAULT_TIMES_S = {
    "place_rack": 1800.0,
    "install_rails": 300.0,
    "mount_device": 600.0,
    "connect_power": 120.0,
    "run_cable": 240.0,
    "connect_hose": 180.0,
    "fill_bleed": 1800.0,
    "pressure_test": 2400.0,
    "leak_check": 900.0,
    "burnin_check": 900.0,
    "remediate": 1200.0,
    "verify_rack": 600.0,
    "fixup": 300.0,
}

TEAM_LIFT = 2  # people in a team lift
POWER_CLASS = "power"
PDU_ROLES = ("pdu",)
SWITCH_ROLES = (
    "leaf",
    "spine",
    "super-spine",
    "tor",
    "switch",
    "oob-switch",
    "mgmt-switch",
    "core",
    "border-leaf",
)

# What the diagnostics run is, by device role (default: servers and anything else).
DIAGNOSTICS = {
    "server": "run the vendor stress/diagnostics suite (CPU, memory, disks, NICs) and record pass/fail",
    "gpu-server": "run GPU burn-in (e.g. NVIDIA DCGM diag level 3) and NCCL all-reduce on the node; record pass/fail",
    "pdu": "read each connected outlet's current on the PDU display or web UI and record the loads",
    "console-server": "open a console session on every connected port and record which answer",
    "switch": "record the POST/self-test log and `show` environment (fans, PSUs, temperatures); all green",
}


def standard_times(team: Iterable[RobotProfile]) -> dict[str, float]:
    """Seconds per step kind used as each step's estimate before it is assigned.

    A technician profile's times win (the human standard), then the fastest other profile
    declaring the kind, then :data:`DEFAULT_TIMES_S`.
    """
    times = dict(DEFAULT_TIMES_S)
    profiles = sorted(team, key=lambda p: (p.kind != "technician", p.name))
    seen: set[str] = set()
    for p in profiles:
        for kind, secs in sorted(p.action_time_s.items()):
            if kind in seen or secs is None or not secs > 0:
                continue
            if p.kind == "technician":
                times[kind] = float(secs)
                seen.add(kind)
            elif kind not in seen:
                times[kind] = (
                    float(secs) if kind not in DEFAULT_TIMES_S else min(times[kind], float(secs))
                )
    return times


def _deg(theta_rad: float) -> float:
    return round(math.degrees(theta_rad), 1)


def _facing(theta_rad: float) -> str:
    """Which way the worker faces, in floor-frame words (``towards +y``)."""
    deg = math.degrees(theta_rad) % 360
    for centre, word in ((0, "+x"), (90, "+y"), (180, "-x"), (270, "-y"), (360, "+x")):
        if abs(deg - centre) <= 10:
            return f"towards {word}"
    return f"at {deg:.0f} deg"


def _u_text(u: int | None, height: float) -> str:
    if u is None:
        return "zero-U (side rails)"
    top = u + max(1, math.ceil(height)) - 1
    return f"U{u}" if top == u else f"U{u}-U{top}"


def _fmt_kg(w: float | None) -> str:
    return "weight unknown" if w is None else f"{w:g} kg"


class _Poses:
    """Stand-off poses and Locations per rack face, cached (Locations are immutable, so steps
    at the same rack, face and U share one); a missing rack becomes a problem for its step."""

    def __init__(self, walk, lids: dict[str, str]):
        self.walk = walk
        self.lids = lids
        self.cache: dict[tuple[str, str], tuple[int, int, float]] = {}
        self.locs: dict[tuple[str, str, int | None], Location] = {}

    def get(self, rack: str, face: str, step_id: str) -> tuple[int, int, float]:
        """``(x_mm, y_mm, theta_deg)`` of the stand-off point at a rack face."""
        key = (rack, face if face in (FRONT, REAR) else FRONT)
        hit = self.cache.get(key)
        if hit is None:
            try:
                x, y, theta = self.walk.standoff(*key)
            except (KeyError, ValueError) as exc:
                msg = exc.args[0] if exc.args else str(exc)
                raise DesignError(
                    [
                        Problem(
                            "<plan>",
                            0,
                            step_id,
                            f"no stand-off point at rack '{rack}' {key[1]}: {msg}",
                        )
                    ]
                ) from None
            hit = (int(round(x)), int(round(y)), _deg(theta))
            self.cache[key] = hit
        return hit

    def loc(self, rack: str, face: str, u: int | None, step_id: str) -> Location:
        key = (rack, face, u)
        hit = self.locs.get(key)
        if hit is None:
            x, y, theta_deg = self.get(rack, face, step_id)
            hit = self.locs[key] = Location(rack, self.lids.get(rack, ""), face, u, x, y, theta_deg)
        return hit


def build_steps(
    design: Design, cable_plan: CablePlan, walk, team: Iterable[RobotProfile] = ()
) -> list[Step]:
    """Every step of the build, phase by phase, in design order (the naive order).

    Parameters
    ----------
    design : Design
    cable_plan : CablePlan
        Routed cables; runs of media class ``power`` become ``connect_power`` steps, the rest
        ``run_cable`` steps.
    walk
        Anything with ``standoff(rack, face) -> (x_mm, y_mm, theta_rad)``
        (:class:`fieldops.core.walking.WalkGraph`).
    team : RobotProfiles
        Sets standard times and two-person lifts: a device heavier than a technician's
        ``payload_kg`` gets ``crew_size`` 2 unless a robot in the team can mount it.

    Examples
    --------
    >>> steps = build_steps(design, cable_plan, WalkGraph(design), team)
    >>> steps[0].id
    'rack:A01'
    """
    team = list(team)
    times = standard_times(team)
    fp = design.floorplan
    devices = design.device_index()
    types = design.device_types
    trays = {t.name: t.elevation_mm for t in fp.trays}
    lids = {r.name: fp.grid.location_id(*r.position) for r in fp.racks}
    poses = _Poses(walk, lids)
    tech_payload = max((p.payload_kg for p in team if p.kind == "technician"), default=0.0)
    lifts = [p for p in team if p.kind == "robot" and "mount_device" in p.actions]

    loc = poses.loc

    steps: list[Step] = []

    # ------------------------------------------------------------ rack
    deliveries = Deliveries(design)
    for rack in fp.racks:
        rt = fp.rack_types.get(rack.rack_type)
        sid = f"rack:{rack.name}"
        delivery = deliveries.rack(rack, rt.weight_kg if rt else 0.0)
        where = loc(rack.name, FRONT, None, sid)
        nx, ny = rack.front_normal()
        size = f"{rt.width_mm} x {rt.depth_mm} mm, {rt.u_height}U" if rt else rack.rack_type
        steps.append(
            Step(
                id=sid,
                phase="rack",
                kind="place_rack",
                title=f"Place rack {rack.name}",
                instruction=(
                    f"Bring rack {rack.name} ({rack.rack_type}, {size}) to floor tile {where.location_id}. "
                    + (delivery.text(fp.grid) if delivery else "")
                    + f"Set its footprint centre at x {rack.position[0]} mm, y {rack.position[1]} mm with the front "
                    f"facing {_facing(math.atan2(ny, nx))} ({rack.rotation_deg:g} deg). Lower the levelling feet until the "
                    f"castors are off the floor and the bubble level reads true front-to-back and side-to-side. "
                    f"Bay it to its neighbours, bond it to the earth bar with the green/yellow lead, then tick the step."
                ),
                location=where,
                confirm=CONFIRM_MANUAL,
                duration_s=times["place_rack"],
                action={
                    "type": "place_rack",
                    "rack": rack.name,
                    "rack_type": rack.rack_type,
                    "x_mm": int(rack.position[0]),
                    "y_mm": int(rack.position[1]),
                    "rotation_deg": float(rack.rotation_deg),
                    **({"delivery": delivery.action()} if delivery else {}),
                },
                required_actions=("place_rack",),
                group=f"rack:{rack.name}",
            )
        )

    # ------------------------------------------------------------ stack
    per_rack: dict[str, list[Device]] = defaultdict(list)
    for dev in design.devices:
        per_rack[dev.rack].append(dev)
    for rack in fp.racks:
        devs = per_rack.get(rack.name, [])
        zero_u = sorted((d for d in devs if d.position is None), key=lambda d: d.name)
        mounted = sorted(
            (d for d in devs if d.position is not None), key=lambda d: (d.position, d.face, d.name)
        )
        for dev in mounted:
            dt = types.get(dev.device_type) or DeviceType("", dev.device_type, dev.device_type)
            sid = f"rails:{dev.name}"
            depth = (
                "full-depth rails"
                if dt.is_full_depth
                else "short rails or mounting ears (half-depth device)"
            )
            steps.append(
                Step(
                    id=sid,
                    phase="stack",
                    kind="install_rails",
                    title=f"Rails for {dev.name} at {_u_text(dev.position, dt.u_height)}",
                    instruction=(
                        f"Rack {rack.name} ({lids[rack.name]}), {dev.face}: install the {depth} for {dev.name} "
                        f"({dt.manufacturer} {dt.model}) at {_u_text(dev.position, dt.u_height)}. Count units from U1 at the "
                        f"bottom; the rail's lower edge sits on the U{dev.position} line. Fit cage nuts, tighten both "
                        f"rails front and rear, check they are level, then tick the step."
                    ),
                    location=loc(rack.name, dev.face, dev.position, sid),
                    parts=(Part("rails", dev.name, "", 1),),
                    depends_on=(f"rack:{rack.name}",),
                    duration_s=times["install_rails"],
                    action={
                        "type": "install_rails",
                        "device": dev.name,
                        "rack": rack.name,
                        "u": dev.position,
                        "u_height": float(dt.u_height),
                        "face": dev.face,
                    },
                    required_actions=("install_rails",),
                    group=f"stack:{rack.name}",
                )
            )
        prev = f"rack:{rack.name}"
        for dev in (*zero_u, *mounted):
            dt = types.get(dev.device_type) or DeviceType("", dev.device_type, dev.device_type)
            sid = f"mount:{dev.name}"
            w = dt.weight_kg
            weight = float(w or 0.0)
            heavy = weight > tech_payload > 0
            overhead = dev.mounting == OVERHEAD  # above the rack's top: out of every lift's reach
            robot_can = not overhead and any(
                p.payload_kg >= weight
                and (
                    dev.position is None
                    or (p.u_min <= dev.position and dev.position + dt.units - 1 <= p.u_max)
                )
                for p in lifts
            )
            # beyond a two-person lift and every lift robot: a rigging crew with a rack mover
            rig = heavy and not robot_can and weight > TEAM_LIFT * tech_payload
            crew = TEAM_LIFT if heavy and not robot_can and not rig else 1
            deps = [prev] if dev.position is None else [prev, f"rails:{dev.name}"]
            what = f"{dev.name} ({dt.manufacturer} {dt.model}, {_fmt_kg(w)})".replace("( ", "(")
            if overhead:
                text = (
                    f"Rack {rack.name} ({lids[rack.name]}), {dev.face}: hang {what} on the busway above "
                    f"the rack's {dev.face}, at the tap-off point marked for this rack, and tighten its "
                    "clamps. Leave its breakers off: the electricians energise the busway."
                )
            elif dev.position is None:
                text = f"Rack {rack.name} ({lids[rack.name]}), {dev.face}: fit zero-U {what} on the {dev.face} side rails, outlets facing the rack, and secure its brackets."
            else:
                text = (
                    f"Rack {rack.name} ({lids[rack.name]}), {dev.face}: slide {what} onto its rails at "
                    f"{_u_text(dev.position, dt.u_height)} from the {dev.face}, latch it and fit the retaining screws."
                )
            carried = deliveries.rack(rack, weight, item=dev.name) if rig else None
            if rig:
                text += (
                    f" RIGGING: {weight:g} kg is over a two-person lift ({TEAM_LIFT} x {tech_payload:g} kg)"
                    " and every lift: the rigging crew brings it from the dock on the rack mover, sets,"
                    " levels and anchors it."
                )
            elif crew > 1:
                text += f" TWO-PERSON LIFT: {weight:g} kg is over the {tech_payload:g} kg single-person limit."
            elif heavy:
                text += f" Use the lift: {weight:g} kg is over the {tech_payload:g} kg single-person limit."
            if w is None:
                text += " Its weight is not in the device type: check the box label before lifting."
            if dev.asset_tag:
                text += f" Scan asset tag {dev.asset_tag} to confirm."
            elif overhead:
                text += " Tick the step when its clamps are tight."
            else:
                text += " Tick the step when it is latched."
            steps.append(
                Step(
                    id=sid,
                    phase="stack",
                    kind="mount_device",
                    title=f"Mount {dev.name} on the busway above {rack.name}"
                    if overhead
                    else f"Mount {dev.name} at {_u_text(dev.position, dt.u_height)} in {rack.name}",
                    instruction=text,
                    location=loc(rack.name, dev.face, dev.position, sid),
                    confirm=CONFIRM_SCAN_ASSET if dev.asset_tag else CONFIRM_MANUAL,
                    expect_codes=(dev.asset_tag,) if dev.asset_tag else (),
                    parts=(Part("device", dev.asset_tag or dev.name, dev.device_type, 1),),
                    depends_on=tuple(deps),
                    duration_s=times["mount_device"],
                    action={
                        "type": "mount_device",
                        "device": dev.name,
                        "device_type": dev.device_type,
                        "rack": rack.name,
                        "u": dev.position,
                        "u_height": float(dt.u_height),
                        "face": dev.face,
                        "weight_kg": weight,
                        "asset_tag": dev.asset_tag,
                        **({"max_elevation_mm": overhead_mm(fp, rack)} if overhead else {}),
                        **({"delivery": carried.action()} if carried else {}),
                    },
                    required_actions=(RIG,) if rig else ("mount_device",),
                    weight_kg=weight,
                    crew_size=crew,
                    group=f"stack:{rack.name}",
                )
            )
            prev = sid

    mounts = {s.action["device"] for s in steps if s.kind == "mount_device"}

    def mount_deps(*names: str) -> list[str]:
        return [f"mount:{n}" for n in names if n in mounts]

    def elevation(run: CableRun) -> int:
        if run.tray_path:
            return int(max(trays.get(t, 0) for t in run.tray_path))
        return 0

    def end_dict(end, step_id: str) -> dict:
        x, y, theta_deg = poses.get(end.rack, end.face, step_id)
        return {
            "device": end.device,
            "port": end.port,
            "rack": end.rack,
            "location_id": end.location_id,
            "u": end.u,
            "face": end.face,
            "label": end.label,
            "x_mm": x,
            "y_mm": y,
            "theta_deg": theta_deg,
        }

    # ------------------------------------------------------------ power
    cords_of: dict[str, list[str]] = defaultdict(list)  # device -> power step IDs
    cables_of: dict[str, list[str]] = defaultdict(list)  # device -> cable step IDs
    peers_of: dict[str, set[str]] = defaultdict(set)  # device -> data link peers
    ports = {slug: {p.name: p for p in dt.ports} for slug, dt in types.items()}
    power_runs = [r for r in cable_plan.runs if r.media_class == POWER_CLASS]
    data_runs = [r for r in cable_plan.runs if r.media_class not in (POWER_CLASS, FLUID_CLASS)]
    fluid_runs = [r for r in cable_plan.runs if r.media_class == FLUID_CLASS]
    for run in power_runs:
        pdu_end, dev_end = _pdu_and_device(run, devices, ports)
        sid = f"power:{run.id}"
        pdu_dev = devices.get(pdu_end.device)
        outlet = ports.get(pdu_dev.device_type, {}).get(pdu_end.port) if pdu_dev else None
        leg = outlet.feed_leg if outlet else ""
        feed = feed_name(pdu_end.device, leg)
        feed_text = f"feed {feed}" if feed else "feed not named in the design"
        if leg and leg.upper() != feed:
            feed_text += f", phase leg {leg}"
        face = dev_end.face or pdu_end.face or REAR
        where = loc(pdu_end.rack, face, dev_end.u, sid)
        length = (
            f"{run.ordered_mm / 1000:g} m"
            if run.ordered_mm
            else "NO ORDERABLE LENGTH (see the cut sheet's reach problems)"
        )
        steps.append(
            Step(
                id=sid,
                phase="power",
                kind="connect_power",
                title=f"Power {dev_end.device} {dev_end.port} from {pdu_end.device} ({feed_text})",
                instruction=(
                    f"Rack {pdu_end.rack} ({where.location_id}), {face}: take cord {run.id} ({run.sku or run.media}, {length}). "
                    f"Plug the end labelled '{dev_end.label}' into {dev_end.device} {dev_end.port} "
                    f"({_u_text(dev_end.u, 1)}), and the end labelled '{pdu_end.label}' into {pdu_end.device} {pdu_end.port} "
                    f"({feed_text}). Do not switch the outlet on. Dress the cord along the {face} side, then scan "
                    f"the label at each end."
                ),
                location=where,
                confirm=CONFIRM_SCAN_LABEL,
                expect_codes=(run.id,),
                parts=(Part("cord", run.id, run.sku, 1),),
                depends_on=tuple(sorted(set(mount_deps(dev_end.device, pdu_end.device)))),
                duration_s=times["connect_power"],
                action={
                    "type": "connect_power",
                    "cable": run.id,
                    "sku": run.sku,
                    "length_mm": int(run.ordered_mm),
                    "device": dev_end.device,
                    "port": dev_end.port,
                    "pdu": pdu_end.device,
                    "outlet": pdu_end.port,
                    "feed": feed,
                    "phase_leg": leg,
                    "rack": pdu_end.rack,
                    "u": dev_end.u,
                    "face": face,
                    "max_elevation_mm": elevation(run),
                    # both labelled ends, as a cable's: a scan-to-confirm needs each
                    "a": end_dict(run.a, sid),
                    "b": end_dict(run.b, sid),
                },
                required_actions=("connect_power",),
                group=f"power:{pdu_end.rack}",
            )
        )
        cords_of[dev_end.device].append(sid)

    # ------------------------------------------------------------ cable
    rack_rank = {r.name: i for i, r in enumerate(fp.racks)}
    # text and keys shared by many cables, built once: per route (racks + trays), per media,
    # per U; a cable's own dependency is at most two mounts
    routes: dict[tuple[str, str, tuple[str, ...]], tuple[str, str, int]] = {}
    media_names: dict[str, str] = {}
    u_texts: dict[int | None, str] = {}
    t_cable = times["run_cable"]
    for run in data_runs:
        sid = f"cable:{run.id}"
        first, second = run.a, run.b
        if (rack_rank.get(second.rack, 1 << 30), second.rack) < (
            rack_rank.get(first.rack, 1 << 30),
            first.rack,
        ):
            first, second = second, first
        where = loc(first.rack, first.face, first.u, sid)
        a, b = end_dict(run.a, sid), end_dict(run.b, sid)
        rkey = (first.rack, second.rack, run.tray_path)
        route = routes.get(rkey)
        if route is None:
            if first.rack == second.rack:
                group = f"bundle:{first.rack}"
                path = f"inside rack {first.rack}"
            else:
                group = f"bundle:{first.rack}-{second.rack}" + (
                    f":{'+'.join(run.tray_path)}" if run.tray_path else ""
                )
                path = (
                    f"along {', '.join(run.tray_path)}"
                    if run.tray_path
                    else "directly between the racks"
                )
            route = routes[rkey] = (group, path, elevation(run))
        group, path, high = route
        media_name = media_names.get(run.media)
        if media_name is None:
            media = design.media.get(run.media)
            media_name = media_names[run.media] = media.name if media else run.media
        length = (
            f"{run.ordered_mm / 1000:g} m"
            if run.ordered_mm
            else "NO ORDERABLE LENGTH (see the cut sheet's reach problems)"
        )
        u1 = u_texts.get(first.u)
        if u1 is None:
            u1 = u_texts[first.u] = _u_text(first.u, 1)
        u2 = u_texts.get(second.u)
        if u2 is None:
            u2 = u_texts[second.u] = _u_text(second.u, 1)
        da, db = run.a.device, run.b.device
        ma = f"mount:{da}" if da in mounts else None
        mb = f"mount:{db}" if db in mounts else None
        if ma is None or mb is None or ma == mb:
            deps = (ma,) if ma is not None else (mb,) if mb is not None else ()
        else:
            deps = (ma, mb) if ma < mb else (mb, ma)
        steps.append(
            Step(
                id=sid,
                phase="cable",
                kind="run_cable",
                title=f"Cable {run.id}: {first.device}:{first.port} to {second.device}:{second.port}",
                instruction=(
                    f"Take cable {run.id} ({run.sku or run.media}, {media_name}, {length}). Plug the end labelled "
                    f"'{first.label}' into {first.device} {first.port} (rack {first.rack}, {first.location_id}, "
                    f"{u1}, {first.face}), run it {path}, and plug the end labelled '{second.label}' "
                    f"into {second.device} {second.port} (rack {second.rack}, {second.location_id}, {u2}, "
                    f"{second.face}). Keep bends wider than the minimum radius, dress with hook-and-loop ties, "
                    f"then scan the label at each end."
                ),
                location=where,
                confirm=CONFIRM_SCAN_LABEL,
                expect_codes=(run.id,),
                parts=(Part("cable", run.id, run.sku, 1),),
                depends_on=deps,
                duration_s=t_cable,
                action={
                    "type": "run_cable",
                    "cable": run.id,
                    "media": run.media,
                    "sku": run.sku,
                    "length_mm": int(run.ordered_mm),
                    "a": a,
                    "b": b,
                    "tray_path": list(run.tray_path),
                    "max_elevation_mm": high,
                },
                required_actions=("run_cable",),
                group=group,
            )
        )
        cables_of[da].append(sid)
        cables_of[db].append(sid)
        peers_of[da].add(db)
        peers_of[db].add(da)

    # ------------------------------------------------------------ cooling (fieldops.core.fluid)
    fluid_steps, leak_of = build_fluid_steps(
        design,
        fluid_runs,
        loc=loc,
        end_dict=end_dict,
        mount_deps=mount_deps,
        cords_of=cords_of,
        times=times,
    )
    steps.extend(fluid_steps)
    cooled = liquid_cooled(design) if leak_of else set()

    # ------------------------------------------------------------ burn-in
    burned: set[str] = set()
    busbar_cords = cords_into_shelves(design.devices, types, cords_of)
    links_of = data_runs_by_device(data_runs)
    for dev in design.devices:
        dt = types.get(dev.device_type)
        has_power = dt is not None and any(p.kind == "power-port" for p in dt.ports)
        has_ifaces = dt is not None and any(p.kind == "interface" for p in dt.ports)
        if not (has_power or has_ifaces or cords_of.get(dev.name) or cables_of.get(dev.name)):
            continue  # passive (patch panel, blanking): nothing to burn in
        sid = f"burnin:{dev.name}"
        checks = _checks(dev, dt, cords_of.get(dev.name, []), links_of.get(dev.name, []))
        deps = (
            set(mount_deps(dev.name))
            | set(cords_of.get(dev.name, []))
            | set(cables_of.get(dev.name, []))
        )
        leak = leak_of.get(dev.rack) if dev.name in cooled else None
        if leak:  # power-on of a liquid-cooled device waits for its rack's leak test
            deps.add(leak)
            checks.insert(0, cooling_check(dev.name, dev.rack, leak))
        for peer in peers_of.get(dev.name, ()):
            deps.update(cords_of.get(peer, []))
        if has_power and not cords_of.get(dev.name):  # fed by the rack's busbar, if it has one
            deps.update(busbar_cords.get(dev.rack, ()))
        texts = [c.pop("text") for c in checks]  # the action keeps the rest of each check
        lines = [f"{i}. {t}" for i, t in enumerate(texts, 1)]
        steps.append(
            Step(
                id=sid,
                phase="burnin",
                kind="burnin_check",
                title=f"Burn-in {dev.name}" + (f" ({dev.role})" if dev.role else ""),
                instruction=(
                    f"Rack {dev.rack} ({lids.get(dev.rack, '')}), {dev.face}, {dev.name} at {_u_text(dev.position, dt.u_height if dt else 1)}. "
                    f"Work through the checks in order and record each result; a failed check opens a remediation step.\n"
                    + "\n".join(lines)
                ),
                location=loc(dev.rack, dev.face, dev.position, sid),
                confirm=CONFIRM_MANUAL,
                depends_on=tuple(sorted(deps)),
                duration_s=times["burnin_check"],
                action={
                    "type": "burnin_check",
                    "device": dev.name,
                    "role": dev.role,
                    "checks": checks,
                    **(power_on_readings(design.fluid) if leak else {}),
                },
                required_actions=("burnin_check",),
                group=f"burnin:{dev.rack}",
            )
        )
        burned.add(dev.name)

    # ------------------------------------------------------------ verify
    for rack in fp.racks:
        sid = f"verify:{rack.name}"
        deps = {f"rack:{rack.name}"}
        if rack.name in leak_of:
            deps.add(leak_of[rack.name])
        devs = per_rack.get(rack.name, [])
        for dev in devs:
            if dev.name in burned:
                deps.add(f"burnin:{dev.name}")
            else:
                deps.update(mount_deps(dev.name))
                deps.update(cords_of.get(dev.name, []))
                deps.update(cables_of.get(dev.name, []))
        steps.append(
            Step(
                id=sid,
                phase="verify",
                kind="verify_rack",
                title=f"Verify rack {rack.name}",
                instruction=(
                    f"Rack {rack.name} ({lids[rack.name]}), front then rear: check every device sits at the U in the "
                    f"elevation ({len(devs)} devices) and its asset tag matches, every cable and cord is labelled at both "
                    f"ends, dressed and within its bend radius, blanking panels fill every empty U, the earth bond is "
                    f"tight and the doors close and lock. Photograph front and rear, then tick the step."
                ),
                location=loc(rack.name, FRONT, None, sid),
                confirm=CONFIRM_MANUAL,
                depends_on=tuple(sorted(deps)),
                duration_s=times["verify_rack"],
                action={
                    "type": "verify_rack",
                    "rack": rack.name,
                    "devices": sorted(d.name for d in devs),
                },
                required_actions=("verify_rack",),
                group=f"verify:{rack.name}",
            )
        )
    return steps


def data_runs_by_device(runs: list[CableRun]) -> dict[str, list[tuple[str, str, str]]]:
    """device -> [(port, cable ID, peer device:port)] for data cables, sorted by port."""
    out: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for r in runs:
        out[r.a.device].append((r.a.port, r.id, f"{r.b.device}:{r.b.port}"))
        out[r.b.device].append((r.b.port, r.id, f"{r.a.device}:{r.a.port}"))
    for v in out.values():
        v.sort()
    return out


def _pdu_and_device(run: CableRun, devices: dict[str, Device], ports: dict[str, dict]):
    """(PDU end, device end) of a power cord: the power-outlet end, else a PDU-role end, else B."""

    def score(end) -> int:
        dev = devices.get(end.device)
        port = ports.get(dev.device_type, {}).get(end.port) if dev else None
        if port is not None and port.kind == "power-outlet":
            return 2
        if dev is not None and dev.role in PDU_ROLES:
            return 1
        return 0

    if score(run.a) > score(run.b):
        return run.a, run.b
    return run.b, run.a


def _role_family(role: str) -> str:
    role = (role or "").lower()
    if role in PDU_ROLES:
        return "pdu"
    if role in SWITCH_ROLES or role.endswith("switch"):
        return "switch"
    if role == "console-server":
        return "console-server"
    if "gpu" in role:
        return "gpu-server"
    return "server"


def _checks(
    dev: Device, dt: DeviceType | None, cords: list[str], links: list[tuple[str, str, str]]
) -> list[dict]:
    """The burn-in checklist for one device, from its role, type and cabling."""
    family = _role_family(dev.role)
    ports = dt.ports if dt else ()
    psus = [p.name for p in ports if p.kind == "power-port"]
    mgmt = [p.name for p in ports if p.kind == "interface" and p.mgmt_only]
    checks: list[dict] = []
    if family == "pdu":
        checks.append(
            {
                "check": "power_on",
                "ports": psus,
                "text": f"Feed breaker on; {dev.name} display lights and shows input voltage on {', '.join(psus) or 'its inlet'}.",
            }
        )
    else:
        where = ", ".join(psus) if psus else "every power supply"
        checks.append(
            {
                "check": "power_on",
                "ports": psus,
                "cords": sorted(cords),
                "text": f"Switch on the outlets feeding {dev.name}; power it on and check {where} show good (green) status.",
            }
        )
    cabled = {port for port, _, _ in links}
    reach = [p for p in mgmt if p in cabled] or mgmt
    if reach:
        label = "BMC" if family in ("server", "gpu-server") else "management interface"
        checks.append(
            {
                "check": "mgmt_reachable",
                "ports": reach,
                "text": f"{label} on {', '.join(reach)} answers from the management network (ping and log in); record its MAC and IP.",
            }
        )
    elif family != "pdu" or any(p.kind == "interface" for p in ports):
        checks.append(
            {
                "check": "mgmt_reachable",
                "ports": [],
                "text": f"{dev.name} answers on its management address (ping and log in).",
            }
        )
    checks.append(
        {
            "check": "firmware_recorded",
            "text": "Read the firmware/BIOS/OS versions and record them; flag any that differ from the release baseline.",
        }
    )
    for port, cable, peer in links:
        checks.append(
            {
                "check": "link_up",
                "port": port,
                "cable": cable,
                "peer": peer,
                "text": f"Link up on {port} (cable {cable} to {peer}); record speed and, where LLDP runs, the neighbour.",
            }
        )
    checks.append(
        {"check": "diagnostics", "family": family, "text": DIAGNOSTICS[family].capitalize() + "."}
    )
    return checks


def remediation_step(step: Step, reason: str) -> Step:
    """A remediation step for a failed burn-in check (pure).

    The ID is stable for the same failed step and reason:
    ``remediate:<step id>:<6 hex of the reason>``; it depends on the failed step and happens
    at its location.

    >>> fix = remediation_step(burnin_step, "no link on eno2")
    >>> fix.kind, fix.depends_on
    ('remediate', ('burnin:srv-01',))
    """
    reason = " ".join(str(reason or "").split())[:500]
    if not reason:
        raise DesignError(
            [Problem("<plan>", 0, step.id, "a remediation needs a reason (what failed)")]
        )
    digest = hashlib.sha1(reason.encode("utf-8")).hexdigest()[:6].upper()
    device = step.action.get("device", "") if isinstance(step.action, dict) else ""
    target = device or step.location.rack or step.id
    where = (
        f"rack {step.location.rack} ({step.location.location_id}), {step.location.face}"
        if step.location.rack
        else "its location"
    )
    return Step(
        id=f"remediate:{step.id}:{digest}",
        phase=step.phase if step.phase in ("burnin", "verify", "fixup") else "burnin",
        kind="remediate",
        title=f"Fix {target}: {reason[:60]}",
        instruction=(
            f"{step.title} failed at {where}: {reason}. Find the cause (reseat the part or cable, swap the "
            f"faulty part, correct the cabling or configuration), write down what you changed, then re-run the "
            f"failed check and record the new result."
        ),
        location=step.location,
        confirm=CONFIRM_MANUAL,
        depends_on=(step.id,),
        duration_s=DEFAULT_TIMES_S["remediate"],
        action={"type": "remediate", "step": step.id, "device": device, "reason": reason},
        required_actions=("remediate",),
        group=step.group,
    )
