"""Read YAML with line numbers, and typed field access that reports ``file:line: path: message``.

Every loader goes through :func:`read_yaml` (size, encoding, syntax and expansion limits) and
:class:`Fields` (types, bounds, unknown keys), so bad input never surfaces as a traceback.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import yaml

from fieldops.core.model import Source
from fieldops.core.problems import WARNING, DesignError, Problem

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_NODES = 2_000_000  # guards against alias expansion bombs


class LMap(dict):
    """A dict that remembers the line of each key (1-based)."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LSeq(list):
    """A list that remembers the line of each item (1-based)."""

    line: int = 0
    item_lines: list

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


class _Builder:
    def __init__(self, file: str):
        self.file = file
        self.count = 0
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise DesignError([Problem(self.file, node.start_mark.line + 1, "", f"document expands to more than {MAX_NODES:,} values (alias bomb?)")])
        if isinstance(node, yaml.MappingNode):
            out = LMap()
            out.line = node.start_mark.line + 1
            out.key_lines = {}
            self.constructor.flatten_mapping(node)
            for key_node, value_node in node.value:
                key = self.build(key_node)
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    raise DesignError([Problem(self.file, key_node.start_mark.line + 1, "", "mapping keys must be plain scalars")])
                key = str(key) if not isinstance(key, str) else key
                if key in out:
                    raise DesignError([Problem(self.file, key_node.start_mark.line + 1, key, "duplicate key")])
                out[key] = self.build(value_node)
                out.key_lines[key] = key_node.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            seq = LSeq()
            seq.line = node.start_mark.line + 1
            seq.item_lines = []
            for item in node.value:
                seq.append(self.build(item))
                seq.item_lines.append(item.start_mark.line + 1)
            return seq
        try:
            return self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            raise DesignError([Problem(self.file, node.start_mark.line + 1, "", f"bad value: {exc}")]) from None


def display_path(path: Path, base: Path | None = None) -> str:
    try:
        return str(path.resolve().relative_to((base or Path.cwd()).resolve()))
    except ValueError:
        return str(path)


def read_text(path: Path, label: str | None = None, max_bytes: int = MAX_FILE_BYTES) -> str:
    """Read a UTF-8 text file, refusing missing, oversized or non-UTF-8 files with a Problem."""
    label = label or str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DesignError([Problem(label, 0, "", "file not found")]) from None
    except OSError as exc:
        raise DesignError([Problem(label, 0, "", f"cannot read: {exc.strerror}")]) from None
    if path.is_dir():
        raise DesignError([Problem(label, 0, "", "is a directory, expected a file")])
    if size > max_bytes:
        raise DesignError([Problem(label, 0, "", f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit")])
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DesignError([Problem(label, line, "", f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})")]) from None


def parse_yaml(text: str, label: str) -> Any:
    """Parse one YAML document into LMap/LSeq/scalars, raising DesignError on any problem."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise DesignError([Problem(label, line, "", f"YAML syntax error: {exc.problem or exc.context}")]) from None
    except yaml.YAMLError as exc:
        raise DesignError([Problem(label, 0, "", f"YAML error: {exc}")]) from None
    except RecursionError:
        raise DesignError([Problem(label, 0, "", "YAML nesting too deep")]) from None
    if node is None:
        return None
    try:
        return _Builder(label).build(node)
    except RecursionError:
        raise DesignError([Problem(label, 0, "", "YAML nesting too deep")]) from None


def read_yaml(path: Path, label: str | None = None) -> Any:
    label = label or display_path(path)
    return parse_yaml(read_text(path, label), label)


# ---------------------------------------------------------------- typed fields

_MISSING = object()


class Fields:
    """Typed access to one YAML mapping, collecting problems instead of raising.

    >>> f = Fields(data, "hall.yaml", "racks[0]", problems)
    >>> f.int("u_height", default=42, low=1, high=60)
    """

    def __init__(self, data: Any, file: str, path: str, problems: list[Problem], line: int = 0):
        self.file, self.path, self.problems = file, path, problems
        if isinstance(data, dict):
            self.data = data
            self.line = getattr(data, "line", line)
        else:
            self.data = {}
            self.line = getattr(data, "line", line)
            self.problems.append(Problem(file, self.line, path, f"expected a mapping, got {_kind(data)}"))
        self.used: set[str] = set()

    # -- where
    def sub(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def line_of(self, key: str) -> int:
        lm = getattr(self.data, "line_of", None)
        return lm(key) if lm else self.line

    def source(self, key: str | None = None) -> Source:
        if key is None:
            return Source(self.file, self.line, self.path)
        return Source(self.file, self.line_of(key), self.sub(key))

    def error(self, key: str | None, message: str, severity: str = "error") -> None:
        src = self.source(key)
        self.problems.append(Problem(src.file, src.line, src.path, message, severity))

    def warn(self, key: str | None, message: str) -> None:
        self.error(key, message, WARNING)

    # -- raw
    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return self.data.get(key, default)

    def _get(self, key: str, default: Any, required: bool) -> Any:
        self.used.add(key)
        if key not in self.data or self.data[key] is None:
            if required and default is _MISSING:
                self.error(None, f"missing required field '{key}'")
            return _MISSING
        return self.data[key]

    # -- typed
    def str(self, key: str, default: Any = _MISSING, *, required: bool = True, choices: tuple | None = None, max_len: int = 200) -> Any:
        v = self._get(key, default, required)
        if v is _MISSING:
            return None if default is _MISSING else default
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            self.error(key, f"expected text, got {_kind(v)}")
            return None if default is _MISSING else default
        v = str(v)
        if len(v) > max_len:
            self.error(key, f"text is {len(v)} characters, over the {max_len} limit")
            return None if default is _MISSING else default
        if choices and v not in choices:
            self.error(key, f"'{v}' is not one of: {', '.join(choices)}")
            return None if default is _MISSING else default
        return v

    def number(self, key: str, default: Any = _MISSING, *, required: bool = True, low: float | None = None, high: float | None = None, integer: bool = False) -> Any:
        v = self._get(key, default, required)
        if v is _MISSING:
            return None if default is _MISSING else default
        bad = None if default is _MISSING else default
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.error(key, f"expected a number, got {_kind(v)}")
            return bad
        if isinstance(v, float) and not math.isfinite(v):
            self.error(key, f"expected a finite number, got {v}")
            return bad
        if integer and isinstance(v, float):
            if not v.is_integer():
                self.error(key, f"expected a whole number, got {v}")
                return bad
            v = int(v)
        if low is not None and v < low:
            self.error(key, f"{v} is below the minimum {low:g}")
            return bad
        if high is not None and v > high:
            self.error(key, f"{v} is above the maximum {high:g}")
            return bad
        return v

    def int(self, key: str, default: Any = _MISSING, **kw) -> Any:
        return self.number(key, default, integer=True, **kw)

    def bool(self, key: str, default: Any = _MISSING, *, required: bool = True) -> Any:
        v = self._get(key, default, required)
        if v is _MISSING:
            return None if default is _MISSING else default
        if not isinstance(v, bool):
            self.error(key, f"expected true or false, got {_kind(v)}")
            return None if default is _MISSING else default
        return v

    def list(self, key: str, *, required: bool = False, max_items: int = 1_000_000) -> list:
        v = self._get(key, _MISSING, required)
        if v is _MISSING:
            return LSeq()
        if not isinstance(v, list):
            self.error(key, f"expected a list, got {_kind(v)}")
            return LSeq()
        if len(v) > max_items:
            self.error(key, f"{len(v):,} items, over the {max_items:,} limit")
            return LSeq()
        return v

    def map(self, key: str, *, required: bool = False) -> dict:
        v = self._get(key, _MISSING, required)
        if v is _MISSING:
            return LMap()
        if not isinstance(v, dict):
            self.error(key, f"expected a mapping, got {_kind(v)}")
            return LMap()
        return v

    def point(self, key: str, *, required: bool = True, value: Any = _MISSING) -> tuple[int, int] | None:
        v = self._get(key, _MISSING, required) if value is _MISSING else value
        if v is _MISSING:
            return None
        return to_point(v, lambda msg: self.error(key, msg))

    def polygon(self, key: str, *, min_points: int = 3, required: bool = True) -> tuple[tuple[int, int], ...]:
        items = self.list(key, required=required, max_items=100_000)
        pts = []
        for i, item in enumerate(items):
            p = to_point(item, lambda msg, i=i: self.problems.append(Problem(self.file, _line(items, i, self.line), f"{self.sub(key)}[{i}]", msg)))
            if p is None:
                return ()
            pts.append(p)
        if items and len(pts) < min_points:
            self.error(key, f"needs at least {min_points} points, got {len(pts)}")
            return ()
        return tuple(pts)

    def each(self, key: str, *, required: bool = False, max_items: int = 1_000_000):
        """Yield a Fields for every mapping in the list under ``key``."""
        items = self.list(key, required=required, max_items=max_items)
        for i, item in enumerate(items):
            yield Fields(item, self.file, f"{self.sub(key)}[{i}]", self.problems, line=_line(items, i, self.line))

    def unknown(self, allowed: set[str] | None = None) -> None:
        """Warn about keys nobody read (typos such as ``u_heigth``)."""
        known = self.used | (allowed or set())
        for key in self.data:
            if key not in known:
                self.warn(key, f"unknown field '{key}' (ignored)")


def _line(items: Any, index: int, default: int) -> int:
    lo = getattr(items, "line_of", None)
    return lo(index) if lo else default


def to_point(v: Any, report: Callable[[str], None]) -> tuple[int, int] | None:
    """A floor point from ``[x, y]`` or ``{x:, y:}`` in mm, rounded to whole mm."""
    if isinstance(v, dict):
        v = [v.get("x"), v.get("y")]
    if not isinstance(v, list) or len(v) != 2:
        report(f"expected a point [x, y] in mm, got {_kind(v)}")
        return None
    out = []
    for c in v:
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c):
            report(f"expected a point [x, y] of finite numbers, got {c!r}")
            return None
        if abs(c) > 10_000_000:
            report(f"coordinate {c} mm is beyond 10 km")
            return None
        out.append(int(round(c)))
    return (out[0], out[1])


def _kind(v: Any) -> str:
    if v is None:
        return "nothing"
    if isinstance(v, bool):
        return f"boolean {v}"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, str):
        return f"text '{v[:40]}'"
    return f"{type(v).__name__} {v!r}"[:60]
