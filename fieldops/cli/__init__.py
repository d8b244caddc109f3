"""The ``fieldops`` command. Each module in this package adds one command group.

A command module defines ``register(subparsers)`` which adds its sub-parser(s) and sets
``func`` (called with the parsed args; returns the exit code). Modules are found by name, so
adding a command never edits this file.
"""

from __future__ import annotations

import argparse
import builtins
import importlib
import pkgutil
import sys

from fieldops.core.problems import DesignError
from fieldops.outdir import OutdirError

EXIT_OK, EXIT_FAILURE, EXIT_INVALID = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fieldops",
        description="From rack elevations and a floor plan to work orders, cable plans, cut sheets, labels and robot orders.",
        epilog="Run 'fieldops COMMAND --help' for a command's options. Exit codes: 0 ok, 1 failure, 2 invalid input.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show Python tracebacks on unexpected errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_OK
    print = builtins.print  # noqa: A001 - a command module may be named after a builtin (print)
    try:
        return int(args.func(args) or 0)
    except DesignError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"fieldops: {len(exc.problems)} problem(s); nothing was written", file=sys.stderr)
        return EXIT_INVALID
    except OutdirError as exc:
        sub = getattr(args, f"{args.command}_command", None)
        print(f"fieldops {args.command}{' ' + sub if sub else ''}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("fieldops: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: a message, not a traceback
        if args.debug:
            raise
        print(
            f"fieldops: error: {type(exc).__name__}: {exc} (run with --debug for details)",
            file=sys.stderr,
        )
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
