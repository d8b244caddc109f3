"""A minimal PDF writer that streams pages to disk: memory stays flat however many pages.

reportlab keeps every page's content stream in memory until ``save()`` (measured in
``benchmarks/bench_pdf.py``), which is fine for cut sheets but not for 200,000 labels. Label
sheets only need rectangles and the standard Helvetica fonts, so they are written here: each
page's content is compressed and written as soon as it is complete; only object offsets stay
in memory. The output is deterministic (no dates, a fixed document ID derived from the content).
"""

from __future__ import annotations

import hashlib
import os
import zlib
from array import array
from pathlib import Path

FONTS = {"F1": "Helvetica", "F2": "Helvetica-Bold"}
_ESCAPE = str.maketrans({"\\": "\\\\", "(": "\\(", ")": "\\)", "\r": " ", "\n": " "})


def pdf_string(text: str) -> str:
    """A PDF literal string (WinAnsi text; callers pass printable ASCII)."""
    return "(" + text.translate(_ESCAPE) + ")"


class StreamingPdf:
    """Write pages one at a time; ``close()`` writes the page tree, xref and trailer.

    Object 1 is the catalogue, 2 the page tree, 3.. the fonts; pages follow. Written to
    ``path.part`` and renamed on :meth:`close`, so a failure never leaves a half-written file.
    """

    def __init__(self, path: str | Path, *, title: str = "", compress: bool = True):
        self.path = Path(path)
        self.part = self.path.with_name(self.path.name + ".part")
        self.title = title
        self.compress = compress
        self._fh = open(self.part, "wb")  # noqa: SIM115 - closed in close()/abort()
        self._offsets = array("q", [0])  # object number -> byte offset (0 = unused)
        self._kids = array("q")
        self._hash = hashlib.sha256()
        self._pos = 0
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        self._next = 3 + len(FONTS)
        self._offsets.extend([0] * (self._next - 1))

    def _write(self, data: bytes) -> None:
        self._fh.write(data)
        self._hash.update(data)
        self._pos += len(data)

    def _obj(self, num: int, body: bytes) -> None:
        while len(self._offsets) <= num:
            self._offsets.append(0)
        self._offsets[num] = self._pos
        self._write(b"%d 0 obj\n" % num + body + b"\nendobj\n")

    def _new(self) -> int:
        num = self._next
        self._next += 1
        return num

    @property
    def pages(self) -> int:
        return len(self._kids)

    def add_page(
        self, width_pt: float, height_pt: float, content: str | bytes, *, deflated: bool = False
    ) -> None:
        """Append a page whose content stream is ``content`` (PDF operators, Latin-1);
        ``deflated``: ``content`` is already the output of :func:`deflate`."""
        stream_num, page_num = self._new(), self._new()
        if deflated:
            data = content
            head = b"<< /Length %d /Filter /FlateDecode >>" % len(data)
        elif self.compress:
            data = deflate(content)
            head = b"<< /Length %d /Filter /FlateDecode >>" % len(data)
        else:
            data = content.encode("latin-1", "replace") if isinstance(content, str) else content
            head = b"<< /Length %d >>" % len(data)
        self._obj(stream_num, head + b"\nstream\n" + data + b"\nendstream")
        fonts = b" ".join(b"/%s %d 0 R" % (k.encode(), 3 + i) for i, k in enumerate(FONTS))
        self._obj(
            page_num,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources << /Font << %s >> /ProcSet [/PDF /Text] >> /Contents %d 0 R >>"
            % (_num(width_pt), _num(height_pt), fonts, stream_num),
        )
        self._kids.append(page_num)

    def close(self) -> Path:
        for i, base in enumerate(FONTS.values()):
            self._obj(
                3 + i,
                b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>"
                % base.encode(),
            )
        kids = b" ".join(b"%d 0 R" % k for k in self._kids)
        self._obj(2, b"<< /Type /Pages /Count %d /Kids [%s] >>" % (len(self._kids), kids))
        self._obj(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        info = self._new()
        self._obj(
            info,
            b"<< /Producer (fieldops) /Title %s >>"
            % pdf_string(self.title).encode("latin-1", "replace"),
        )
        xref_at = self._pos
        lines = [b"xref\n0 %d\n" % len(self._offsets), b"0000000000 65535 f \n"]
        lines += [b"%010d 00000 n \n" % off for off in self._offsets[1:]]
        doc_id = self._hash.hexdigest()[:32].encode()
        lines.append(
            b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(self._offsets), info, doc_id, doc_id, xref_at)
        )
        self._write(b"".join(lines))
        self._fh.close()
        os.replace(self.part, self.path)
        return self.path

    def abort(self) -> None:
        self._fh.close()
        self.part.unlink(missing_ok=True)

    def __enter__(self) -> StreamingPdf:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()


def deflate(content: str) -> bytes:
    """A page content stream, compressed (zlib level 6: deterministic for the same input)."""
    return zlib.compress(content.encode("latin-1", "replace"), 6)


def _num(v: float) -> bytes:
    return (f"{v:.3f}".rstrip("0").rstrip(".")).encode()
