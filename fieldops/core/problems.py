"""Problems found in a design: ``file:line: path: message``, as text or JSON.

``severity`` is ``error`` (the design cannot be built as written), ``warning`` (it can, but
something is unknown or doubtful) or ``info`` (a note about what was read or left out); ``rule`` names the check that found it (``yaml``,
``schema``, ``duplicate``, ``reference``, ``elevation``, ``power``, ``weight``, ``port``,
``media``, ``cable``, ``floor``, ``clearance``, ``devicetype-gap``, ...).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from fieldops.core.model import Source

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)

BIDI_CONTROLS = frozenset({0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A)})


def one_line(text: str) -> str:
    """``text`` with control, line-break and bidi-override characters escaped as ``\\uXXXX``.

    A problem report is one line per problem; hostile names must not forge extra lines.

    >>> one_line("rack\\nA01")
    'rack\\\\u000aA01'
    """
    if text.isascii() and text.isprintable():
        return text
    out = []
    for ch in text:
        o = ord(ch)
        if o < 0x20 or 0x7F <= o < 0xA0 or o in BIDI_CONTROLS or o in (0x2028, 0x2029):
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    file: str
    line: int
    path: str
    message: str
    severity: str = ERROR
    rule: str = ""

    @classmethod
    def at(
        cls, source: Source, message: str, *, path: str = "", severity: str = ERROR, rule: str = ""
    ) -> Problem:
        return cls(source.file, source.line, path or source.path, message, severity, rule)

    def __str__(self) -> str:
        """``file:line: path: message``; warnings say so before the message."""
        where = f"{self.file}:{self.line}" if self.line else (self.file or "<design>")
        prefix = "" if self.severity == ERROR else f"{self.severity}: "
        if self.file.startswith("--") and not self.path:  # a command-line option, not a file
            return one_line(f"{where}: {prefix}{self.message}")
        return one_line(f"{where}: {self.path or '<root>'}: {prefix}{self.message}")

    def to_dict(self) -> dict:
        """The JSON form: ``file``, ``line``, ``path``, ``message``, ``severity``, ``rule``."""
        return asdict(self)


def sort_key(p: Problem) -> tuple:
    return (p.file, p.line, p.path, p.message, p.severity, p.rule)


class DesignError(Exception):
    """Raised when input cannot be loaded; carries every problem found so far."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=sort_key)
        super().__init__("\n".join(str(p) for p in self.problems))


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == ERROR]


def warnings(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == WARNING]
