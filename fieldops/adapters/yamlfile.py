"""Read YAML with line numbers, and typed field access that reports ``file:line: path: message``.

Every loader goes through :func:`read_yaml` (size, encoding, syntax, nesting and expansion
limits) and :class:`Fields` (types, bounds, unknown keys, control characters), so bad input
never surfaces as a traceback.

The document is built from libyaml's event stream with an explicit stack: ~20x faster than
PyYAML's pure-Python composer (100,000 cables parse in ~2 s instead of ~35 s) and immune to
deep nesting (libyaml's own composer segfaults on ~100,000 nested brackets).
"""

from __future__ import annotations

import math
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from fieldops.adapters.safefiles import reason
from fieldops.core.model import Source
from fieldops.core.problems import BIDI_CONTROLS, WARNING, DesignError, Problem

MB = 1024 * 1024
MAX_FILE_BYTES = 20 * MB
MAX_NODES = 2_000_000  # guards against alias expansion bombs
MAX_DEPTH = 64  # design files nest 4-5 levels; anything deeper is not a design


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


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS = (None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_FLOAT12 = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+")
_NOKEY = object()
_MERGE_KEY = object()


class _Frame:
    __slots__ = ("obj", "is_map", "key", "key_line", "anchor", "start", "merges")

    def __init__(self, obj, is_map: bool, anchor, start: int):
        self.obj, self.is_map, self.anchor, self.start = obj, is_map, anchor, start
        self.key: Any = _NOKEY
        self.key_line = 0
        self.merges: list = []


class _Bad(Exception):
    """A value the builder refuses; _build adds the file, line and path."""


def _scalar(ev) -> Any:
    tag = ev.tag
    if tag is None or tag == "!":
        if not ev.implicit[0]:
            return ev.value  # quoted: always text
        tag = _RESOLVER.resolve(yaml.ScalarNode, ev.value, ev.implicit)
    if tag == _STR:
        if ev.tag is None and ev.implicit[0] and _FLOAT12.fullmatch(ev.value):
            return float(ev.value)  # YAML 1.2 floats such as 1e9 (YAML 1.1 wants 1.0e+9)
        return ev.value
    construct = _CONSTRUCTOR.yaml_constructors.get(tag)
    if construct is None or tag == _MERGE:
        raise _Bad(f"unsupported YAML tag '{tag}'")
    try:
        node = yaml.ScalarNode(tag, ev.value, ev.start_mark, ev.end_mark, ev.style)
        return construct(_CONSTRUCTOR, node)
    except Exception as exc:  # noqa: BLE001 - PyYAML's constructors raise IndexError/KeyError on bad explicit tags
        kind = tag.rsplit(":", 1)[-1]
        detail = (
            str(exc).splitlines()[0][:120]
            if isinstance(exc, (ValueError, yaml.YAMLError)) and str(exc)
            else ""
        )
        raise _Bad(
            f"bad {kind} value {ev.value[:40]!r}" + (f": {detail}" if detail else "")
        ) from None


def _stack_path(stack: list) -> str:
    parts = []
    for frame in stack:
        if frame.is_map:
            key = (
                frame.key
                if isinstance(frame.key, str)
                else ("<<" if frame.key is _MERGE_KEY else None)
            )
            if key is None:
                break
            parts.append(f".{key}" if parts else key)
        else:
            parts.append(f"[{len(frame.obj)}]")
    return "".join(parts)


def _build(text: str, file: str) -> Any:
    """Build LMap/LSeq/scalars from the parser's events with an explicit stack (no recursion).

    Aliases share the anchored value; their expanded size still counts towards ``MAX_NODES``,
    so an alias bomb is refused rather than walked by later code.
    """
    stack: list[_Frame] = []
    line = 0
    anchors: dict[str, tuple[Any, int]] = {}
    dup_keys: list[Problem] = []
    root: Any = None
    count = 0  # values built so far, aliases counted at their expanded size
    docs = 0

    def grow(n: int, line: int) -> None:
        nonlocal count
        count += n
        if count > MAX_NODES:
            raise _Bad(f"document expands to more than {MAX_NODES:,} values (alias bomb?)")

    def place(value: Any, line: int) -> None:
        nonlocal root
        if not stack:
            root = value
            return
        top = stack[-1]
        if not top.is_map:
            top.obj.append(value)
            top.obj.item_lines.append(line)
            return
        if top.key is _MERGE_KEY:
            items = value if isinstance(value, list) else [value]
            if not all(isinstance(m, dict) for m in items):
                raise _Bad("a merge key (<<) needs a mapping or a list of mappings")
            top.merges.extend(items)
        elif top.key in top.obj:
            first = top.obj.key_lines[top.key]
            dup_keys.append(
                Problem(
                    file,
                    top.key_line,
                    top.key,
                    f"duplicate key '{top.key}' (first at line {first})",
                )
            )
        else:
            top.obj[top.key] = value
            top.obj.key_lines[top.key] = top.key_line
        top.key = _NOKEY

    try:
        for ev in yaml.parse(text, Loader=_LOADER):
            kind = type(ev)
            line = ev.start_mark.line + 1 if ev.start_mark else 0
            if (
                stack
                and stack[-1].is_map
                and stack[-1].key is _NOKEY
                and kind is not yaml.MappingEndEvent
            ):
                top = stack[-1]
                top.key_line = line
                grow(1, line)
                if kind is yaml.ScalarEvent:
                    plain_merge = ev.value == "<<" and ev.implicit[0] and ev.tag is None
                    top.key = _MERGE_KEY if plain_merge else ev.value
                    continue
                if kind is yaml.AliasEvent and isinstance(
                    anchors.get(ev.anchor, (None, 0))[0], str
                ):
                    top.key = anchors[ev.anchor][0]
                    continue
                raise _Bad("mapping keys must be plain text")
            if kind is yaml.ScalarEvent:
                grow(1, line)
                value = _scalar(ev)
                if ev.anchor is not None:
                    anchors[ev.anchor] = (value, 1)
                place(value, line)
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                if ev.tag not in _COLLECTION_TAGS:
                    raise _Bad(f"unsupported YAML tag '{ev.tag}'")
                if len(stack) >= MAX_DEPTH:
                    raise _Bad(f"YAML nested deeper than {MAX_DEPTH} levels")
                grow(1, line)
                is_map = kind is yaml.MappingStartEvent
                obj = LMap() if is_map else LSeq()
                obj.line = line
                if is_map:
                    obj.key_lines = {}
                else:
                    obj.item_lines = []
                stack.append(_Frame(obj, is_map, ev.anchor, count))
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                frame = stack.pop()
                for merged in frame.merges:  # explicit keys win, then earlier merges
                    for k, v in merged.items():
                        if k not in frame.obj:
                            frame.obj[k] = v
                            frame.obj.key_lines[k] = merged.line_of(k)
                if frame.anchor is not None:
                    anchors[frame.anchor] = (frame.obj, count - frame.start + 1)
                place(frame.obj, frame.obj.line)
            elif kind is yaml.AliasEvent:
                if ev.anchor not in anchors:
                    raise _Bad(f"unknown or recursive alias '*{ev.anchor}'")
                value, size = anchors[ev.anchor]
                grow(size, line)
                place(value, line)
            elif kind is yaml.DocumentStartEvent:
                docs += 1
                if docs > 1:
                    raise _Bad("expected one YAML document, found a second one (---)")
    except _Bad as exc:
        raise DesignError([Problem(file, line, _stack_path(stack), str(exc))]) from None
    except yaml.reader.ReaderError as exc:
        where = text[: exc.position].count("\n") + 1 if isinstance(exc.position, int) else 0
        char = (
            exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or " ")
        )
        raise DesignError(
            [Problem(file, where, "", f"the control character U+{char:04X} is not allowed in YAML")]
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = mark.line + 1 if mark else 0
        raise DesignError(
            [Problem(file, where, "", f"YAML syntax error: {exc.problem or exc.context}")]
        ) from None
    except yaml.YAMLError as exc:
        raise DesignError([Problem(file, 0, "", f"YAML error: {str(exc)[:200]}")]) from None
    if dup_keys:
        raise DesignError(dup_keys)
    return root


def display_path(path: Path, base: Path | None = None) -> str:
    """``path`` relative to ``base`` (default: the working directory) where it lies inside it:
    as named when it was built from ``base`` (a link keeps its own name), else resolved."""
    if base is not None and ".." not in path.parts:
        try:
            return str(path.relative_to(base))
        except ValueError:
            pass
    try:
        return str(path.resolve().relative_to((base or Path.cwd()).resolve()))
    except (ValueError, OSError, RuntimeError):  # outside, unreadable, a symlink loop
        return str(path)


def read_text(path: Path, label: str | None = None, max_bytes: int = MAX_FILE_BYTES) -> str:
    """Read a UTF-8 text file, refusing missing, oversized, special or non-UTF-8 files."""
    label = label or str(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DesignError([Problem(label, 0, "", "file not found")]) from None
    except (OSError, ValueError) as exc:
        raise DesignError([Problem(label, 0, "", f"cannot read: {reason(exc)}")]) from None
    if stat.S_ISDIR(st.st_mode):
        raise DesignError([Problem(label, 0, "", "is a directory, expected a file")])
    if not stat.S_ISREG(st.st_mode):
        raise DesignError([Problem(label, 0, "", "is not a regular file")])
    if st.st_size > max_bytes:
        raise DesignError(
            [
                Problem(
                    label,
                    0,
                    "",
                    f"file is {st.st_size / MB:.1f} MB, over the {max_bytes / MB:g} MB limit",
                )
            ]
        )
    try:
        with path.open("rb") as fh:
            raw = fh.read(max_bytes + 1)
    except (OSError, ValueError) as exc:
        raise DesignError([Problem(label, 0, "", f"cannot read: {reason(exc)}")]) from None
    if len(raw) > max_bytes:  # grew while we looked
        raise DesignError([Problem(label, 0, "", f"file is over the {max_bytes / MB:g} MB limit")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DesignError(
            [
                Problem(
                    label,
                    line,
                    "",
                    f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                )
            ]
        ) from None


def parse_yaml(text: str, label: str) -> Any:
    """Parse one YAML document into LMap/LSeq/scalars, raising DesignError on any problem."""
    return _build(text, label)


def read_yaml(path: Path, label: str | None = None) -> Any:
    label = label or display_path(path)
    return parse_yaml(read_text(path, label), label)


# ---------------------------------------------------------------- text hygiene


def bad_char(text: str) -> str | None:
    """The first control, line-break or bidi-override character in ``text``, if any.

    Names end up on one-line problem reports, printed labels and QR codes: a newline or a
    right-to-left override in a rack name would forge or garble them.
    """
    if text.isascii() and text.isprintable():
        return None
    for ch in text:
        o = ord(ch)
        if o < 0x20 or 0x7F <= o < 0xA0 or o in BIDI_CONTROLS or o in (0x2028, 0x2029):
            return f"U+{o:04X}"
    return None


# ---------------------------------------------------------------- typed fields

_MISSING = object()


class Fields:
    """Typed access to one YAML mapping, collecting problems instead of raising.

    >>> f = Fields(data, "hall.yaml", "racks[0]", problems)
    >>> f.int("u_height", default=42, low=1, high=60)
    """

    def __init__(self, data: Any, file: str, path: str, problems: list[Problem], line: int = 0):
        self.file, self.path, self.problems = file, path, problems
        self.not_a_mapping = not isinstance(data, dict)
        if isinstance(data, dict):
            self.data = data
            self.line = getattr(data, "line", line)
        else:
            self.data = {}
            self.line = getattr(data, "line", line)
            self.problems.append(
                Problem(file, self.line, path, f"expected a mapping, got {describe(data)}")
            )
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
            if required and default is _MISSING and not self.not_a_mapping:
                self.error(None, f"missing required field '{key}'")
            return _MISSING
        return self.data[key]

    # -- typed
    def str(
        self,
        key: str,
        default: Any = _MISSING,
        *,
        required: bool = True,
        choices: tuple | None = None,
        max_len: int = 200,
    ) -> Any:
        v = self._get(key, default, required)
        if v is _MISSING:
            return None if default is _MISSING else default
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            self.error(key, f"expected text, got {describe(v)}")
            return None if default is _MISSING else default
        v = str(v)
        bad = bad_char(v)
        if bad:
            self.error(
                key, f"text contains the control character {bad}; use one line of printable text"
            )
            return None if default is _MISSING else default
        if len(v) > max_len:
            self.error(key, f"text is {len(v)} characters, over the {max_len} limit")
            return None if default is _MISSING else default
        if choices and v not in choices:
            self.error(key, f"'{v}' is not one of: {', '.join(choices)}")
            return None if default is _MISSING else default
        return v

    def number(
        self,
        key: str,
        default: Any = _MISSING,
        *,
        required: bool = True,
        low: float | None = None,
        high: float | None = None,
        integer: bool = False,
    ) -> Any:
        v = self._get(key, default, required)
        if v is _MISSING:
            return None if default is _MISSING else default
        bad = None if default is _MISSING else default
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.error(key, f"expected a number, got {describe(v)}")
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
            self.error(key, f"expected true or false, got {describe(v)}")
            return None if default is _MISSING else default
        return v

    def list(self, key: str, *, required: bool = False, max_items: int = 1_000_000) -> list:
        v = self._get(key, _MISSING, required)
        if v is _MISSING:
            return LSeq()
        if not isinstance(v, list):
            self.error(key, f"expected a list, got {describe(v)}")
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
            self.error(key, f"expected a mapping, got {describe(v)}")
            return LMap()
        return v

    def point(
        self, key: str, *, required: bool = True, value: Any = _MISSING
    ) -> tuple[int, int] | None:
        v = self._get(key, _MISSING, required) if value is _MISSING else value
        if v is _MISSING:
            return None
        return to_point(v, lambda msg: self.error(key, msg))

    def polygon(
        self, key: str, *, min_points: int = 3, required: bool = True
    ) -> tuple[tuple[int, int], ...]:
        items = self.list(key, required=required, max_items=100_000)
        pts = []
        for i, item in enumerate(items):
            p = to_point(
                item,
                lambda msg, i=i: self.problems.append(
                    Problem(self.file, item_line(items, i, self.line), f"{self.sub(key)}[{i}]", msg)
                ),
            )
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
            yield Fields(
                item,
                self.file,
                f"{self.sub(key)}[{i}]",
                self.problems,
                line=item_line(items, i, self.line),
            )

    def unknown(self, allowed: set[str] | None = None) -> None:
        """Warn about keys nobody read (typos such as ``u_heigth``)."""
        known = self.used | (allowed or set())
        for key in self.data:
            if key not in known:
                self.warn(key, f"unknown field '{key}' (ignored)")


def item_line(items: Any, index: int, default: int) -> int:
    """The line of ``items[index]`` when ``items`` came from YAML, else ``default``."""
    lo = getattr(items, "line_of", None)
    return lo(index) if lo else default


def to_point(v: Any, report: Callable[[str], None]) -> tuple[int, int] | None:
    """A floor point from ``[x, y]`` or ``{x:, y:}`` in mm, rounded to whole mm."""
    if isinstance(v, dict):
        v = [v.get("x"), v.get("y")]
    if not isinstance(v, list) or len(v) != 2:
        report(f"expected a point [x, y] in mm, got {describe(v)}")
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


def describe(v: Any) -> str:
    """A short description of a wrong value, for 'expected X, got Y' messages."""
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
