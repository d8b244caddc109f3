"""docs/cli.md documents every command and option (Datasette's habit: docs that cannot drift).

The reference part of docs/cli.md is generated from the argparse parsers; regenerate it with

    .venv/bin/python -m tests.unit.test_docs_cli --write

These tests fail when a command, sub-command or option exists without a mention in its
section of docs/cli.md.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pytest

from fieldops.cli import build_parser

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
BEGIN = "<!-- BEGIN GENERATED REFERENCE: .venv/bin/python -m tests.unit.test_docs_cli --write -->"
END = "<!-- END GENERATED REFERENCE -->"


def commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """(name path, parser, one-line help) of every command and sub-command, depth first, sorted."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name in sorted(action.choices):
                sub = action.choices[name]
                yield (*prefix, name), sub, helps.get(name, "")
                yield from commands(sub, (*prefix, name))


def options(parser: argparse.ArgumentParser):
    """(label, help) of every argument of a parser except -h and sub-command groups."""
    formatter = parser._get_formatter()
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if action.option_strings:
            label = ", ".join(action.option_strings)
            if action.nargs != 0:
                metavar = action.metavar or (
                    ("{" + ",".join(map(str, action.choices)) + "}")
                    if action.choices
                    else action.dest.upper()
                )
                label += f" {metavar}"
        else:
            label = action.metavar or action.dest
        text = formatter._expand_help(action) if action.help else ""
        if action.required and action.option_strings:
            text = "required. " + text
        yield label, text


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def generate() -> str:
    parser = build_parser()
    out = [BEGIN, ""]
    for path, sub, helptext in commands(parser):
        out.append(f"{'#' * (2 + len(path))} fieldops {' '.join(path)}")
        out.append("")
        if helptext:
            out.append(f"*{_cell(helptext)}*")
            out.append("")
        if sub.description:
            out.append(_cell(sub.description))
            out.append("")
        rows = list(options(sub))
        if rows:
            out.append("| argument | meaning |")
            out.append("|---|---|")
            out.extend(f"| `{_cell(label)}` | {_cell(text)} |" for label, text in rows)
            out.append("")
    out.append(END)
    return "\n".join(out)


def write() -> None:
    text = DOC.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    DOC.write_text(text[:start] + generate() + text[end:])


def _sections() -> dict[str, str]:
    """Heading 'fieldops a b' -> its text up to the next heading of any level."""
    text = DOC.read_text()
    parts = re.split(r"^#{2,6} (fieldops [^\n]+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


ALL = [(path, sub) for path, sub, _ in commands(build_parser())]


def test_every_command_has_a_section():
    sections = _sections()
    missing = [" ".join(path) for path, _ in ALL if f"fieldops {' '.join(path)}" not in sections]
    assert missing == [], (
        f"undocumented commands in docs/cli.md: {missing}; run: .venv/bin/python -m tests.unit.test_docs_cli --write"
    )


@pytest.mark.parametrize(("path", "sub"), ALL, ids=[" ".join(p) for p, _ in ALL])
def test_every_option_is_documented_in_its_section(path, sub):
    section = _sections().get(f"fieldops {' '.join(path)}", "")
    missing = []
    for action in sub._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        names = action.option_strings or [action.metavar or action.dest]
        if not any(f"`{m}" in section or f" {m}" in section for n in names for m in (n, _cell(n))):
            missing.append(names[0])
    assert missing == [], f"fieldops {' '.join(path)}: options missing from docs/cli.md: {missing}"


def test_global_options_are_documented():
    text = DOC.read_text()
    for action in build_parser()._actions:
        for name in action.option_strings:
            assert f"`{name}" in text, name


if __name__ == "__main__":
    if "--write" in sys.argv:
        write()
        print(f"wrote {DOC}")
    else:
        print(generate())
