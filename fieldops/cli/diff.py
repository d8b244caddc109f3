"""fieldops diff OLD_DESIGN NEW_DESIGN -o OUTDIR: a design revision as move/add/change work."""

from __future__ import annotations

import json
import sys

from fieldops.cli._args import add_outdir


def register(sub) -> None:
    p = sub.add_parser(
        "diff",
        help="turn a design revision into move/add/change work orders (only what changed)",
        description="Compare two revisions of a design and write the move/add/change work that turns "
        "a hall built to OLD_DESIGN into one built to NEW_DESIGN: revision.json (what changed: devices "
        "added, removed, moved, replaced; cables added, removed, re-run, re-plugged, unchanged) and "
        "workorders.json (the steps, same schema as 'fieldops plan' writes), all or nothing. Unchanged "
        "cables keep their IDs and labels; steps are ordered drain -> unplug -> unmount -> mount -> plug, "
        "and a U or port is re-used only after it was freed. Exit 0 on success, 2 on invalid input.",
    )
    p.add_argument("old", help="the design as built (directory holding design.yaml)")
    p.add_argument("new", help="the revised design (directory holding design.yaml)")
    add_outdir(p)
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="summary on stdout (default: text)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from fieldops.outdir import check_outdir, staged_outdir

    check_outdir(args.out, force=args.force)  # before any work
    from fieldops import services
    from fieldops.core.problems import DesignError, Problem
    from fieldops.core.reconcile import workorders_document
    from fieldops.core.revision import build_revision
    from fieldops.services.reconcile import write_json

    old = services.load_valid_design(args.old).design
    new = services.load_valid_design(args.new).design
    if old.floorplan.name != new.floorplan.name:
        raise DesignError(
            [
                Problem(
                    str(args.new),
                    0,
                    "hall",
                    f"the revision is for hall '{new.floorplan.name}', the old design for hall '{old.floorplan.name}'",
                )
            ]
        )
    rev = build_revision(old, new)  # cable IDs: assign_cable_ids of each design
    with staged_outdir(args.out, force=args.force, command="diff") as stage:
        write_json(stage / "revision.json", rev.to_dict())
        write_json(stage / "workorders.json", workorders_document(new, rev.steps, prefix="WO-MAC"))
    if args.format == "json":
        print(json.dumps({"counts": rev.counts(), "steps": len(rev.steps)}, sort_keys=True))
        return 0
    counts = rev.counts()
    for kind in ("devices", "cables"):
        parts = [f"{k.replace('_', ' ')} {n}" for k, n in counts[kind].items() if n]
        print(f"{kind}: {', '.join(parts) or 'no change'}")
    for w in rev.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(
        f"{len(rev.steps)} move/add/change step(s); wrote {args.out / 'revision.json'}, {args.out / 'workorders.json'}"
    )
    return 0
