"""Problems found in a design: ``file:line: path: message``, as text or JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from fieldops.core.model import Source

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    file: str
    line: int
    path: str
    message: str
    severity: str = ERROR
    rule: str = ""

    @classmethod
    def at(cls, source: Source, message: str, *, path: str = "", severity: str = ERROR, rule: str = "") -> Problem:
        return cls(source.file, source.line, path or source.path, message, severity, rule)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else (self.file or "<design>")
        prefix = "" if self.severity == ERROR else f"{self.severity}: "
        return f"{where}: {self.path or '<root>'}: {prefix}{self.message}"

    def to_dict(self) -> dict:
        return asdict(self)


class DesignError(Exception):
    """Raised when input cannot be loaded; carries every problem found so far."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.path, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == ERROR]
