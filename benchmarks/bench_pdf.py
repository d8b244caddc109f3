"""Benchmark the PDF path: QR encoders, label sheets at scale, cut sheets.

    .venv/bin/python benchmarks/bench_pdf.py [--cables 100000] [--quick]

Prints symbols/s per QR encoder, then for labels.pdf (100,000 cables = 200,000 cable-end labels)
and cut sheets: seconds, CPU seconds, pages/s, MB per 1,000 pages and peak RSS, with the load
average. Each PDF run is a fresh child process so its peak RSS is its own (flat memory shows as
the same peak at 10x the cables). Labels are compared with their ceiling measured in the same
run (../shared/BASELINES.md): zxing-cpp encoding of the same payloads plus their module
matrices written as integer rectangle operators, the least any QR label sheet must do.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def payloads(n):
    from fieldops.core.labels import hash_id

    return [f"{hash_id(str(i))}/{'AB'[i % 2]}" for i in range(n)]


def bench_encoders(n: int) -> list[tuple[str, float]]:
    import qrcode
    import zxingcpp
    from qrcode.util import MODE_ALPHA_NUM, QRData

    from fieldops.adapters.pdf import qr

    ps = payloads(n)

    def qrcode_auto(p):
        q = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
        q.add_data(p)
        q.make(fit=True)
        return q.modules

    def qrcode_fixed(p):
        q = qrcode.QRCode(
            version=1, error_correction=qrcode.constants.ERROR_CORRECT_M, border=0, mask_pattern=0
        )
        q.add_data(QRData(p, mode=MODE_ALPHA_NUM))
        q.make(fit=False)
        return q.modules

    def zxing_raw(p):
        return zxingcpp.create_barcode(p, zxingcpp.BarcodeFormat.QRCode, ec_level="M")

    rows = []
    for name, fn, k in (
        ("qrcode, automatic mask (spec)", qrcode_auto, max(50, n // 20)),
        ("qrcode, fixed version 1 + mask 0", qrcode_fixed, n),
        ("zxing-cpp create_barcode (spec mask)", zxing_raw, n),
        (
            "fieldops qr.encode (zxing + matrix + PDF ops)",
            lambda p: qr.encode(p, encoder="zxing"),
            n,
        ),
        (
            "fieldops qr.encode (qrcode fallback + PDF ops)",
            lambda p: qr.encode(p, encoder="qrcode"),
            max(50, n // 20),
        ),
    ):
        t0 = time.perf_counter()
        for p in ps[:k]:
            fn(p)
        dt = time.perf_counter() - t0
        rows.append((name, k / dt))
    sym = qr.encode(ps[0])
    t0 = time.perf_counter()
    for _ in range(n):
        qr.pdf_ops(sym, 10.0, 20.0, 30.0)
    rows.append(
        ("drawing ops for a known matrix (one cm + re runs)", n / (time.perf_counter() - t0))
    )
    return rows


def cpu_s() -> float:
    """CPU seconds of this process and its finished children (label workers)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def child_ceiling(n: int) -> dict:
    """The labels' ceiling: zxing-cpp encodes ``2 n`` cable payloads and their module
    matrices become integer rectangle operators (one ``re`` per dark run), no text, no file."""
    from fieldops.adapters.pdf import qr

    ps = payloads(2 * n)
    t0, c0 = time.perf_counter(), cpu_s()
    total = 0
    for p in ps:
        total += len(qr._runs_ops(qr._matrix_zxing(p)))
    return {
        "what": f"ceiling: zxing encode + rectangles, {2 * n:,} symbols",
        "seconds": time.perf_counter() - t0,
        "cpu": cpu_s() - c0,
        "pages": 1,
        "symbols": 2 * n,
        "mb": 0.0,
        "rss_mb": peak_rss_mb(),
        "bytes": total,
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_plan(n: int):
    from fieldops.core.cableplan import CableEnd, CablePlan, CableRun
    from fieldops.core.labels import hash_id

    runs = []
    for i in range(n):
        a = CableEnd(
            f"gpu-{i // 8:05d}",
            f"eth{i % 8}",
            f"R{i // 64:04d}",
            f"1A-A{i // 64 % 100:02d}",
            2 + i % 38,
            "rear",
            "",
        )
        b = CableEnd(
            f"leaf-{i // 512:03d}",
            f"swp{i % 64 + 1}",
            f"N{i // 4096:03d}",
            f"1B-C{i // 4096 % 100:02d}",
            40,
            "rear",
            "",
        )
        runs.append(CableRun(hash_id(f"c{i}"), a, b, "aoc", "fibre", 1.0, 1.0, 5000, "AOC-5M"))
    return CablePlan(tuple(runs))


def tiny_design(root: Path, *, devices: int = 0):
    from fieldops.adapters.designfile import load_design
    from tests.samples import tiny_devices, tiny_floorplan, write_design

    devs = tiny_devices() + [
        {
            "name": f"node-{k:02d}",
            "device_type": "test-server-1u",
            "rack": "R01",
            "position": 11 + k,
        }
        for k in range(devices)
    ]
    cables = [
        {"a": f"node-{k:02d}:eth0", "b": f"sw1:swp{k + 3}", "media": "cat6a"}
        for k in range(min(devices, 14))
    ]
    cables += [
        {"a": "srv1:eth0", "b": "sw1:swp1", "media": "cat6a"},
        {"a": "srv2:eth0", "b": "sw1:swp2", "media": "cat6a"},
    ]
    return load_design(write_design(root, tiny_floorplan(), devs, cables)).design


def child_labels(n: int, stock: str) -> dict:
    from fieldops.adapters.pdf import write_labels
    from fieldops.adapters.pdf.labelstock import get_stock

    with tempfile.TemporaryDirectory() as tmp:
        design = tiny_design(Path(tmp) / "d")
        t0 = time.perf_counter()
        plan = synthetic_plan(n)
        t_plan = time.perf_counter() - t0
        rss_plan = peak_rss_mb()
        t0, c0 = time.perf_counter(), cpu_s()
        path = write_labels(Path(tmp) / "labels.pdf", design, plan, stock=stock)
        dt = time.perf_counter() - t0
        cpu = cpu_s() - c0
        labels = 2 * n + len(design.devices) + len(design.floorplan.racks)
        pages = -(-labels // get_stock(stock).per_page)
        size = path.stat().st_size
    return {
        "what": f"labels.pdf, {n:,} cables on {stock}",
        "seconds": dt,
        "cpu": cpu,
        "pages": pages,
        "symbols": labels,
        "mb": size / 1e6,
        "rss_mb": peak_rss_mb(),
        "rss_plan_mb": rss_plan,
        "t_plan": t_plan,
    }


def child_cutsheet(devices: int, repeat: int) -> dict:
    import pypdfium2 as pdfium

    from fieldops.adapters.pdf import write_cutsheets
    from fieldops.adapters.pdf.cutsheet import frame_size  # noqa: F401 - imported to warm up
    from tests.integration.test_pdf_support import make_plan, make_work

    with tempfile.TemporaryDirectory() as tmp:
        design = tiny_design(Path(tmp) / "d", devices=devices)
        plan = make_plan(design)
        work = make_work(design, plan)
        if repeat > 1:  # one long work order: the steps repeated under new IDs
            import dataclasses

            steps = tuple(
                dataclasses.replace(s, id=f"{s.id}-{k}") for k in range(repeat) for s in work.steps
            )
            wo = dataclasses.replace(work.workorders[0], steps=tuple(s.id for s in steps))
            work = dataclasses.replace(work, steps=steps, workorders=(wo,))
        write_cutsheets(Path(tmp) / "warm.pdf", design, plan, work) if repeat == 1 else None
        t0, c0 = time.perf_counter(), cpu_s()
        path = write_cutsheets(Path(tmp) / "cut.pdf", design, plan, work)
        dt = time.perf_counter() - t0
        cpu = cpu_s() - c0
        pages = len(pdfium.PdfDocument(str(path)))
        size = path.stat().st_size
    return {
        "what": f"cutsheets.pdf, one rack, {len(work.steps):,} steps",
        "seconds": dt,
        "cpu": cpu,
        "pages": pages,
        "symbols": len(work.steps),
        "mb": size / 1e6,
        "rss_mb": peak_rss_mb(),
    }


def child_reportlab_labels(pages: int) -> dict:
    """The same label pages through reportlab's canvas, for the memory comparison."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    from fieldops.adapters.pdf import qr

    with tempfile.TemporaryDirectory() as tmp:
        c = canvas.Canvas(
            str(Path(tmp) / "rl.pdf"),
            pagesize=(215.9 * mm, 279.4 * mm),
            invariant=1,
            pageCompression=1,
        )
        ps = payloads(pages * 42)
        t0 = time.perf_counter()
        for p in range(pages):
            for k in range(42):
                sym = qr.encode(ps[p * 42 + k])
                c.addLiteral(qr.pdf_ops(sym, 30 + (k % 7) * 79, 60 + (k // 7) * 108, 26))
                c.setFont("Helvetica", 5)
                c.drawString(60 + (k % 7) * 79, 80 + (k // 7) * 108, ps[p * 42 + k])
            c.showPage()
        rss_before_save = peak_rss_mb()
        c.save()
        dt = time.perf_counter() - t0
    return {
        "what": f"reportlab canvas, {pages:,} label pages",
        "seconds": dt,
        "pages": pages,
        "symbols": pages * 42,
        "mb": 0.0,
        "rss_mb": peak_rss_mb(),
        "rss_before_save": rss_before_save,
    }


def run_child(*args) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--cables", type=int, default=100_000, help="cables for the big label run (default 100,000)"
    )
    ap.add_argument(
        "--quick", action="store_true", help="smaller runs (10,000 cables, 2,000 symbols)"
    )
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "labels":
            result = child_labels(int(rest[0]), rest[1])
        elif kind == "cutsheet":
            result = child_cutsheet(int(rest[0]), int(rest[1]))
        elif kind == "ceiling":
            result = child_ceiling(int(rest[0]))
        else:
            result = child_reportlab_labels(int(rest[0]))
        print(json.dumps(result))
        return
    big = 10_000 if args.quick else args.cables
    n_sym = 2_000 if args.quick else 10_000
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {load()}\n")
    print(f"QR encoding ({n_sym:,} cable payloads like C-4K7Q2M9/A, level M, version 1)")
    print(f"  {'path':52s} {'symbols/s':>10s} {'ms/symbol':>10s}")
    for name, rate in bench_encoders(n_sym):
        print(f"  {name:52s} {rate:10,.0f} {1000 / rate:10.3f}")
    from fieldops.adapters.pdf.labelstock import DEFAULT_STOCK

    runs = [run_child("cutsheet", 40, 1), run_child("cutsheet", 40, 50)]
    # labels on the old default stock (comparable with earlier runs), then on the default one,
    # each next to its ceiling measured right after it
    ceilings = {}
    for n, stock in ((big // 10, "wrap-25x38"), (big, "wrap-25x38"), (big // 10, DEFAULT_STOCK)):
        runs.append(run_child("labels", n, stock))
        ceilings[len(runs) - 1] = run_child("ceiling", n)
    if not args.quick:
        runs.append(run_child("labels", 10_000, "thermal-50x25"))
    runs.append(run_child("reportlab", 500 if args.quick else 2_000))
    print(
        f"\n  {'output':48s} {'seconds':>8s} {'CPU s':>7s} {'pages':>7s} {'pages/s':>8s} {'symbols/s':>10s} {'MB/1000p':>9s} {'peak RSS MB':>11s}"
    )
    for k, r in enumerate(runs):
        mb_per_k = r["mb"] / r["pages"] * 1000 if r["mb"] else float("nan")
        print(
            f"  {r['what']:48s} {r['seconds']:8.2f} {r.get('cpu', float('nan')):7.2f} {r['pages']:7,} {r['pages'] / r['seconds']:8.1f} "
            f"{r['symbols'] / r['seconds']:10,.0f} {mb_per_k:9.1f} {r['rss_mb']:11.0f}"
        )
        if k in ceilings:
            c = ceilings[k]
            print(
                f"  {'':48s} ceiling (zxing encode + rectangles, same payloads): {c['cpu']:.2f} CPU s;"
                f" labels / ceiling = {r['cpu'] / c['cpu']:.1f}x CPU"
            )
        if "rss_plan_mb" in r:
            print(
                f"  {'':48s} (peak RSS with the cable plan built, before printing: {r['rss_plan_mb']:.0f} MB)"
            )
        if "rss_before_save" in r:
            print(f"  {'':48s} (reportlab holds every page until save(): file size not measured)")
    print(f"\n  load average at the end: {load()}")


if __name__ == "__main__":
    main()
