"""QR symbols for labels and cut sheets: encode once, draw as rectangles under one transform.

The encoder is chosen by measurement (``benchmarks/bench_pdf.py``, ``docs/printing.md``):

* ``zxing`` — zxing-cpp's C++ encoder: the specification's mask selection and the smallest
  mode/version, ~0.13 ms per symbol including the module matrix (~35x faster than ``qrcode``
  with the specification's mask search, ~1.6x faster than ``qrcode`` with a fixed mask).
* ``qrcode`` — the pure-Python fallback when zxing-cpp is not installed: same error-correction
  level, the specification's automatic mask (slow, ~4 ms per symbol, but standard).

Both give error correction level M. Cable payloads (``C-4K7Q2M9/A``) are upper-case
alphanumeric, so both encoders use the alphanumeric mode and reach version 1 (21 x 21 modules).

A symbol is drawn as one PDF path: one ``re`` operator per horizontal run of dark modules, in
module units, placed by a single ``cm`` transform (see :func:`pdf_ops`). No quiet zone is part
of the drawing; layouts keep a 4-module white margin around each symbol.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from fieldops.core.labels import qr_payload  # noqa: F401 - re-exported: the one payload format

QUIET_ZONE = 4  # modules of white space the standard asks for around a symbol

try:  # pragma: no cover - which branch runs depends on the installation
    import zxingcpp as _zx

    ENCODER = "zxing"
except ImportError:  # pragma: no cover
    _zx = None
    ENCODER = "qrcode"


@dataclass(frozen=True, slots=True)
class QrSymbol:
    """An encoded QR symbol: ``size`` x ``size`` modules, ``rows[y]`` a string of '1'/'0' (top row first)."""

    payload: str
    size: int
    rows: tuple[str, ...]
    ops: str  # PDF path operators in module units, y up, origin at the symbol's bottom-left

    def dark(self, x: int, y: int) -> bool:
        return self.rows[y][x] == "1"


_DARK = bytes((0x31 if b < 128 else 0x30) for b in range(256))  # grey byte -> '1' dark / '0' light


def _matrix_zxing(payload: str) -> list[str]:
    barcode = _zx.create_barcode(payload, _zx.BarcodeFormat.QRCode, ec_level="M")
    img = barcode.to_image(scale=1, add_quiet_zones=False)
    view = memoryview(img)  # 8-bit greyscale, 0 = dark
    h, w = view.shape
    raw = view.tobytes().translate(_DARK).decode("ascii")
    return [raw[i * w : (i + 1) * w] for i in range(h)]


def _matrix_qrcode(payload: str) -> list[str]:
    import qrcode

    q = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    q.add_data(payload, optimize=0)
    q.make(fit=True)
    return ["".join("1" if m else "0" for m in row) for row in q.modules]


_RUN = re.compile("1+")
_ROWS: dict[tuple[int, str], str] = {}


def _row_ops(py: int, row: str) -> str:
    key = (py, row)
    ops = _ROWS.get(key)
    if ops is None:
        if len(_ROWS) > 50_000:
            _ROWS.clear()
        ops = _ROWS[key] = "".join(
            f"{m.start()} {py} {m.end() - m.start()} 1 re\n" for m in _RUN.finditer(row)
        )
    return ops


def _runs_ops(rows: list[str]) -> str:
    """One ``x y w 1 re`` per horizontal run of dark modules (PDF y axis points up)."""
    n = len(rows)
    return "".join([_row_ops(n - 1 - y, row) for y, row in enumerate(rows)]) + "f"


def encode(payload: str, *, encoder: str | None = None) -> QrSymbol:
    """Encode ``payload`` (error correction M) into a :class:`QrSymbol`."""
    if not payload:
        raise ValueError("a QR payload must not be empty")
    which = encoder or ENCODER
    if which == "zxing":
        if _zx is None:
            raise ValueError("the zxing encoder needs the zxing-cpp package")
        rows = _matrix_zxing(payload)
    elif which == "qrcode":
        rows = _matrix_qrcode(payload)
    else:
        raise ValueError(f"unknown QR encoder '{which}' (zxing or qrcode)")
    return QrSymbol(payload, len(rows), tuple(rows), _runs_ops(rows))


@lru_cache(maxsize=4096)
def cached(payload: str) -> QrSymbol:
    """:func:`encode` with a small cache: a cut sheet and its label sheet share codes."""
    return encode(payload)


def pdf_ops(symbol: QrSymbol, x: float, y: float, side: float) -> str:
    """PDF operators that draw ``symbol`` filling a ``side`` x ``side`` square at (x, y) (points).

    Saves and restores the graphics state and fills in black.
    """
    s = side / symbol.size
    return f"q 0 g {s:.4f} 0 0 {s:.4f} {x:.3f} {y:.3f} cm\n{symbol.ops}\nQ"


def module_side(symbol: QrSymbol, box: float) -> float:
    """The symbol side (points) that fits a ``box`` square together with its quiet zone."""
    return box * symbol.size / (symbol.size + 2 * QUIET_ZONE)
