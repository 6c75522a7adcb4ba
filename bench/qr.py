"""Median time to encode and render one payment QR PNG: our renderer against segno, same payload.

    .venv/bin/python -m bench.qr [--kind order|stall] [--runs 200]

`order` is a per-order QR (dynamic, amount, mixed-case memo); `stall` is the static poster QR
(digits and capitals only). Both renderers: error correction M, scale 10, border 4, 1-bit PNG.
segno is a benchmark-only dependency (the `bench` extra).
"""

import argparse
import io
import statistics
import time
from collections.abc import Callable

import segno
import zxingcpp
from PIL import Image

from service.payments import render
from service.payments.vietqr import VietQR, encode

QRS = {
    "order": VietQR(
        bank_bin="970436", account="0123456789", amount=185_000, purpose="Don hang 2026 0042", static=False
    ),
    "stall": VietQR(bank_bin="970436", account="0123456789"),
}


def median_ms(fn: Callable[[], object], runs: int) -> float:
    for _ in range(5):  # warm imports and allocator
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def ours_cold(qr: VietQR) -> bytes:
    render.clear_cache()
    return render.qr_png(encode(qr), scale=10, border=4)


def segno_png(qr: VietQR) -> bytes:
    out = io.BytesIO()
    # boost_error=False: segno otherwise raises the level to Q/H when it fits, which we don't do.
    segno.make_qr(encode(qr), error="m", boost_error=False).save(out, kind="png", scale=10, border=4)
    return out.getvalue()


def check_same_kind(qr: VietQR) -> None:
    payload = encode(qr)
    for name, png in (("qr", ours_cold(qr)), ("segno", segno_png(qr))):
        image = Image.open(io.BytesIO(png))
        found = [b.text for b in zxingcpp.read_barcodes(image)]
        if found != [payload]:
            raise SystemExit(f"{name}: PNG does not read back as the payload: {found}")
        print(f"# {name}: {image.mode} {image.size[0]}x{image.size[1]} px, {len(png)} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=QRS, default="order")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    qr = QRS[args.kind]
    check_same_kind(qr)

    ours = median_ms(lambda: ours_cold(qr), args.runs)
    theirs = median_ms(lambda: segno_png(qr), args.runs)
    render.clear_cache()
    payload = encode(qr)
    render.qr_png(payload)
    cached = median_ms(lambda: render.qr_png(encode(qr)), args.runs)
    print(f"qr_png_ms {ours:.3f}")
    print(f"segno_png_ms {theirs:.3f}")
    print(f"qr_vs_segno_ratio {ours / theirs:.3f}")
    print(f"qr_png_cached_ms {cached:.3f}")


if __name__ == "__main__":
    main()
