"""Curation throughput: the vectorised cheap-filter pass (`rlrf.data.curate.prepare`) vs a
plain per-row Python loop applying the same rules, on a synthetic SVG-Stack-shaped table.

    .venv/bin/python bench/curation.py [--rows 200000]

Prints rows/s for both, the speed-up, and the extrapolated minutes for SVG-Stack's 2.1M rows.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import time

import numpy as np
import pyarrow as pa

from rlrf.config import CurateConfig
from rlrf.data.curate import prepare
from rlrf.data.funnel import Funnel
from rlrf.data.normalize import round_number_text

SVG_STACK_ROWS = 2_100_000


def synthetic_table(n: int, seed: int = 0) -> pa.Table:
    """SVG-Stack-like rows: paths with long decimals, ~1% base64 images, ~1% long URLs, ~3% duplicates."""
    rng = np.random.default_rng(seed)
    svgs = []
    for i in range(n):
        k = int(rng.integers(2, 12))
        pts = " ".join(f"L{rng.uniform(0, 512):.6f} {rng.uniform(0, 512):.6f}" for _ in range(k))
        body = f'<path d="M{rng.uniform(0, 512):.5f} 1.5 {pts} Z" fill="#{i % 4096:03x}"/>'
        r = rng.random()
        if r < 0.01:
            body += f'<image href="data:image/png;base64,{"QUFB" * int(rng.integers(100, 400))}"/>'
        elif r < 0.02:
            body += f'<a href="https://example.org/{"p" * int(rng.integers(120, 300))}">x</a>'
        svg = ('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
               f'viewBox="0 0 512 512">{body}</svg>')
        svgs.append(svg if rng.random() > 0.03 or i == 0 else svgs[int(rng.integers(0, i))])
    return pa.table({
        "sample_id": [f"row{i}" for i in range(n)],
        "source": ["svg_stack"] * n,
        "kind": ["svg_stack"] * n,
        "svg": svgs,
        "caption": pa.nulls(n, pa.string()),
        "license": pa.nulls(n, pa.string()),
    })


def per_row_baseline(table: pa.Table, cfg: CurateConfig) -> int:
    """The same rules, one row at a time with Python's `re` (what ad-hoc scripts do)."""
    url = re.compile(r"""(?i)(?:https?|ftp)://[^\s"'<>)]+""")
    b64 = re.compile(r"(?i)base64,\s*([A-Za-z0-9+/=]+)")
    ext = re.compile(r"""(?is)<(?:image|feimage|use)\b[^>]*href\s*=\s*["']\s*(?:https?:|ftp:|file:|//)""")
    header = re.compile(r"^\s*(<\?xml[^>]*\?>\s*)?(<!--.*?-->\s*)*", re.S)
    seen, kept = set(), 0
    for svg in table["svg"].to_pylist():
        if not svg or "<svg" not in svg.lower():
            continue
        svg = re.sub(r">\s+<", "><", header.sub("", svg, count=1))
        svg = round_number_text(svg, cfg.round_decimals)
        if any(len(m) > cfg.max_url_chars for m in url.findall(svg)):
            continue
        if any(len(m) > cfg.max_base64_chars for m in b64.findall(svg)):
            continue
        if ext.search(svg):
            continue
        h = hashlib.sha1(svg.encode()).hexdigest()
        if h in seen:
            continue
        seen.add(h)
        kept += 1
    return kept


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    args = ap.parse_args()
    cfg = CurateConfig()
    t = time.perf_counter()
    table = synthetic_table(args.rows)
    print(f"built {args.rows:,} synthetic rows in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    kept_vec = prepare(table, cfg, Funnel()).num_rows
    vec_s = time.perf_counter() - t
    t = time.perf_counter()
    kept_loop = per_row_baseline(table, cfg)
    loop_s = time.perf_counter() - t

    for name, secs, kept in (("rlrf prepare (vectorised)", vec_s, kept_vec), ("per-row Python loop", loop_s, kept_loop)):
        rate = args.rows / secs
        print(f"{name:28s} {rate:12,.0f} rows/s  kept {kept:,}  "
              f"-> {SVG_STACK_ROWS / rate / 60:6.2f} min for 2.1M rows")
    print(f"speed-up vs per-row loop: {loop_s / vec_s:.1f}x")


if __name__ == "__main__":
    main()
