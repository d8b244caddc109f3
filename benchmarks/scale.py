"""Scale benchmark: the DGX-H100-SuperPOD-style blueprint at 1, 4, 16 and 64 scalable units.

Each stage runs in its own Python subprocess, so its time and peak memory are its own:
inputs it needs (the design, the cable plan) are rebuilt there *before* the clock starts, the
peak-RSS mark is reset (Linux ``/proc/self/clear_refs``) and the stage then runs timed; its peak
is the process's ``VmHWM`` afterwards (``ru_maxrss`` where clear_refs is unavailable, which then
includes the inputs).

Stages: expand (blueprint -> design files), validate (load + rules), route
(``core.routing.build_cable_plan``), plan (work steps, walking distances, ordering) and schedule
(crew and robot scheduling) from one ``core.workplan.build_work_plan`` call split at its
"scheduling" progress message, print one rack (``adapters.pdf.write_rack_sheets``), print all
labels (``adapters.pdf.write_labels``, only with ``--labels``), publish robot orders (VDA 5050
orders for every robot of the default team to an embedded broker, QoS as the standard says,
until the broker has acknowledged them), reconcile (drift and fix-ups from an as-built record),
reconcile-observed (the same from every switch's lldpctl JSON and each InfiniBand fabric's
ibnetdiscover/iblinkinfo output, files read and checked inside the clock) and diff. A stage whose code cannot be imported is reported as
"n/a (not available)"; any other failure is reported as an error with its message.

Usage: ``benchmarks/run [--su 1,4,16,64] [--labels] [--timeout S]``; the table is printed and the
JSON written to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
BLUEPRINT = "dgx-h100-superpod"
STAGES = (
    "expand",
    "validate",
    "route",
    "plan",
    "schedule",
    "print-rack",
    "print-labels",
    "publish",
    "reconcile",
    "reconcile-observed",
    "diff",
)
JOBS = {  # subprocess job -> the stages it reports
    "expand": ("expand",),
    "validate": ("validate",),
    "route": ("route",),
    "work": ("plan", "schedule"),
    "print-rack": ("print-rack",),
    "print-labels": ("print-labels",),
    "publish": ("publish",),
    "reconcile": ("reconcile",),
    "reconcile-observed": ("reconcile-observed",),
    "diff": ("diff",),
}
NA = "n/a (not available)"


# ---------------------------------------------------------------- memory


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Clock:
    """Time and peak memory of the code between start() and stop()."""

    def start(self):
        self.isolated = _reset_peak()
        self.t0 = time.perf_counter()
        return self

    def stop(self) -> dict:
        return {
            "seconds": round(time.perf_counter() - self.t0, 3),
            "peak_mb": round(_peak_mb(), 1),
            "peak_isolated": self.isolated,
        }


# ---------------------------------------------------------------- stages (run in a subprocess)


def _design(work: Path):
    from fieldops.adapters.designfile import load_design

    return load_design(work / "design").design


def _cable_plan(design):
    from fieldops.core.routing import build_cable_plan

    return build_cable_plan(design)


TEAM = {"technician": 8, "lift-robot": 2, "cabling-robot": 2}
LIFT_PAYLOAD_KG = 250  # a DGX H100 weighs 130.45 kg; the default lift-robot profile carries 120 kg


def bench_team() -> list:
    """The repo's robot profiles with fixed counts, the lift able to carry a DGX H100."""
    from dataclasses import replace

    from fieldops.adapters.designfile import load_robot_profile
    from fieldops.bootstrap import robot_profiles_dir

    team = []
    for f in sorted(robot_profiles_dir().glob("*.y*ml")):
        p = load_robot_profile(f)
        if p.name == "lift-robot":
            p = replace(p, payload_kg=max(p.payload_kg, LIFT_PAYLOAD_KG))
        team.append(replace(p, count=TEAM.get(p.name, p.count)))
    return team


def job_expand(su: int, work: Path) -> dict:
    from fieldops.adapters.blueprintfile import load_blueprint, write_design
    from fieldops.core.blueprint import expand_blueprint, resolve_params

    lb = load_blueprint(BLUEPRINT)
    units_per_row = 4 if su >= 16 else 2
    c = Clock().start()
    t0 = time.perf_counter()
    exp = expand_blueprint(
        lb.blueprint,
        resolve_params(lb.blueprint, {"su_count": su, "units_per_row": units_per_row}),
        lb.device_types,
    )
    t_expand = time.perf_counter() - t0
    write_design(lb, exp, work / "design", force=True)
    r = c.stop()
    s = exp.summary()
    r["detail"] = {
        "expand_s": round(t_expand, 3),
        "write_s": round(r["seconds"] - t_expand, 3),
        "racks": s["racks"],
        "devices": s["devices"],
        "cables": s["cables"],
        "nodes": s["roles"].get("gpu-node", 0),
    }
    return {"expand": r}


def job_validate(su: int, work: Path) -> dict:
    from fieldops.adapters.designfile import load_design
    from fieldops.core import validate as v
    from fieldops.core.problems import ERROR

    c = Clock().start()
    t0 = time.perf_counter()
    loaded = load_design(work / "design")
    t_load = time.perf_counter() - t0
    ctx = v.Context()
    per_rule, problems = {}, []
    for rule in v.RULES:
        t = time.perf_counter()
        problems.extend(rule(loaded.design, ctx))
        per_rule[rule.__name__] = round(time.perf_counter() - t, 3)
    r = c.stop()
    errors = sum(1 for p in problems + loaded.problems if p.severity == ERROR)
    r["detail"] = {
        "load_s": round(t_load, 3),
        "rules_s": per_rule,
        "errors": errors,
        "problems": len(problems) + len(loaded.problems),
    }
    return {"validate": r}


def job_route(su: int, work: Path) -> dict:
    from fieldops.core.routing import build_cable_plan

    design = _design(work)
    c = Clock().start()
    plan = build_cable_plan(design)
    r = c.stop()
    r["detail"] = {
        "runs": len(plan.runs),
        "reach_problems": len(plan.problems),
        "ordered_m": round(sum(x.ordered_mm for x in plan.runs) / 1000, 1),
        "diverted": len(plan.diversions),  # cables moved off full tray segments
        "segments_over": sum(1 for x in plan.tray_segments if x.over),
    }
    return {"route": r}


def job_work(su: int, work: Path) -> dict:
    from fieldops.adapters.workfiles import write_work_files
    from fieldops.core.walking import WalkGraph
    from fieldops.core.workplan import build_work_plan

    design = _design(work)
    plan = _cable_plan(design)
    team = bench_team()
    marks: dict[str, float] = {}
    peaks: dict[str, float] = {}

    def progress(msg: str) -> None:
        if msg.startswith("work orders: scheduling") and "schedule" not in marks:
            marks["schedule"] = time.perf_counter()
            peaks["plan"] = _peak_mb()
            _reset_peak()

    c = Clock().start()
    walk = WalkGraph(design)
    wp = build_work_plan(design, plan, team, walk, progress=progress)
    end = time.perf_counter()
    total = c.stop()
    split = marks.get("schedule", end)
    out = {
        "plan": {
            "seconds": round(split - c.t0, 3),
            "peak_mb": round(peaks.get("plan", total["peak_mb"]), 1),
            "peak_isolated": total["peak_isolated"],
        },
        "schedule": {
            "seconds": round(end - split, 3),
            "peak_mb": total["peak_mb"],
            "peak_isolated": total["peak_isolated"],
        },
    }
    out["plan"]["detail"] = {"steps": len(wp.steps), "team": sum(p.count for p in team)}
    out["schedule"]["detail"] = {
        "workorders": len(wp.workorders),
        "makespan_h": round(wp.makespan_s / 3600, 1),
    }
    write_work_files(design, wp, work / "plan")  # for the publish stage, untimed
    return out


def job_print_rack(su: int, work: Path) -> dict:
    from fieldops.adapters.pdf import write_rack_sheets

    design = _design(work)
    plan = _cable_plan(design)
    rack = next(r.name for r in design.floorplan.racks if r.rack_type.startswith("spod-compute"))
    c = Clock().start()
    path = write_rack_sheets(work / "rack.pdf", design, plan, racks=[rack])
    r = c.stop()
    r["detail"] = {"rack": rack, "bytes": Path(path).stat().st_size}
    return {"print-rack": r}


def job_print_labels(su: int, work: Path) -> dict:
    from fieldops.adapters.pdf import write_labels

    design = _design(work)
    plan = _cable_plan(design)
    c = Clock().start()
    path = write_labels(work / "labels.pdf", design, plan)
    r = c.stop()
    r["detail"] = {
        "labels": 2 * len(plan.runs) + len(design.devices) + len(design.floorplan.racks),
        "bytes": Path(path).stat().st_size,
    }
    return {"print-labels": r}


def job_publish(su: int, work: Path) -> dict:
    from fieldops.adapters.mqtt import connect, make_client
    from fieldops.adapters.mqtt.bridge import assignments_from_plan
    from fieldops.adapters.mqtt.broker import EmbeddedBroker
    from fieldops.adapters.workfiles import read_work_file
    from fieldops.core import vda5050 as v

    meta, wp = read_work_file(work / "plan" / "workorders.json")
    hall = (meta.get("design") or {}).get("hall") or "hall"
    profiles = {p.name: p for p in bench_team()}
    assignments, _warnings = assignments_from_plan(wp.steps, wp.team, profiles)
    broker = EmbeddedBroker(port=0).start()
    client = make_client(broker.url, "fieldops-bench")
    try:
        connect(client)
        deadline = time.time() + 10
        while not client.is_connected() and time.time() < deadline:
            time.sleep(0.01)
        c = Clock().start()
        infos, nodes, sizes, refused, t_build = [], 0, [], 0, 0.0
        for a in assignments:
            if not a.steps:
                continue
            t = time.perf_counter()
            try:
                route = v.build_route(a.steps, declared=v.declared_action_types(a.profile.actions))
            except v.VdaError:
                refused += 1
                continue
            header = v.Header(0, v.iso_timestamp(time.time()), a.profile.manufacturer, a.serial)
            msg = v.build_order(
                route,
                header,
                order_id=f"{hall}-{a.serial}-1",
                map_id=hall,
                base_end=min(1, len(route.stops) - 1),
            )
            payload = v.encode(msg)
            t_build += time.perf_counter() - t
            nodes += len(msg.get("nodes", ()))
            sizes.append(len(payload))
            infos.append(
                client.publish(
                    v.topic(a.profile.manufacturer, a.serial, "order"),
                    payload,
                    qos=v.TOPIC_QOS["order"],
                    retain=v.TOPIC_RETAIN["order"],
                )
            )
        for info in infos:
            info.wait_for_publish(timeout=60)
        acked = sum(1 for i in infos if i.is_published())
        r = c.stop()
    finally:
        client.disconnect()
        client.loop_stop()
        broker.stop()
    r["detail"] = {
        "robots": len(assignments),
        "orders": len(infos),
        "acked": acked,
        "nodes": nodes,
        "bytes": sum(sizes),
        "largest_order_bytes": max(sizes, default=0),
        "over_vda_max_message_bytes": sum(1 for x in sizes if x > v.MAX_MESSAGE_BYTES),
        "build_s": round(t_build, 3),
        "send_and_ack_s": round(r["seconds"] - t_build, 3),
        "robot_steps": sum(len(a.steps) for a in assignments),
        "refused": refused,
    }
    return {"publish": r}


def job_reconcile(su: int, work: Path) -> dict:
    """Drift and fix-ups for a hall built with 1 % of its cables missing, 1 % carrying another
    label and every 500th device missing (``fieldops reconcile --asbuilt``'s core)."""
    from dataclasses import replace

    from fieldops.core import asbuilt as ab
    from fieldops.core.labels import assign_cable_ids
    from fieldops.core.model import frozen_map
    from fieldops.core.reconcile import build_drift, build_fixups

    design = _design(work)
    ids = assign_cable_ids(design.cables)[0]
    built = ab.from_design(design, ids)
    cables = dict(built.cables)
    for i, ref in enumerate(sorted(built.cables)):
        if i % 100 == 0:
            del cables[ref]
        elif i % 100 == 1:
            cables[f"LBL-{i}"] = cables.pop(ref)
    devices = {n: d for i, (n, d) in enumerate(sorted(built.devices.items())) if i % 500}
    record = replace(ab.with_cables(built, cables), devices=frozen_map(devices))
    c = Clock().start()
    report = build_drift(design, record, cable_ids=ids)
    steps = build_fixups(design, report)
    r = c.stop()
    r["detail"] = {"drift": report.counts["drift"], "fixup_steps": len(steps)}
    return {"reconcile": r}


def job_reconcile_observed(su: int, work: Path) -> dict:
    """``fieldops reconcile --observed`` on every switch's view of the hall: lldpctl JSON of every
    Ethernet switch (one bundle per rack) and ibnetdiscover/iblinkinfo of each InfiniBand fabric,
    with 1 % of the observable cables missing; timed: reading and checking the files, laying them
    over an empty record, drift and fix-ups (the reconcile stage's work, from files)."""
    import random

    sys.path.insert(0, str(REPO))
    from fieldops.adapters.observed import load_observations
    from fieldops.core import asbuilt as ab
    from fieldops.core.labels import assign_cable_ids
    from fieldops.core.reconcile import build_drift, build_fixups, merge_observed
    from tests.observations import World, write_infiniband, write_lldp

    design = _design(work)
    ids = assign_cable_ids(design.cables)[0]
    world = World(design)
    observable = [c for c in design.cables if world.cable_cls(c) in ("ethernet", "infiniband")]
    for i, c in enumerate(sorted(observable, key=lambda c: ids[c.key])):
        if i % 100 == 0:
            world.unplug(str(c.a))
    rng = random.Random(su)
    folder = work / "observed"

    def switch(name: str) -> bool:  # every switch reports; hosts, PDUs and consoles do not
        return sum(1 for p in world.dtype[name].ports if p.kind == "interface") >= 16

    files = write_lldp(world, folder / "lldp", rng, reporters=switch, bundles=1.0)
    files += write_infiniband(world, folder / "ib", rng)
    c = Clock().start()
    t0 = time.perf_counter()
    obs = load_observations(files, design)
    t_load = time.perf_counter() - t0
    merged = merge_observed(ab.AsBuilt(design.floorplan.name), obs)
    report = build_drift(
        design, merged, scope=obs, devices_recorded=False, cable_ids=ids, observed=obs
    )
    steps = build_fixups(design, report)
    r = c.stop()
    r["detail"] = {
        "files": len(files),
        "links": len(obs.links),
        "load_s": round(t_load, 3),
        "reconcile_s": round(r["seconds"] - t_load, 3),
        "drift": report.counts["drift"],
        "fixup_steps": len(steps),
    }
    return {"reconcile-observed": r}


def job_diff(su: int, work: Path) -> dict:
    """The move/add/change plan when the last rack is decommissioned (its devices and every
    cable on them go) and every 100th other cable is re-run in another medium of its class
    (``fieldops diff``'s core)."""
    from dataclasses import replace

    from fieldops.core.labels import assign_cable_ids
    from fieldops.core.revision import build_revision

    old = _design(work)
    last = old.floorplan.racks[-1].name
    gone = {d.name for d in old.devices if d.rack == last}
    by_class: dict[str, list[str]] = {}
    for m in sorted(old.media.values(), key=lambda m: m.slug):
        by_class.setdefault(m.media_class, []).append(m.slug)
    cables = []
    for i, cab in enumerate(old.cables):
        if cab.a.device in gone or cab.b.device in gone:
            continue
        if i % 100 == 0:
            peers = by_class[old.media[cab.media].media_class]
            cab = replace(cab, media=peers[(peers.index(cab.media) + 1) % len(peers)])
        cables.append(cab)
    new = replace(
        old,
        revision=f"{old.revision}-next",
        devices=tuple(d for d in old.devices if d.name not in gone),
        cables=tuple(cables),
    )
    old_ids, new_ids = assign_cable_ids(old.cables)[0], assign_cable_ids(new.cables)[0]
    c = Clock().start()
    rev = build_revision(old, new, old_ids=old_ids, new_ids=new_ids)
    r = c.stop()
    counts = rev.counts()
    r["detail"] = {
        "steps": len(rev.steps),
        "devices": counts["devices"],
        "cables": counts["cables"],
    }
    return {"diff": r}


JOB_FUNCS = {
    "expand": job_expand,
    "validate": job_validate,
    "route": job_route,
    "work": job_work,
    "print-rack": job_print_rack,
    "print-labels": job_print_labels,
    "publish": job_publish,
    "reconcile": job_reconcile,
    "reconcile-observed": job_reconcile_observed,
    "diff": job_diff,
}


def run_job_here(job: str, su: int, work: Path) -> None:
    """Subprocess entry: print one JSON line with the job's stage results."""
    try:
        out = JOB_FUNCS[job](su, work)
    except ImportError as exc:
        out = {s: {"status": NA, "reason": f"{type(exc).__name__}: {exc}"} for s in JOBS[job]}
    except Exception as exc:  # reported in the table, not hidden
        out = {
            s: {"status": "error", "reason": f"{type(exc).__name__}: {str(exc)[:300]}"}
            for s in JOBS[job]
        }
    for r in out.values():
        r.setdefault("status", "ok")
    print("RESULT " + json.dumps(out))


# ---------------------------------------------------------------- orchestration


def run_job(job: str, su: int, work: Path, timeout: float) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--job",
        job,
        "--su",
        str(su),
        "--work",
        str(work),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {
            s: {"status": "error", "reason": f"timed out after {timeout:.0f} s"} for s in JOBS[job]
        }
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {
        s: {"status": "error", "reason": f"exit {proc.returncode}: {' | '.join(tail)[:300]}"}
        for s in JOBS[job]
    }


def cell(r: dict | None) -> str:
    if r is None:
        return "-"
    if r.get("status") == NA:
        return "n/a"
    if r.get("status") != "ok":
        return "ERROR"
    return f"{r['seconds']:.2f}s {r['peak_mb']:.0f}MB"


def print_table(results: dict, stages: list[str]) -> None:
    head = ["SU", "cables"] + stages + ["total (no labels)"]
    rows = []
    for su, res in results.items():
        cables = res.get("expand", {}).get("detail", {}).get("cables", "?")
        total = sum(
            r["seconds"] for s, r in res.items() if r.get("status") == "ok" and s != "print-labels"
        )
        peak = max(
            (
                r["peak_mb"]
                for s, r in res.items()
                if r.get("status") == "ok" and s != "print-labels"
            ),
            default=0,
        )
        rows.append(
            [str(su), f"{cables:,}" if isinstance(cables, int) else str(cables)]
            + [cell(res.get(s)) for s in stages]
            + [f"{total:.1f}s {peak:.0f}MB"]
        )
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    for line in [head, ["-" * w for w in widths], *rows]:
        print("  ".join(x.rjust(w) for x, w in zip(line, widths, strict=True)))
    notes = {}
    for su, res in results.items():
        for s, r in res.items():
            if r.get("status") != "ok":
                notes.setdefault(f"{s}: {r.get('status')}: {r.get('reason', '')}", []).append(
                    str(su)
                )
    for text, sus in notes.items():
        print(f"  SU {','.join(sus)}: {text}")


def print_reconcile_ratio(results: dict) -> None:
    """Reconcile from observation files against the reconcile stage of the same run (issue 23:
    a full observation set stays within the reconcile stage), with the load average."""
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    for su, res in results.items():
        a, b = res.get("reconcile", {}), res.get("reconcile-observed", {})
        if a.get("status") == "ok" and b.get("status") == "ok" and a["seconds"] > 0:
            d = b.get("detail", {})
            print(
                f"  SU {su}: reconcile-observed {b['seconds']:.2f}s (files read {d.get('load_s')}s, "
                f"{d.get('links')} links) = {b['seconds'] / a['seconds']:.2f}x the reconcile stage "
                f"{a['seconds']:.2f}s; load average {load} on {os.cpu_count()} cores"
            )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description="Scale benchmark: expand the SuperPOD-style blueprint and time every pipeline stage."
    )
    p.add_argument("--su", default="1,4,16,64", help="scalable-unit counts (default 1,4,16,64)")
    p.add_argument(
        "--labels",
        action="store_true",
        help="also print every label (slow at scale; off by default)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=1800,
        help="seconds per stage before it is reported as failed (default 1800)",
    )
    p.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="keep the generated designs and outputs in this folder",
    )
    p.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        help="folder for the JSON results (default benchmarks/results/)",
    )
    p.add_argument("--job", help=argparse.SUPPRESS)
    p.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.job:
        run_job_here(args.job, int(args.su), args.work)
        return 0
    try:
        counts = [int(x) for x in args.su.split(",") if x.strip()]
    except ValueError:
        print(
            f"benchmarks: --su expects whole numbers like 1,4,16,64, got '{args.su}'",
            file=sys.stderr,
        )
        return 2
    if not counts or any(not 1 <= n <= 64 for n in counts):
        print("benchmarks: --su values must be 1..64", file=sys.stderr)
        return 2
    stages = [s for s in STAGES if args.labels or s != "print-labels"]
    jobs = [j for j in JOBS if args.labels or j != "print-labels"]
    base = args.keep or Path(tempfile.mkdtemp(prefix="fieldops-bench-"))
    results: dict[int, dict] = {}
    for su in counts:
        work = base / f"su{su}"
        work.mkdir(parents=True, exist_ok=True)
        res: dict = {}
        for job in jobs:
            print(f"  SU {su}: {job} ...", file=sys.stderr, flush=True)
            res.update(run_job(job, su, work, args.timeout))
            if job == "expand" and res["expand"].get("status") != "ok":
                break
        results[su] = res
    print_table(results, stages)
    print_reconcile_ratio(results)
    args.results.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    doc = {
        "benchmark": "scale",
        "blueprint": BLUEPRINT,
        "commit": commit,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "team": TEAM,
        "lift_payload_kg": LIFT_PAYLOAD_KG,
        "results": {str(k): v for k, v in results.items()},
    }
    out = args.results / f"scale-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out}")
    if args.keep is None:
        import shutil

        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
