"""Arguments several commands share, spelled once."""

from __future__ import annotations

from pathlib import Path

OUTDIR_HELP = "output directory (created if missing)"


def add_outdir(p, *, metavar: str = "OUTDIR", help: str = OUTDIR_HELP) -> None:  # noqa: A002
    """``-o/--out DIR`` (required) and ``--force``."""
    p.add_argument("-o", "--out", required=True, type=Path, metavar=metavar, help=help)
    p.add_argument(
        "--force",
        action="store_true",
        help=f"write into {metavar} even if it holds files fieldops did not write (those are "
        "left alone; fieldops' own files are replaced)",
    )


def add_team(p) -> None:
    """``--robots LIST`` and ``--profiles DIR``: which robots join the crew, from where."""
    p.add_argument(
        "--robots",
        default=None,
        metavar="LIST",
        help="robots to schedule, e.g. 'lift-robot=2,cabling-robot' ('' for none; default: "
        "every robot profile)",
    )
    p.add_argument(
        "--profiles",
        type=Path,
        default=None,
        metavar="DIR",
        help="robot/crew profile folder (default: robot_profiles/)",
    )


def robot_list(args) -> list[str] | None:
    """``--robots`` as a list of ``name`` / ``name=count`` items (None: not given)."""
    if args.robots is None:
        return None
    return [r.strip() for r in args.robots.split(",") if r.strip()]


def add_password_file(
    p,
    help: str = "read the password from this file's first line ('-' for stdin)",  # noqa: A002
) -> None:
    """``--password-file FILE``: secrets never go on the command line, where ps shows them."""
    p.add_argument("--password-file", type=Path, default=None, metavar="FILE", help=help)
