"""The whole curate stage (`rlrf.data.stage.run_curate`) at scale, on synthetic
SVG-Stack-shaped Parquet (generated under --cache, never committed).

    .venv/bin/python bench/scale.py [--rows 50000 200000 1000000] [--workers 1 2]

For each size and worker count: rows/s, peak RSS (the driver alone and the whole process
tree: Dask workers and their render workers), seconds per phase; then the speed-up of N
Dask workers over 1 worker measured in the same run, and the minutes extrapolated to
SVG-Stack's 2.1M rows on 2 cores and per added worker. `--agreement` measures how often
the render rules (white background, colour entropy) give the same answer at smaller render
sizes as at 224 px.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from rlrf.data.stage import run_curate
from rlrf.recipe import load_recipe

SVG_STACK_ROWS = 2_100_000
# one core per Dask worker: the fast tokenizer's Rust thread pool (rayon) and BLAS would
# otherwise take every core in each worker, and 1 vs N workers would not compare N cores
WORKER_ENV = {"RAYON_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
TEST_SHARE = 3_000 / SVG_STACK_ROWS  # SVG-Stack's test split: ~3K of 2.1M rows


def synthetic_svg(rng: np.random.Generator, i: int) -> str:
    """An SVG-Stack-like file: XML header, gradient defs, a lognormal number of filled
    cubic paths with 6-decimal coordinates (median ~1.5 KB, long tail); ~1% embed a base64
    image, ~1% a long URL, ~2% are white-on-white."""
    n_paths = max(1, int(rng.lognormal(1.2, 0.9)))
    parts = []
    for _ in range(n_paths):
        pts = rng.uniform(0, 512, size=(int(rng.integers(3, 14)), 6))
        d = "M{:.6f} {:.6f} ".format(*rng.uniform(0, 512, 2)) + " ".join(
            "C" + " ".join(f"{v:.6f}" for v in seg) for seg in pts) + "Z"
        colour = "#ffffff" if rng.random() < 0.02 else f"#{int(rng.integers(0, 1 << 24)):06x}"
        parts.append(f'<path d="{d}" fill="{colour}" stroke="#{int(rng.integers(0, 1 << 24)):06x}" '
                     f'stroke-width="{rng.uniform(0.5, 4):.4f}"/>')
    r = rng.random()
    if r < 0.01:
        parts.append(f'<image href="data:image/png;base64,{"QUFB" * int(rng.integers(200, 600))}"/>')
    elif r < 0.02:
        parts.append(f'<a href="https://example.org/{"p" * int(rng.integers(120, 300))}"><text>x</text></a>')
    defs = (f'<defs><linearGradient id="g{i}"><stop offset="0" stop-color="#{int(rng.integers(0, 1 << 24)):06x}"/>'
            f'<stop offset="1" stop-color="#{int(rng.integers(0, 1 << 24)):06x}"/></linearGradient></defs>')
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="512" '
            f'height="512" viewBox="0 0 512 512">{defs}<rect width="512" height="512" fill="url(#g{i})" '
            f'opacity="{rng.uniform(0, 0.3):.3f}"/>{"".join(parts)}</svg>')


def generate(n: int, path: Path, seed: int = 0, chunk: int = 10_000) -> Path:
    """n rows (Filename, Svg, split) in row groups of `chunk`; ~3% exact duplicates."""
    if path.exists() and pq.ParquetFile(path).metadata.num_rows == n:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    schema = pa.schema([("Filename", pa.string()), ("Svg", pa.string()), ("split", pa.string())])
    with pq.ParquetWriter(tmp, schema, compression="zstd") as w:
        for lo in range(0, n, chunk):
            k = min(chunk, n - lo)
            svgs = [synthetic_svg(rng, lo + j) for j in range(k)]
            for j in np.flatnonzero(rng.random(k) < 0.03):
                svgs[j] = svgs[int(rng.integers(0, k))]
            split = np.where(rng.random(k) < TEST_SHARE * 20, "test", "train")  # x20: enough test_hard rows
            w.write_table(pa.table({"Filename": [f"f{lo + j}.svg" for j in range(k)], "Svg": svgs,
                                    "split": split.tolist()}, schema=schema))
    tmp.replace(path)
    return path


def tokenizer_dir(cache: Path) -> Path:
    """A BPE trained once on 20k synthetic rows, standing in for the hub tokenizer of the
    paper recipes (loaded, never trained, inside the timed stage). Trained in a child
    process, so transformers is not counted in the driver's RSS (the stage never imports it)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    out = cache / "tokenizer"
    if not (out / "tokenizer.json").exists():
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver")) as pool:
            pool.submit(_train_tokenizer, out).result()
    return out


def _train_tokenizer(out: Path) -> None:
    from rlrf.config import TokenizerConfig
    from rlrf.models.tokenizer import train_tokenizer

    rng = np.random.default_rng(99)
    tok = train_tokenizer([synthetic_svg(rng, i) for i in range(20_000)], TokenizerConfig(vocab_size=4096))
    tok.save_pretrained(str(out))


class TreeRss:
    """Peak resident memory of this process and of its whole process tree, and the CPU
    seconds the tree used (per process, its last sample: the box is shared, so CPU time,
    not wall time, is what scales to an idle machine), sampled."""

    def __init__(self, every_s: float = 0.25) -> None:
        self.peak_self = self.peak_tree = 0
        self.cpu: dict[int, float] = {}
        self.t0 = time.perf_counter()
        self.samples: list[tuple[float, int, int]] = []  # (seconds since start, driver, tree) RSS
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every_s,), daemon=True)

    def _run(self, every_s: float) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            try:
                own = me.memory_info().rss
                tree = own
                for p in [me, *me.children(recursive=True)]:
                    if p is not me:
                        tree += p.memory_info().rss
                    t = p.cpu_times()
                    self.cpu[p.pid] = t.user + t.system
            except psutil.Error:
                continue
            self.peak_self, self.peak_tree = max(self.peak_self, own), max(self.peak_tree, tree)
            self.samples.append((time.perf_counter() - self.t0, own, tree))
            self._stop.wait(every_s)

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def bench_recipe(data: Path, tok: Path, render_size: int, shard_rows: int, rl_size: int | None = None):
    """The paper recipe's curation rules (qwen2.5-vl-3b.yaml) on the local synthetic file."""
    return load_recipe("qwen2.5-vl-3b", overrides={
        "data.source": "local", "data.path": str(data), "data.split_column": "split", "data.svg_column": "Svg",
        "data.id_column": "Filename", "data.include_bundled": False, "tokenizer.name_or_path": str(tok),
        "curate.cluster": {"k": 50, "features": "color_hist"}, "curate.render_size": render_size,
        "curate.shard_rows": shard_rows, "render.workers": 1, "render.timeout_s": 10,
        **({"curate.rl_size": rl_size} if rl_size else {}),
    })


def phase_peaks(rss: TreeRss, start: float, summary: dict) -> dict[str, float]:
    """Peak driver and whole-tree RSS (GB) within each phase of `run_curate` (phases run back to back
    from `start`, seconds since the sampler started, in the summary's order)."""
    peaks, t = {}, start
    for k, v in summary.items():
        if k.endswith("_s") and k not in ("total_s", "rows_per_s"):
            inside = [(own, tree) for s, own, tree in rss.samples if t <= s <= t + v]
            peaks[k[:-2]] = (round(max((o for o, _ in inside), default=0) / 2**30, 2),
                             round(max((r for _, r in inside), default=0) / 2**30, 2))
            t += v
    return peaks


def run_once(recipe, out: Path, workers: int) -> dict:
    """run_curate with shards on a local Dask cluster of `workers` single-threaded workers
    (each renders with its own 1-process render pool, tokenizer threads pinned to 1)."""
    import shutil

    from distributed import Client, LocalCluster

    shutil.rmtree(out, ignore_errors=True)
    with TreeRss() as rss:
        t = time.perf_counter()
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                          env=WORKER_ENV) as cluster, \
                Client(cluster) as client:
            def on_dask(fn, args_list, label):
                return client.gather([client.submit(fn, *a, pure=False) for a in args_list])

            start = time.perf_counter() - rss.t0
            summary = run_curate(recipe, {}, out, map_shards=on_dask)
        wall = time.perf_counter() - t
    return {**summary, "wall_s": wall, "peak_rss_gb_by_phase": phase_peaks(rss, start, summary),
            "peak_rss_driver_gb": rss.peak_self / 2**30,
            "peak_rss_tree_gb": rss.peak_tree / 2**30, "cpu_s": sum(rss.cpu.values()),
            "load_avg": os.getloadavg()[0]}


def agreement(data: Path, sizes=(32, 48, 64, 96, 128), n: int = 3000) -> None:
    """How often each rule gives the 224 px answer at a smaller size (white background at
    0.97, colour entropy >= 2.0: the paper recipe's thresholds)."""
    from rlrf.config import RenderConfig
    from rlrf.data.features import feature_columns

    svgs = pq.ParquetFile(data).read_row_group(0, columns=["Svg"])["Svg"].to_pylist()[:n]
    limits = RenderConfig(workers=2)
    ref = feature_columns(svgs, 224, limits)
    ok = np.array(ref["render_ok"])
    def rules(cols):
        w = np.array([x if x is not None else np.nan for x in cols["white_share"]]) >= 0.97
        e = np.array([x if x is not None else np.nan for x in cols["color_entropy"]]) >= 2.0
        return w, e
    w0, e0 = rules(ref)
    print(f"render-size agreement with 224 px on {ok.sum()} rendered rows:")
    for size in sizes:
        t = time.perf_counter()
        cols = feature_columns(svgs, size, limits)
        secs = time.perf_counter() - t
        w, e = rules(cols)
        print(f"  {size:4d} px: white_background {np.mean(w[ok] == w0[ok]):.4f}, colour entropy>=2 "
              f"{np.mean(e[ok] == e0[ok]):.4f}, both {np.mean((w[ok] == w0[ok]) & (e[ok] == e0[ok])):.4f}; "
              f"{len(svgs) / secs:,.0f} renders/s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[50_000, 200_000])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--render-size", type=int, default=224)
    ap.add_argument("--shard-rows", type=int, default=20_000)
    ap.add_argument("--rl-size", type=int, default=None,
                    help="RL quota (paper recipe: 20000); its renders do not grow with the input")
    ap.add_argument("--cache", type=Path, default=Path("artifacts/bench_scale"))
    ap.add_argument("--agreement", action="store_true", help="only measure render-size agreement")
    args = ap.parse_args()
    tok = tokenizer_dir(args.cache)
    if args.agreement:
        agreement(generate(10_000, args.cache / "rows_10000.parquet"))
        return
    results = []
    for n in args.rows:
        t = time.perf_counter()
        data = generate(n, args.cache / f"rows_{n}.parquet")
        print(f"{n:,} synthetic rows ready ({time.perf_counter() - t:.0f} s, {data.stat().st_size / 2**20:.0f} MiB)")
        recipe = bench_recipe(data, tok, args.render_size, args.shard_rows, args.rl_size)
        base = None
        for w in args.workers:
            r = run_once(recipe, args.cache / f"out_{n}_{w}", w)
            if w == 1:
                base = r["wall_s"]
            speedup = f"{base / r['wall_s']:.2f}x" if base else "n/a (no 1-worker run)"
            phases = {k: round(v, 1) for k, v in r.items()
                      if k.endswith("_s") and k not in ("wall_s", "total_s", "rows_per_s", "cpu_s")}
            print(f"  {n:>9,} rows, {w} worker(s): {n / r['wall_s']:8,.0f} rows/s, wall {r['wall_s']:7.1f} s, "
                  f"speed-up vs 1 worker {speedup}, {r['cpu_s'] / n * 1000:.2f} CPU-ms/row "
                  f"(load avg {r['load_avg']:.1f} on {os.cpu_count()} cores), peak RSS driver "
                  f"{r['peak_rss_driver_gb']:.2f} GB / tree {r['peak_rss_tree_gb']:.2f} GB, {r['samples']:,} samples, "
                  f"{r['renders']:,} renders; "
                  f"phases {phases}; peak RSS GB (driver, tree) by phase {r['peak_rss_gb_by_phase']}", flush=True)
            results.append({"rows": n, "workers": w, **{k: v for k, v in r.items() if k != "notes"}})
    (args.cache / "results.json").write_text(json.dumps(results, indent=1))
    for w in args.workers:
        big = max((r for r in results if r["workers"] == w), key=lambda r: r["rows"])
        rate = big["rows"] / big["wall_s"]
        cpu_per_row = big["cpu_s"] / big["rows"]
        print(f"extrapolated from {big['rows']:,} rows on {w} worker(s): {SVG_STACK_ROWS / rate / 60:.0f} min "
              f"wall for 2.1M rows as measured; from CPU time on an idle box: "
              f"{SVG_STACK_ROWS * cpu_per_row / 60 / 2:.0f} min on 2 cores, "
              f"{SVG_STACK_ROWS * cpu_per_row / 60:.0f} core-min in all (divide by the cores added)")


if __name__ == "__main__":
    main()
