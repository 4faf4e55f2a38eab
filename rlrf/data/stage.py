"""The curate stage, streaming: `run_curate(recipe, upstream, out_dir) -> summary`.

Curation (paper §4, App. A) at SVG-Stack scale (2.1M rows) in bounded memory: every
per-row step runs shard by shard and writes Parquet, the steps across rows run in DuckDB
over those files (it spills to disk), and only a slim table (a few numbers per
row: no SVG text, no ids) is ever held whole, in select.

    plan       shards of ~`curate.shard_rows` rows (Parquet row groups, slices of a
               memory-mapped hub table or of the bundled corpus); ids repeated anywhere
    prep       per shard: row check, normalise, active content, grid redraw, cheap
               filters, content hash, routing  -> work/prep/*, work/funnel/prep-*
    dedupe     DuckDB: first row of each content hash wins (input order)
    tokenizer  the recipe's, or a BPE trained on the train pool (streamed from Parquet)
    features   per shard: token counts in batches; render features computed inside the
               render workers (never the image) for the rows a render rule decides
               about                                                -> work/feats/s-*
    quotas     RL candidates (`rl_render: quota`) and, with `render_all_train` off, the
               plain test pool: rendered in a seeded order until the quota is met
                                                                    -> work/feats/q-*
    select     vectorised rules + samplers, pool by pool, on a slim table (`rlrf.data.curate`)
    write      DuckDB joins the selection back to the shard files -> samples.parquet,
               funnel.parquet (written to a temp name, then renamed)

`map_shards(fn, args_list, label)` runs one phase's shard calls: in this process by
default; the flow passes Prefect tasks on the recipe's task runner (Ray, Dask, processes).
Shard outputs are written atomically and reused when present, so a killed run that is
resumed in the same folder finishes into the same result. Shard files live in a `work/`
folder under the stage folder (shared with the workers: a cluster needs a shared
filesystem) and are removed when the stage has written its tables.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rlrf.artifacts import atomic_write_bytes, write_table
from rlrf.config import Recipe
from rlrf.data.curate import (
    EVAL_POOL,
    NO_RANK,
    SAMPLES_SCHEMA,
    SELECTION_SCHEMA,
    SLIM_SCHEMA,
    TEST_POOL,
    TRAIN_POOL,
    assign,
    pick_rl,
    pool_quota,
    prepare_rows,
    quota_shortfalls,
    render_rules,
    rl_candidates,
    rl_eligible,
    route_rows,
    select_pool,
    split_train,
    viewbox_size,
)
from rlrf.data.features import feature_columns
from rlrf.data.filters import cheap_filters
from rlrf.data.funnel import FUNNEL_SCHEMA, Funnel
from rlrf.data.sources import ShardSpec, plan_shards, read_shard, read_shard_ids

log = logging.getLogger(__name__)

MapShards = Callable[[Callable, Sequence[tuple], str], list]
TOKEN_BATCH = 1000  # rows per fast-tokenizer call: memory ~ one batch's encodings
TOKEN_BATCH_CHARS = 2_000_000  # characters per fast-tokenizer call (~1M tokens, ~100 MB of encodings)
PREP_BATCH = 2000  # rows of a shard through the per-row steps at a time in the prep phase
PREP_BATCH_CHARS = 4_000_000  # and bytes of SVG text: parsed SVGs take ~10x their text
FEATURE_BATCH = 2000  # rows of a shard read, counted and rendered at a time in the features phase
DUCKDB_MEMORY = "512MB"  # the driver's DuckDB spills joins and sorts beyond this to work/duckdb_tmp

PREP_SCHEMA = pa.schema([
    ("row", pa.int64()), ("sample_id", pa.string()), ("source", pa.string()), ("kind", pa.string()),
    ("svg", pa.string()), ("caption", pa.string()), ("license", pa.string()), ("hash", pa.string()),
    ("pool", pa.string()), ("route_reason", pa.string()), ("width", pa.float32()), ("height", pa.float32()),
])
FEATS_SCHEMA = pa.schema([
    ("row", pa.int64()), ("n_tokens", pa.int32()), ("rendered", pa.bool_()), ("render_ok", pa.bool_()),
    ("render_error", pa.string()), ("white_share", pa.float32()), ("color_entropy", pa.float32()),
    ("color_hist", pa.list_(pa.float32())), ("render_rank", pa.int64()),
])
PROGRESS_FILE = "progress.json"  # in work/: the running phase (`write_progress`)
QUOTA_ROUND_MIN = 1_000  # candidates rendered in the first quota round at least
DINO_BATCH = 256  # test_hard candidates rendered and embedded at a time


def in_process(fn: Callable, args_list: Sequence[tuple], label: str) -> list:
    out = []
    for i, args in enumerate(args_list):
        out.append(fn(*args))
        log.info("curate %s: shard %d/%d done", label, i + 1, len(args_list))
    return out


def run_curate(recipe: Recipe, upstream: dict[str, Path], out_dir: Path,
               map_shards: MapShards | None = None) -> dict:
    """Curate the recipe's data into `out_dir/samples.parquet`, `funnel.parquet` and
    `tokenizer/`; returns the summary (rows, seconds per phase, notes)."""
    del upstream  # curate is the first stage
    map_shards = map_shards or in_process
    out_dir = Path(out_dir)
    work = out_dir / "work"
    for sub in ("prep", "feats", "funnel"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    t, started = time.perf_counter(), time.time()

    write_progress(work, "plan", times, None, started)
    specs = plan_shards(recipe.data, recipe.curate.shard_rows)
    dup_ids = duplicate_ids(recipe, specs, work)
    tok_dir = out_dir / "tokenizer"
    # a pretrained tokenizer learns nothing from the rows: it is loaded and saved beside
    # prep, off the serial path (~3-8 s of importing transformers in the child)
    tokenizer = build_tokenizer(recipe, tok_dir, work) if recipe.tokenizer.name_or_path else None
    times["plan_s"] = _lap(t)
    log.info("curate: %d shards of <= %d rows", len(specs), recipe.curate.shard_rows)

    t = time.perf_counter()
    write_progress(work, "prep", times, len(specs), started)
    prep_stats = map_shards(prep_shard, [(recipe, s, dup_ids, str(work)) for s in specs], "prep")
    times["prep_s"] = _lap(t)

    t = time.perf_counter()
    write_progress(work, "dedupe", times, len(specs), started)
    con = _duckdb(work)
    try:
        dedupe(con, work)
        times["dedupe_s"] = _lap(t)
        t = time.perf_counter()
        write_progress(work, "tokenizer", times, len(specs), started)
        (tokenizer or build_tokenizer(recipe, tok_dir, work)).result()
        times["tokenizer_s"] = _lap(t)
        t = time.perf_counter()
        write_progress(work, "features", times, len(specs), started)
        feats = map_shards(feature_shard, [(recipe, s.index, str(work), str(tok_dir)) for s in specs], "features")
        renders = sum(f.get("rendered", 0) for f in feats)
        times["features_s"] = _lap(t)
        t = time.perf_counter()
        write_progress(work, "quota_render", times, len(specs), started)
        renders += render_quotas(con, recipe, work, map_shards)
        times["quota_render_s"] = _lap(t)
        _features_view(con, work)
        t = time.perf_counter()
        write_progress(work, "select", times, len(specs), started)
        embeddings, notes = _cluster_embeddings(con, recipe, work)
        _clear(work / "funnel", "select-")  # a resumed run redoes the selection
        select_funnel = Funnel(spill_to=work / "funnel" / "select")
        notes += select_all(con, recipe, work, select_funnel, embeddings)
        times["select_s"] = _lap(t)
        t = time.perf_counter()
        write_progress(work, "write", times, len(specs), started)
        n_samples = write_samples(con, work, out_dir / "samples.parquet", map_shards)
        n_funnel = write_funnel(con, recipe, work, select_funnel.filters, out_dir / "funnel.parquet")
        times["write_s"] = _lap(t)
    finally:
        con.close()
    shutil.rmtree(work, ignore_errors=True)
    n_raw = sum(s["rows_in"] for s in prep_stats)
    log.info("curate: %d raw rows -> %d samples (%d funnel rows)", n_raw, n_samples, n_funnel)
    total = sum(times.values())
    return {"raw_rows": n_raw, "samples": n_samples, "funnel_rows": n_funnel, "shards": len(specs), "renders": renders,
            **times, "total_s": total, "rows_per_s": n_raw / total if total else 0.0, "notes": notes}


def write_progress(work: Path, phase: str, times: dict[str, float], shards: int | None, started: float) -> None:
    """`work/progress.json`: the phase starting now, the phases done with their seconds
    (`times`, keys `<phase>_s`) and the shard count, for `rlrf progress` (`rlrf.data.progress`)."""
    done = {k.removesuffix("_s"): v for k, v in times.items()}
    atomic_write_bytes(work / PROGRESS_FILE, json.dumps({
        "phase": phase, "phase_started_at": time.time(), "phases_done": done, "shards": shards,
        "started_at": started}).encode())


def _lap(t: float) -> float:
    return round(time.perf_counter() - t, 3)


def _clear(folder: Path, prefix: str) -> None:
    for p in folder.glob(f"{prefix}*"):
        p.unlink()


def _duckdb(work: Path, temp: str = "duckdb_tmp") -> duckdb.DuckDBPyConnection:
    """A DuckDB for the steps across shards, spilling to `work/<temp>` (one folder per
    process: DuckDB instances must not share spill files)."""
    con = duckdb.connect()
    # one thread: DuckDB's sorts and joins need memory per thread, so with a thread per core
    # the write of samples (SVG text joined and sorted by selection order) ran out of its
    # 512 MB on 2 threads at 1M rows (as 1 GB would on a many-core driver); on one thread
    # it took 231 MB (the write phase: 27 s at 1M rows, 20 s on 2 threads at 1 GB)
    con.execute("SET threads = 1")
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
    con.execute(f"SET temp_directory = '{work / temp}'")
    con.execute("SET preserve_insertion_order = true")
    return con


def _files(work: Path, sub: str, prefix: str = "") -> str:
    return str(work / sub / f"{prefix}*.parquet")


# --- plan ------------------------------------------------------------------------------

def duplicate_ids(recipe: Recipe, specs: list[ShardSpec], work: Path) -> frozenset[str]:
    """sample_ids that occur more than once in the whole input (re-keyed by content in
    `check_rows`); read from the id column only (so, unlike `prepare` on one table, a row
    whose SVG is not UTF-8 still counts towards its id's repeats)."""
    ids_file = work / "ids.json"
    if ids_file.exists():
        return frozenset(json.loads(ids_file.read_text()))
    ids = pa.chunked_array([pa.array(read_shard_ids(recipe.data, spec), pa.string()) for spec in specs],
                           type=pa.string())
    con = duckdb.connect(config={"threads": 1})
    try:  # an Arrow column and a DuckDB GROUP BY: no Python object per id
        con.register("ids", pa.table({"id": ids}))
        dups = [r[0] for r in con.execute("SELECT id FROM ids WHERE id IS NOT NULL GROUP BY id "
                                          "HAVING count(*) > 1 ORDER BY id").fetchall()]
    finally:
        con.close()
    atomic_write_bytes(ids_file, json.dumps(dups).encode())
    return frozenset(dups)


# --- per-shard steps (run in workers) ----------------------------------------------------

def prep_shard(recipe: Recipe, spec: ShardSpec, dup_ids: frozenset[str], work: str) -> dict:
    """Every per-row step of `prepare` + routing on one shard; skipped when its output exists."""
    work = Path(work)
    out = work / "prep" / f"{spec.index:06d}.parquet"
    if out.exists():
        return {"rows_in": _rows_in(work, spec.index), "reused": True}
    raw = read_shard(recipe.data, spec)
    funnel, dups = Funnel(), set(dup_ids)
    # every step is per row here (ids repeated anywhere come in `dup_ids`), so a batch at a time
    # (PREP_BATCH rows, PREP_BATCH_CHARS bytes of SVG) gives the same rows, and the Python objects
    # and parsed trees of the per-row steps stay one batch's
    svg_bytes = pc.fill_null(pc.binary_length(raw["svg"]), 0).to_numpy(zero_copy_only=False).tolist()
    bounds = batch_bounds(svg_bytes, PREP_BATCH, PREP_BATCH_CHARS) or [(0, 0)]
    rows = pa.concat_tables([prepare_rows(raw.slice(lo, hi - lo), recipe.curate, funnel, duplicate_ids=dups,
                                          shard=True) for lo, hi in bounds])
    pools, reasons = route_rows(rows, recipe.data, recipe.curate)
    sizes = [viewbox_size(s) for s in rows["svg"].to_pylist()]
    prep = pa.table({
        **{c: rows[c] for c in ("row", "sample_id", "source", "kind", "svg", "caption", "license", "hash")},
        "pool": pools, "route_reason": reasons,
        "width": pa.array([w for w, _ in sizes], pa.float32()), "height": pa.array([h for _, h in sizes], pa.float32()),
    }, schema=PREP_SCHEMA)
    part = funnel.table(with_order=True)
    part = part.append_column("rows_in", pa.repeat(pa.scalar(raw.num_rows, pa.int64()), part.num_rows))
    write_table(part, work / "funnel" / f"prep-{spec.index:06d}.parquet")
    write_table(prep, out)  # last: its presence marks the shard done
    return {"rows_in": raw.num_rows, "rows_out": prep.num_rows, "reused": False}


def _rows_in(work: Path, index: int) -> int:
    t = pq.read_table(work / "funnel" / f"prep-{index:06d}.parquet", columns=["rows_in"])
    return int(t["rows_in"][0].as_py()) if t.num_rows else 0


COUNTER_FILE = "count_tokenizer.json"  # in work/: the tokenizer's Rust backend, no padding / truncation
_COUNTERS: dict[tuple, Callable[[list[str]], list[int]]] = {}


def counting_backend(tokenizer) -> str | None:
    """A fast tokenizer's Rust backend as JSON with padding and truncation off (saved in
    tokenizer.json they would pad every text of a batch to the longest or cap it;
    transformers' `__call__` turns both off per call), or None for a slow tokenizer."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    from tokenizers import Tokenizer

    bare = Tokenizer.from_str(backend.to_str())
    bare.no_padding()
    bare.no_truncation()
    return bare.to_str()


def token_counter(work: Path, tokenizer_dir: str) -> Callable[[list[str]], list[int]]:
    """Token counts (no special tokens) of a batch of texts, cached per worker process.
    The Rust backend the driver saved (`COUNTER_FILE`) loads with `tokenizers` alone: a
    worker never imports transformers / torch for it (~5 s and ~500 MB per worker), and
    `encode_batch_fast` skips offsets (~15% less CPU than `__call__`). A slow tokenizer
    (no backend) falls back to transformers."""
    path = work / COUNTER_FILE
    stat = path.stat() if path.exists() else None
    key = (str(path), stat.st_mtime_ns, stat.st_size) if stat else ("slow", tokenizer_dir)
    if key not in _COUNTERS:
        _COUNTERS.clear()  # a long-lived worker keeps the current run's counter only
        if stat:
            from tokenizers import Tokenizer

            bare = Tokenizer.from_file(str(path))
            encode = getattr(bare, "encode_batch_fast", bare.encode_batch)
            _COUNTERS[key] = lambda texts: [len(e) for e in encode(texts, add_special_tokens=False)]
        else:
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(tokenizer_dir)
            _COUNTERS[key] = lambda texts: [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]]
    return _COUNTERS[key]


def count_tokens_batched(count: Callable[[list[str]], list[int]], texts: list[str],
                         batch: int = TOKEN_BATCH, batch_chars: int = TOKEN_BATCH_CHARS) -> np.ndarray:
    """`count` over `texts` in `batch_bounds` batches: the encodings of one batch at a time
    (~100 B per token) instead of the whole pool's, whatever the texts' sizes."""
    out = np.zeros(len(texts), dtype=np.int32)
    for lo, hi in batch_bounds([len(t) for t in texts], batch, batch_chars):
        out[lo:hi] = count(texts[lo:hi])
    return out


def batch_bounds(sizes: Sequence[int], max_rows: int, max_size: int) -> list[tuple[int, int]]:
    """Consecutive [lo, hi) batches of at most `max_rows` items and `max_size` in total
    (an item larger than that alone), covering every item in order."""
    out, lo, n = [], 0, len(sizes)
    while lo < n:
        hi, total = lo + 1, sizes[lo]
        while hi < n and hi - lo < max_rows and total + sizes[hi] <= max_size:
            total += sizes[hi]
            hi += 1
        out.append((lo, hi))
        lo = hi
    return out


def feature_shard(recipe: Recipe, index: int, work: str, tokenizer_dir: str) -> dict:
    """Token counts of a shard's kept rows and render features of the rows a render rule
    decides about (every row; with `curate.render_all_train` off, the eval and OOD pools
    and the train pool's RL candidates, the plain test pool rendering later by quota);
    skipped when its output exists."""
    work = Path(work)
    out = work / "feats" / f"s-{index:06d}.parquet"
    if out.exists():
        return {"reused": True}
    count = token_counter(work, tokenizer_dir)
    cfg = recipe.curate
    parts, n_rows, rendered = [], 0, 0
    for rows in _shard_batches(work, index, "SELECT p.row, p.svg, p.pool FROM {prep} p "
                                            "WHERE p.row NOT IN (SELECT row FROM read_parquet($dups))",
                               {"dups": str(work / "dups.parquet")}, FEATURE_BATCH):
        svgs = rows["svg"].to_pylist()
        pools = np.asarray(rows["pool"].to_pylist(), dtype=object)
        n_tokens = count_tokens_batched(count, svgs)
        need = np.ones(len(svgs), bool)
        if not cfg.render_all_train:  # the plain test pool renders on demand (`render_quota`)
            need = (pools != TRAIN_POOL) & (pools != TEST_POOL)
            if cfg.rl_render == "all":  # with quota, RL candidates render on demand too
                need |= (pools == TRAIN_POOL) & rl_candidates(n_tokens, cfg)
        parts.append(_features_table(recipe, rows.select(["row"]), svgs, n_tokens, need, pools == EVAL_POOL,
                                     pa.nulls(len(svgs), pa.int64())))
        n_rows, rendered = n_rows + len(svgs), rendered + int(need.sum())
    write_table(pa.concat_tables(parts) if parts else FEATS_SCHEMA.empty_table(), out)
    return {"rows": n_rows, "rendered": rendered, "reused": False}


@contextmanager
def _shard_query(work: Path, index: int, sql: str, params: dict, tables: dict[str, pa.Table] | None = None):
    """`sql` over one shard's prep file (`{prep}`) and feature file (`{feats}`), in row order,
    as a DuckDB relation open for the `with` block (one thread: a shard's query is small, and
    N workers on N cores must not start N x cores threads each)."""
    con = duckdb.connect(config={"threads": 1})
    try:
        for name, table in (tables or {}).items():
            con.register(name, table)
        files = {"prep": f"read_parquet('{work / 'prep' / f'{index:06d}.parquet'}')",
                 "feats": f"read_parquet('{work / 'feats' / f's-{index:06d}.parquet'}')"}
        yield con.sql(sql.format(**files) + " ORDER BY p.row", params=params)
    finally:
        con.close()


def _shard_batches(work: Path, index: int, sql: str, params: dict, batch_rows: int):
    """`_shard_query`'s rows `batch_rows` at a time: a shard of large SVGs (iconify's
    fluent-emoji: 29 KB on average, up to 0.9 MB) is never held whole, as Arrow and as
    Python strings at once."""
    with _shard_query(work, index, sql, params) as rel:
        for batch in rel.to_arrow_reader(batch_rows):
            yield pa.Table.from_batches([batch])


def _shard_rows(work: Path, index: int, sql: str, params: dict, tables: dict[str, pa.Table] | None = None) -> pa.Table:
    """`_shard_query`'s rows as one table."""
    with _shard_query(work, index, sql, params, tables) as rel:
        return rel.to_arrow_table()


def _features_table(recipe: Recipe, rows: pa.Table, svgs: list[str], n_tokens, render: np.ndarray,
                    keep_hist: np.ndarray, rank: pa.Array) -> pa.Table:
    """`FEATS_SCHEMA` rows: the render features of the rows in `render` (computed inside
    the render workers), null for the others; histograms kept for test_hard candidates
    only (the only rows clustered on them)."""
    idx = np.flatnonzero(render)
    cols = feature_columns([svgs[i] for i in idx], recipe.curate.render_size, recipe.render)
    cols["color_hist"] = [h if keep_hist[i] else None for h, i in zip(cols["color_hist"], idx, strict=True)]
    full = {c: [None] * len(svgs) for c in cols}
    for k, i in enumerate(idx):
        for c in cols:
            full[c][i] = cols[c][k]
    return pa.table({"row": rows["row"], "n_tokens": pa.array(n_tokens, pa.int32()), "rendered": pa.array(render),
                     **full, "render_rank": rank}, schema=FEATS_SCHEMA)


def render_rows(recipe: Recipe, index: int, ranks: dict[int, int], work: str, tag: str) -> dict:
    """Render features of some rows of one shard (the candidates of a quota round), as
    `FEATS_SCHEMA` rows with their `render_rank`; skipped when the file exists."""
    work = Path(work)
    out = work / "feats" / f"q-{tag}-{index:06d}.parquet"
    if out.exists():
        return {"reused": True}
    rows = _shard_rows(work, index, "SELECT p.row, p.svg, f.n_tokens FROM {prep} p JOIN {feats} f USING (row) "
                                    "WHERE p.row IN (SELECT row FROM wanted)", {},
                       {"wanted": pa.table({"row": pa.array(list(ranks), pa.int64())})})
    n = rows.num_rows
    table = _features_table(recipe, rows, rows["svg"].to_pylist(), rows["n_tokens"].to_numpy(), np.ones(n, bool),
                            np.zeros(n, bool), pa.array([ranks[r] for r in rows["row"].to_pylist()], pa.int64()))
    write_table(table, out)
    return {"rows": n, "reused": False}


# --- steps across shards (DuckDB over the shard files) ------------------------------------

def render_quotas(con, recipe: Recipe, work: Path, map_shards: MapShards) -> int:
    """Rows rendered on demand: the RL candidates (`curate.rl_render: quota`) and, with
    `curate.render_all_train` off, the plain test pool; returns the renders."""
    cfg = recipe.curate
    rendered = 0
    if cfg.rl_render == "quota":
        rendered += render_quota(con, recipe, work, map_shards, TRAIN_POOL, cfg.rl_min_tokens,
                                 cfg.rl_max_tokens or cfg.train_max_tokens, cfg.rl_min_color_entropy)
    if not cfg.render_all_train and cfg.test_size:
        rendered += render_quota(con, recipe, work, map_shards, TEST_POOL, 0, cfg.train_max_tokens, None)
    return rendered


def render_quota(con, recipe: Recipe, work: Path, map_shards: MapShards, pool: str, min_tokens: int,
                 max_tokens: int | None, min_entropy: float | None) -> int:
    """Order a pool's candidates (min_tokens..max_tokens tokens) by a seeded hash of their
    content (the same order whatever the sharding), render them round by round, each round
    sized from the eligible share seen so far, until the pool's split (`pool_quota`) has its
    size of eligible rows (render ok, not white, colour entropy >= min_entropy) or no
    candidate is left."""
    name, size = pool_quota(pool, recipe.curate)
    cands = con.sql(
        f"SELECT f.row, CAST(regexp_extract(p.filename, '(\\d+)\\.parquet$', 1) AS INTEGER) AS shard "
        f"FROM read_parquet('{_files(work, 'prep')}', filename = true) p "
        f"JOIN read_parquet('{_files(work, 'feats', 's-')}') f USING (row) "
        f"WHERE p.pool = $pool AND f.n_tokens >= $lo AND ($hi IS NULL OR f.n_tokens <= $hi) "
        f"ORDER BY md5(CAST($seed AS VARCHAR) || ':' || p.hash), f.row",
        params={"pool": pool, "lo": min_tokens, "hi": max_tokens, "seed": recipe.seed},
    ).to_arrow_table()
    rows, shards = cands["row"].to_numpy(), cands["shard"].to_numpy()
    start, found, round_no, rendered = 0, 0, 0, 0
    while found < size and start < len(rows):
        share = found / start if start else 1.0
        k = max(QUOTA_ROUND_MIN, int(np.ceil((size - found) / max(share, 0.02) * 1.1)))
        stop = min(len(rows), start + k)
        by_shard: dict[int, dict[int, int]] = {}
        for rank in range(start, stop):
            by_shard.setdefault(int(shards[rank]), {})[int(rows[rank])] = rank
        done = map_shards(render_rows, [(recipe, i, r, str(work), f"{name}-{round_no:03d}")
                                        for i, r in sorted(by_shard.items())], f"{name}-render-{round_no}")
        rendered += sum(d.get("rows", 0) for d in done)
        found = con.execute(
            f"SELECT count(*) FROM read_parquet('{_files(work, 'feats', f'q-{name}-')}') WHERE render_ok "
            f"AND white_share < $w AND ($e IS NULL OR color_entropy >= $e)",
            {"w": recipe.curate.white_threshold, "e": min_entropy}).fetchall()[0][0]
        log.info("curate %s quota: round %d rendered candidates %d..%d of %d, %d eligible (want %d)",
                 name, round_no, start, stop, len(rows), found, size)
        start, round_no = stop, round_no + 1
    return rendered


def _features_view(con, work: Path) -> None:
    """`features`: `_features_sql` over every shard."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW features AS {_features_sql(work)}")


def _features_sql(work: Path, shard: str = "*") -> str:
    """Each kept row's token count and render features in the feature files of `shard` (its
    6-digit index, or `*` for all), a quota render replacing the row's unrendered entry."""
    base = f"read_parquet('{work / 'feats' / f's-{shard}.parquet'}')"
    if not list((work / "feats").glob(f"q-*-{shard}.parquet")):
        return f"SELECT * FROM {base}"
    quota = f"read_parquet('{work / 'feats' / f'q-*-{shard}.parquet'}')"
    return f"SELECT * FROM {base} WHERE row NOT IN (SELECT row FROM {quota}) UNION ALL SELECT * FROM {quota}"


def dedupe(con: duckdb.DuckDBPyConnection, work: Path) -> None:
    """The first row (input order) of each content hash stays; the others are duplicates."""
    con.execute(
        f"COPY (SELECT row FROM (SELECT row, row_number() OVER (PARTITION BY hash ORDER BY row) AS k "
        f"FROM read_parquet('{_files(work, 'prep')}')) WHERE k > 1) TO '{work / 'dups.parquet'}' (FORMAT parquet)"
    )


def build_tokenizer(recipe: Recipe, tok_dir: Path, work: Path) -> Future:
    """Start `_build_tokenizer` in a child process (forkserver, as the render pool) and
    return its future: the driver never imports transformers, whose AutoTokenizer imports
    torch (~450 MB resident), and the memory of BPE training goes back when the child exits."""
    if _tokenizer_built(tok_dir, work):
        done: Future = Future()
        done.set_result(None)
        return done
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver"))
    try:
        return pool.submit(_build_tokenizer, recipe, tok_dir, work)
    finally:
        pool.shutdown(wait=False)  # the child exits once its one task is done


def _tokenizer_built(tok_dir: Path, work: Path) -> bool:
    return (tok_dir / "tokenizer.json").exists() and (work / "tokenizer.done").exists() \
        and (work / COUNTER_FILE).exists()


def _build_tokenizer(recipe: Recipe, tok_dir: Path, work: Path) -> None:
    """The recipe's tokenizer, or a BPE trained on the train pool, streamed in input order:
    at most `tokenizer.train_rows` rows, the first in a seeded order of their content hash
    (the whole pool when it is smaller), since BPE training holds every distinct word of
    its input in memory."""
    from rlrf.models.tokenizer import load_tokenizer, train_tokenizer

    if recipe.tokenizer.name_or_path:
        tok = load_tokenizer(recipe.tokenizer, None)
    else:
        con = _duckdb(work, "duckdb_tmp_tokenizer")
        try:
            reader = con.sql(
                f"SELECT svg FROM (SELECT row, svg FROM read_parquet('{_files(work, 'prep')}') WHERE pool = $pool "
                f"AND row NOT IN (SELECT row FROM read_parquet('{work / 'dups.parquet'}')) "
                f"ORDER BY md5(CAST($seed AS VARCHAR) || ':' || hash), row LIMIT $n) ORDER BY row",
                params={"pool": TRAIN_POOL, "seed": recipe.seed, "n": recipe.tokenizer.train_rows},
            ).to_arrow_reader(10_000)

            def texts():
                for batch in reader:
                    yield from batch.column(0).to_pylist()

            tok = train_tokenizer(texts(), recipe.tokenizer)
        finally:
            con.close()
    tok.save_pretrained(str(tok_dir))
    backend = counting_backend(tok)
    if backend is not None:
        atomic_write_bytes(work / COUNTER_FILE, backend.encode())
    (work / "tokenizer.done").write_text("ok")


def _cluster_embeddings(con, recipe: Recipe, work: Path) -> tuple[dict | None, list[str]]:
    """DINOv2 features of the test_hard candidates when the recipe asks for them: only the
    eval-pool rows that pass test_hard's render and token rules (the only rows clustered),
    streamed in batches of `DINO_BATCH` (renders and model inputs of one batch in memory),
    kept as float32 rows."""
    cluster = recipe.curate.cluster
    if cluster.features != "dino":
        return None, []
    from rlrf.data.embeddings import dino_embeddings
    from rlrf.scores.learned import load_dino
    from rlrf.weights import WeightsUnavailable

    cfg = recipe.curate
    candidates = (f"FROM read_parquet('{_files(work, 'prep')}') p JOIN features f USING (row) "
                  f"WHERE p.pool = $pool AND f.render_ok AND f.white_share < $w AND f.color_entropy >= $e "
                  f"AND f.n_tokens >= $t")
    params = {"pool": EVAL_POOL, "w": cfg.white_threshold, "e": cfg.hard_min_color_entropy, "t": cfg.hard_min_tokens}
    if not con.execute(f"SELECT count(*) {candidates}", params).fetchall()[0][0]:
        return None, []
    try:
        scorer = load_dino(cluster.dino_model)
    except WeightsUnavailable as exc:
        note = f"WEIGHTS UNAVAILABLE: test_hard clusters use colour histograms, not DINOv2 ({exc})"
        log.warning(note)
        return None, [note]
    embeddings: dict[str, np.ndarray] = {}
    for batch in con.sql(f"SELECT p.sample_id, p.svg {candidates} ORDER BY p.row", params=params
                         ).to_arrow_reader(DINO_BATCH):
        part = dino_embeddings(batch.column(0).to_pylist(), batch.column(1).to_pylist(), cluster, recipe.render,
                               scorer=scorer)
        embeddings.update((sid, np.asarray(v, np.float32)) for sid, v in part.items())
    return (embeddings or None), []


def select_all(con, recipe: Recipe, work: Path, funnel: Funnel, embeddings: dict | None) -> list[str]:
    """`select_pool` on each pool's kept rows (pools by name, as `select_rows`), written to
    `work/selection.parquet` with each row's place in the samples table (`ord`); the train
    pool, the one that grows with the input, shard by shard (`_select_train_by_shard`), so
    the driver holds one shard's slim rows at a time, not one per input row. Returns notes
    on splits left short."""
    shards = _shards(work)
    pools = sorted({pool for shard in shards for (pool,) in con.sql(
        f"SELECT DISTINCT p.pool FROM read_parquet('{work / 'prep' / f'{shard}.parquet'}') p "
        f"JOIN ({_features_sql(work, shard)}) f USING (row)").fetchall()})

    def parts():
        done = 0
        for pool in pools:
            if pool == TRAIN_POOL:
                selected = _select_train_by_shard(con, recipe, work, shards, funnel)
            else:
                selected = [select_pool(_slim(con, work, shards, pool), pool, recipe.curate, recipe.seed, funnel,
                                        embeddings)]
            for part in selected:
                yield part.append_column("ord", pa.array(np.arange(done, done + part.num_rows, dtype=np.int64)))
                done += part.num_rows

    path = work / "selection.parquet"
    _write_parquet(parts(), path, SELECTION_SCHEMA.append(pa.field("ord", pa.int64())))
    counts = dict(con.execute(f"SELECT split, count(*) FROM read_parquet('{path}') GROUP BY split").fetchall())
    return quota_shortfalls(pools, counts, recipe.curate)


def _shards(work: Path) -> list[str]:
    """The shards' names (their prep files' stems), in row order."""
    return sorted(p.stem for p in (work / "prep").glob("*.parquet"))


def _select_train_by_shard(con, recipe: Recipe, work: Path, shards: list[str], funnel: Funnel):
    """`select_pool` of the train pool in two passes over its shards: first the RL
    candidates' rows and render ranks (16 B each), from which the RL set is drawn as on the
    whole pool (`pick_rl`); then each shard's rules, recorded on a fork of `funnel`. Yields
    the RL rows, then each shard's SFT rows: the same rows, splits and funnel as one call
    on the whole pool."""
    cfg = recipe.curate
    rows, ranks = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for shard in shards:
        slim = render_rules(_slim(con, work, [shard], TRAIN_POOL), cfg, Funnel())
        eligible = rl_eligible(slim, cfg)
        rows.append(np.asarray(slim["row"].to_numpy())[eligible])
        ranks.append(np.asarray(pc.fill_null(slim["render_rank"], NO_RANK).to_numpy())[eligible])
    rows, ranks = np.concatenate(rows), np.concatenate(ranks)
    picked = np.sort(rows[pick_rl(ranks, pool_quota(TRAIN_POOL, cfg)[1], cfg, recipe.seed)])
    del rows, ranks
    yield assign(pa.table({"row": pa.array(picked, pa.int64())}), "rl")
    calls = set()
    for shard in shards:
        fork = funnel.fork(shard)
        slim = render_rules(_slim(con, work, [shard], TRAIN_POOL), cfg, fork)
        yield split_train(slim, np.isin(np.asarray(slim["row"].to_numpy()), picked), cfg, fork)[1]
        calls.add(fork.parts)
    if len(calls) > 1:
        raise RuntimeError(f"curate: the train pool's shards recorded different funnel steps: {sorted(calls)}")
    funnel.skip(calls.pop() if calls else funnel.parts)


def _slim(con, work: Path, shards: list[str], pool: str) -> pa.Table:
    """`SLIM_SCHEMA` rows of one pool's kept rows in `shards`, in input order: no SVG text;
    `sample_id` and `color_hist` only in the eval pool (its embeddings are keyed by the id,
    its clusters drawn from the histograms), `source` never (`write_funnel` joins the ids
    and sources back by `row`): ~60 B per row."""
    ids, hist = (("p.sample_id", "f.color_hist") if pool == EVAL_POOL
                 else ("CAST(NULL AS VARCHAR)", "CAST(NULL AS FLOAT[])"))
    parts = [_kept_rows(con, work, shard, f"p.row, {ids} AS sample_id, CAST(NULL AS VARCHAR) AS source, p.pool, "
                        "f.n_tokens, f.rendered, f.render_ok, f.render_error, f.white_share, f.color_entropy, "
                        f"{hist} AS color_hist, f.render_rank", where="p.pool = $pool", params={"pool": pool}
                        ).cast(SLIM_SCHEMA) for shard in shards]
    return pa.concat_tables(parts) if parts else SLIM_SCHEMA.empty_table()


def _kept_rows(con, work: Path, shard: str, columns: str, join: str = "", params: dict | None = None,
               where: str = "true") -> pa.Table:
    """`columns` of one shard's kept rows (its prep rows `p` joined with their features `f`,
    and `join`) where `where`, in row order."""
    return con.sql(f"SELECT {columns} FROM read_parquet('{work / 'prep' / f'{shard}.parquet'}') p "
                   f"JOIN ({_features_sql(work, shard)}) f USING (row) {join} WHERE {where} ORDER BY p.row",
                   params=params).to_arrow_table()


def write_samples(con, work: Path, path: Path, map_shards: MapShards = in_process) -> int:
    """The selected rows with their SVG text, in selection order, never sorting SVG text
    (DuckDB's sort of it needed > 256 MB even at 250k rows): each split is one run of the
    selection in row order (`select_rows`), so each shard task (`samples_shard`, on the
    workers) writes its rows split by split to part files, and the parts are then
    concatenated in the splits' selection order, shard by shard. Memory: one shard's
    selected rows per worker, one row group in the driver."""
    sel = f"read_parquet('{work / 'selection.parquet'}')"
    runs = con.execute(f"SELECT split, max(ord) - min(ord) + 1 = count(*) FROM {sel} GROUP BY split "
                       "ORDER BY min(ord)").fetchall()
    if not all(contiguous for _, contiguous in runs):
        raise RuntimeError(f"curate: a split is not one run of the selection: {runs}")
    splits = [split for split, _ in runs]
    shards = _shards(work)
    parts = work / "samples_parts"
    parts.mkdir(exist_ok=True)
    _clear(parts, "")  # a resumed run rewrites them
    map_shards(samples_shard, [(str(work), shard, splits) for shard in shards], "samples")
    files = [f for i in range(len(splits)) for shard in shards
             if (f := parts / f"{shard}-{i:03d}.parquet").exists()]
    return _write_parquet(_row_groups(files), path, SAMPLES_SCHEMA)


# the samples columns as DuckDB selects them from a shard joined with the selection
_SAMPLES_TYPES = {"n_tokens": "INTEGER", "width": "FLOAT", "height": "FLOAT", "color_entropy": "FLOAT",
                  "white_share": "FLOAT", "cluster": "INTEGER"}
_SAMPLES_COLUMNS = ", ".join(f"CAST({c} AS {_SAMPLES_TYPES.get(c, 'VARCHAR')}) AS {c}" for c in SAMPLES_SCHEMA.names)


def samples_shard(work: str, shard: str, splits: list[str]) -> dict:
    """One shard's selected rows with their SVG text and features (`SAMPLES_SCHEMA`), split
    by split, in row order, to `samples_parts/<shard>-<split's index>.parquet` (none for a
    split without rows here); on a worker, with its own one-thread DuckDB."""
    work = Path(work)
    con = _duckdb(work, f"duckdb_tmp_samples_{shard}")
    try:
        rows = _kept_rows(con, work, shard, _SAMPLES_COLUMNS, f"JOIN read_parquet('{work / 'selection.parquet'}') s USING (row)")
    finally:
        con.close()
    written = 0
    for i, split in enumerate(splits):
        part = rows.filter(pc.equal(rows["split"], split))
        if part.num_rows:
            _write_parquet([part.select(SAMPLES_SCHEMA.names)], work / "samples_parts" / f"{shard}-{i:03d}.parquet",
                           SAMPLES_SCHEMA, compression="snappy")  # read once, by the driver
            written += part.num_rows
    return {"rows": written}


def _row_groups(files: list[Path]):
    """The rows of `files`, in order, one row group at a time (`iter_batches` pre-buffers a
    whole file: 1.2 GB for 894k rows' SVGs)."""
    for f in files:
        source = pq.ParquetFile(f, pre_buffer=False)
        for i in range(source.num_row_groups):
            yield source.read_row_group(i)


# per-row steps, in the order `prepare` records them (a step exists only where recorded)
def _prep_filters(recipe: Recipe) -> list[str]:
    names = ["row_check", "active_content"]
    if recipe.curate.grid is not None:
        names.append("grid")
    return names + [name for name, _, _ in cheap_filters(recipe.curate)]


def write_funnel(con, recipe: Recipe, work: Path, select_filters: list[str], path: Path) -> int:
    """Every shard's funnel part, dedupe and route (DuckDB), and the select parts, with the
    steps numbered and rows ordered as the in-memory stage records them (per-row steps
    step by step, then select's records in call order; input order within each). row_check / active_content are kept only when some row needed them."""
    prep = _files(work, "funnel", "prep-")
    present = {r[0] for r in con.execute(
        f"SELECT filter FROM read_parquet('{prep}') GROUP BY filter "
        "HAVING filter NOT IN ('row_check', 'active_content') OR bool_or(reason <> 'pass')").fetchall()}
    dups = f"read_parquet('{work / 'dups.parquet'}')"
    preps = f"read_parquet('{_files(work, 'prep')}')"
    order = [f for f in _prep_filters(recipe) if f in present]
    parts = [f"SELECT sample_id, source, filter, kept, reason, row, '' AS part FROM read_parquet('{prep}') "
             f"WHERE filter IN (SELECT unnest($order))"]
    if con.execute(f"SELECT count(*) FROM {preps}").fetchone()[0]:
        order += ["dedupe", "route"]
        parts.append(f"SELECT p.sample_id, p.source, 'dedupe', d.row IS NULL, "
                     f"CASE WHEN d.row IS NULL THEN 'pass' ELSE 'duplicate' END, p.row, '' "
                     f"FROM {preps} p LEFT JOIN {dups} d USING (row)")
        parts.append(f"SELECT sample_id, source, 'route', true, route_reason, row, '' FROM {preps} "
                     f"WHERE row NOT IN (SELECT row FROM {dups})")
    if select_filters:  # one part file per record call, in call order (pool by pool); ids by row
        parts.append(f"SELECT p.sample_id, p.source, s.filter, s.kept, s.reason, s.row, s.filename "
                     f"FROM read_parquet('{_files(work, 'funnel', 'select-')}', filename = true) s "
                     f"JOIN {preps} p USING (row)")
    order += select_filters
    con.execute("CREATE OR REPLACE TEMP TABLE steps AS SELECT unnest($1) AS filter, "
                "CAST(generate_subscripts($1, 1) - 1 AS INTEGER) AS step", [order])
    sql = ("SELECT u.sample_id, u.source, s.step, u.filter, u.kept, u.reason FROM ("
           + " UNION ALL ".join(parts).replace("$order", "$1") + ") u JOIN steps s USING (filter) "
           "ORDER BY u.part <> '', CASE WHEN u.part = '' THEN s.step ELSE 0 END, u.part, u.row")
    return _copy(con, sql, path, FUNNEL_SCHEMA, params=[order])


def _copy(con, sql: str, path: Path, schema: pa.Schema, params=None, batch_rows: int = 20_000) -> int:
    """A query's rows (DuckDB sorts out of core) streamed into `path` (`_write_parquet`)."""
    reader = con.sql(sql, params=params).to_arrow_reader(batch_rows)
    return _write_parquet((pa.Table.from_batches([batch]) for batch in reader), path, schema)


def _write_parquet(tables, path: Path, schema: pa.Schema, compression: str = "zstd") -> int:
    """`tables` streamed into Parquet with `schema`, beside `path`, then renamed: a reader
    never sees half a table."""
    tmp = path.with_name(f".{path.name}.tmp")
    n = 0
    try:
        with pq.ParquetWriter(tmp, schema, compression=compression) as writer:
            for table in tables:
                writer.write_table(table.rename_columns(schema.names).cast(schema))
                n += table.num_rows
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n
