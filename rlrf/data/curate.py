"""Curation (paper §4, App. A) as three pure steps the flow wires together:

1. `prepare`  normalise text, cheap vectorised filters, dedupe on content hash;
2. `route`    OOD sources to their splits; the source's test split to the eval pool
              (SVG-Stack-Hard is built from SVG-Stack's *test* split, paper §4), its train
              split to the train pool; split-less sources (the bundled corpus) by hash;
3. `select`   render/token based filters: SVG-Stack-Hard test (clustered, stratified),
              the high-entropy RL set, the SFT train set, OOD samples.

Between 2 and 3 the flow trains the tokenizer on the train pool and computes render
features in parallel shards. Every input row gets funnel rows until it leaves.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rlrf.config import CurateConfig, DataConfig
from rlrf.data.clean import strip_active_content
from rlrf.data.filters import cheap_filters
from rlrf.data.funnel import Funnel
from rlrf.data.normalize import first_of_hash, round_decimals, strip_xml_header, svg_hash
from rlrf.data.splits import hash_buckets, kmeans_labels, random_sample, stratified_sample

SAMPLES_SCHEMA = pa.schema([
    ("sample_id", pa.string()),
    ("source", pa.string()),
    ("kind", pa.string()),
    ("split", pa.string()),
    ("svg", pa.string()),
    ("hash", pa.string()),
    ("n_tokens", pa.int32()),
    ("width", pa.float32()),
    ("height", pa.float32()),
    ("color_entropy", pa.float32()),
    ("white_share", pa.float32()),
    ("cluster", pa.int32()),
    ("caption", pa.string()),
    ("license", pa.string()),
])

log = logging.getLogger(__name__)

TRAIN_POOL, EVAL_POOL, TEST_POOL = "train_pool", "eval_pool", "test_pool"
NO_RANK = np.iinfo(np.int64).max  # the render_rank of a row no quota rendered: after every ranked row


def prepare(raw: pa.Table, cfg: CurateConfig, funnel: Funnel) -> pa.Table:
    """Normalise and apply cheap filters (the 2.1M -> 1.7M step); adds a `hash` column."""
    rows = prepare_rows(raw, cfg, funnel)
    first = first_of_hash(rows["hash"])
    dup = pc.invert(first)
    _record(funnel, rows, "dedupe", dup, reasons=pc.if_else(dup, "duplicate", "pass"))
    return rows.filter(first)


def prepare_rows(raw: pa.Table, cfg: CurateConfig, funnel: Funnel, duplicate_ids: set[str] | None = None,
                 shard: bool = False) -> pa.Table:
    """Every per-row step of `prepare` (row check, normalise, active content, grid redraw,
    cheap filters, content hash); dedupe is the one step across rows. On a shard
    (`shard=True`) the ids repeated anywhere in the input come in `duplicate_ids`, and
    row_check / active_content are recorded for every row (the whole run drops them
    again when no row anywhere needed them, as `prepare` records them only then)."""
    raw = check_rows(raw, funnel, duplicate_ids, always_record=shard)
    svg = strip_xml_header(raw["svg"])
    svg = round_decimals(svg, cfg.round_decimals)
    rows = raw.set_column(raw.schema.get_field_index("svg"), "svg", svg)
    rows = _strip_active_content(rows, funnel, always_record=shard)
    if cfg.grid is not None:
        rows = redraw_on_grid(rows, cfg, funnel)
    for name, column, drop_fn in cheap_filters(cfg):
        dropped = drop_fn(rows[column])
        _record(funnel, rows, name, dropped)
        rows = rows.filter(pc.invert(dropped))
    return rows.append_column("hash", svg_hash(rows["svg"]))


def _record(funnel: Funnel, rows: pa.Table, name: str, dropped, reasons=None, ids=None) -> None:
    """Funnel rows for `rows`, with their order key `row` when the table has one."""
    order = rows["row"] if "row" in rows.column_names else None
    funnel.record(rows["sample_id"] if ids is None else ids, rows["source"], name, dropped, reasons=reasons,
                  order=order)


def check_rows(raw: pa.Table, funnel: Funnel, duplicate_ids: set[str] | None = None,
               always_record: bool = False) -> pa.Table:
    """Rows a loader could not read (`error`, e.g. invalid_utf8) and rows without a
    sample_id leave here, named in the funnel; rows sharing a sample_id with different
    SVG text get distinct ids (`<id>~<content hash>`), so no row is ever joined to
    another's features. Recorded only when some row needs it. `duplicate_ids`: ids
    repeated in the whole input (a shard sees only part of it); None = count them here."""
    n = raw.num_rows
    errors = raw["error"].to_pylist() if "error" in raw.column_names else [None] * n
    if "error" in raw.column_names:
        raw = raw.drop_columns(["error"])
    ids = raw["sample_id"].to_pylist()
    reasons = [e or ("null_sample_id" if i is None else "pass") for e, i in zip(errors, ids, strict=True)]
    if duplicate_ids is None:
        counts = Counter(i for i, r in zip(ids, reasons, strict=True) if r == "pass")
        duplicate_ids = {i for i, c in counts.items() if c > 1}
    if all(r == "pass" for r in reasons) and not (duplicate_ids and duplicate_ids & set(ids)):
        if always_record:
            _record(funnel, raw, "row_check", pa.repeat(pa.scalar(False), n), reasons=reasons, ids=ids)
        return raw
    svgs = raw["svg"].to_pylist()
    new_ids = list(ids)
    for k, (i, r) in enumerate(zip(ids, reasons, strict=True)):
        if r == "pass" and i in duplicate_ids:
            new_ids[k] = f"{i}~{hashlib.sha256((svgs[k] or '').encode()).hexdigest()[:10]}"
            reasons[k] = "rekeyed_duplicate_id"
    dropped = [r not in ("pass", "rekeyed_duplicate_id") for r in reasons]
    log.warning("curate: %d rows dropped (%s), %d re-keyed (duplicate sample_id)", sum(dropped),
                dict(Counter(r for r, d in zip(reasons, dropped, strict=True) if d)),
                reasons.count("rekeyed_duplicate_id"))
    _record(funnel, raw, "row_check", dropped, reasons=reasons, ids=ids)
    raw = raw.set_column(raw.schema.get_field_index("sample_id"), "sample_id", pa.array(new_ids, pa.string()))
    return raw.filter(pa.array([not d for d in dropped]))


def _strip_active_content(rows: pa.Table, funnel: Funnel, always_record: bool = False) -> pa.Table:
    """Scripts and event handlers never reach a stored SVG (`rlrf.data.clean`)."""
    fixed = strip_active_content(rows["svg"])
    if not fixed:
        if always_record:
            _record(funnel, rows, "active_content", pa.repeat(pa.scalar(False), rows.num_rows))
        return rows
    svgs = rows["svg"].to_pylist()
    reasons = ["pass"] * rows.num_rows
    for i, (svg, error) in fixed.items():
        svgs[i], reasons[i] = svg, error or "stripped"
    dropped = [r.startswith("active_content:") for r in reasons]
    _record(funnel, rows, "active_content", dropped, reasons=reasons)
    rows = rows.set_column(rows.schema.get_field_index("svg"), "svg", pa.array(svgs, pa.string()))
    return rows.filter(pa.array([not d for d in dropped]))


GRID_CHECK_SIZE = 64  # render side for the before/after comparison of the grid redraw


def redraw_on_grid(rows: pa.Table, cfg: CurateConfig, funnel: Funnel) -> pa.Table:
    """Replace each SVG by its integer-grid redraw (`rlrf.data.grid.to_grid`); drop rows the
    redraw cannot express (`grid_unsupported`) or changes visibly (`grid_lossy`: mean absolute
    pixel difference of the two renders above `cfg.grid_max_distance`)."""
    from rlrf.config import RenderConfig
    from rlrf.data.grid import render_distance, to_grid
    from rlrf.svg.pool import shared_pool

    originals = rows["svg"].to_pylist()
    redrawn = [to_grid(s or "", cfg.grid) for s in originals]
    todo = [i for i, s in enumerate(redrawn) if s is not None]
    pool = shared_pool(RenderConfig())
    before = pool.render_many([originals[i] for i in todo], GRID_CHECK_SIZE)
    after = pool.render_many([redrawn[i] for i in todo], GRID_CHECK_SIZE)
    reasons = ["grid_unsupported"] * len(originals)
    for i, a, b in zip(todo, before, after, strict=True):
        reasons[i] = "pass" if render_distance(a, b) <= cfg.grid_max_distance else "grid_lossy"
    dropped = [r != "pass" for r in reasons]
    _record(funnel, rows, "grid", dropped, reasons=reasons)
    svg = pa.array([s if r == "pass" else o for s, o, r in zip(redrawn, originals, reasons, strict=True)],
                   pa.string())
    rows = rows.set_column(rows.schema.get_field_index("svg"), "svg", svg)
    return rows.filter(pc.invert(pa.array(dropped)))


def route(rows: pa.Table, data: DataConfig, cfg: CurateConfig, funnel: Funnel) -> dict[str, pa.Table]:
    """OOD sources go to their split pools. In-distribution rows of a source with splits:
    test split -> eval pool (test_hard), train split -> train pool or, by hash, the plain
    `test` pool; train / RL rows never come from the test split. Rows of a split-less
    source go to the eval / plain-test / train pool by hash bucket. The funnel's `route`
    reason says which rule placed each row: `<pool>:source_split:<split>`, `<pool>:hash_bucket`."""
    pools, reasons = route_rows(rows, data, cfg)
    _record(funnel, rows, "route", pa.repeat(pa.scalar(False), rows.num_rows), reasons=reasons)
    return {p: rows.filter(pc.equal(pools, p)) for p in sorted(set(pools.to_pylist()))}


def route_rows(rows: pa.Table, data: DataConfig, cfg: CurateConfig) -> tuple[pa.Array, pa.Array]:
    """(pool, funnel reason) of each row; a function of the row alone (source, source
    split, content hash), so shards route their rows independently."""
    sources = rows["source"].to_pylist()
    splits = (rows["source_split"].to_pylist() if "source_split" in rows.column_names
              else [None] * rows.num_rows)
    pool_of = {src: split for split, srcs in data.ood_sources.items() for src in srcs}
    names = (EVAL_POOL, TEST_POOL, TRAIN_POOL)
    hashes = rows["hash"].to_pylist()
    by_hash = hash_buckets(hashes, [cfg.test_fraction, cfg.test_plain_fraction])
    train_side = hash_buckets(hashes, [0.0, cfg.test_plain_fraction])  # never the eval pool
    pools, reasons = [], []
    for src, split, b, t in zip(sources, splits, by_hash, train_side, strict=True):
        if src in pool_of:
            pools.append(pool_of[src])
            reasons.append(pool_of[src])
        elif split == "test":
            pools.append(EVAL_POOL)
            reasons.append(f"{EVAL_POOL}:source_split:test")
        elif split is not None:
            pools.append(names[t])
            reasons.append(f"{names[t]}:source_split:{split}" if names[t] == TRAIN_POOL
                           else f"{names[t]}:hash_bucket")
        else:
            pools.append(names[b])
            reasons.append(f"{names[b]}:hash_bucket")
    return pa.array(pools, pa.string()), pa.array(reasons, pa.string())


# The columns `select_rows` reads: one row per routed, deduplicated SVG (no SVG text).
SLIM_SCHEMA = pa.schema([
    ("row", pa.int64()),
    ("sample_id", pa.string()),
    ("source", pa.string()),
    ("pool", pa.string()),
    ("n_tokens", pa.int32()),
    ("rendered", pa.bool_()),
    ("render_ok", pa.bool_()),
    ("render_error", pa.string()),
    ("white_share", pa.float32()),
    ("color_entropy", pa.float32()),
    ("color_hist", pa.list_(pa.float32())),
    ("render_rank", pa.int64()),  # position in the seeded render order of a quota (RL candidates, plain test)
])

SELECTION_SCHEMA = pa.schema([("row", pa.int64()), ("split", pa.string()), ("cluster", pa.int32())])


def select(pools: dict[str, pa.Table], features: pa.Table, n_tokens: dict[str, int],
           cfg: CurateConfig, seed: int, funnel: Funnel,
           embeddings: dict[str, list[float]] | None = None) -> pa.Table:
    """Apply render/token filters per pool and sample the final splits (in memory: the
    streaming stage, `rlrf.data.stage`, runs `select_pool` pool by pool on slim rows). `embeddings`
    (e.g. DINOv2 of eval-pool rows) replace colour histograms for the test_hard clusters."""
    names = sorted(pools)
    rows = pa.concat_tables([pools[p].append_column("pool", pa.repeat(pa.scalar(p, pa.string()), pools[p].num_rows))
                             for p in names], promote_options="default") if names else None
    if rows is None or rows.num_rows == 0:
        return SAMPLES_SCHEMA.empty_table()
    if "row" in rows.column_names:
        rows = rows.drop_columns(["row"])
    rows = rows.append_column("row", pa.array(np.arange(rows.num_rows, dtype=np.int64)))
    feats = features.to_pydict()
    at = {sid: i for i, sid in enumerate(feats["sample_id"])}
    idx = [at[s] for s in rows["sample_id"].to_pylist()]
    slim = pa.table({
        "row": rows["row"], "sample_id": rows["sample_id"], "source": rows["source"], "pool": rows["pool"],
        "n_tokens": pa.array([n_tokens[s] for s in rows["sample_id"].to_pylist()], pa.int32()),
        "rendered": pa.repeat(pa.scalar(True), rows.num_rows),
        **{c: features[c].take(pa.array(idx, pa.int64())) for c in
           ("render_ok", "render_error", "white_share", "color_entropy", "color_hist")},
        "render_rank": pa.nulls(rows.num_rows, pa.int64()),
    }, schema=SLIM_SCHEMA)
    sel = select_rows(slim, cfg, seed, funnel, embeddings)
    take = sel["row"]
    out = rows.take(take)
    sizes = [viewbox_size(s) for s in out["svg"].to_pylist()]
    picked = slim.take(take)
    cols = {
        "sample_id": out["sample_id"], "source": out["source"], "kind": out["kind"], "split": sel["split"],
        "svg": out["svg"], "hash": out["hash"], "n_tokens": picked["n_tokens"],
        "width": pa.array([w for w, _ in sizes], pa.float32()), "height": pa.array([h for _, h in sizes], pa.float32()),
        "color_entropy": picked["color_entropy"], "white_share": picked["white_share"], "cluster": sel["cluster"],
        "caption": out["caption"], "license": out["license"],
    }
    return pa.table({f.name: pc.cast(cols[f.name], f.type) for f in SAMPLES_SCHEMA}, schema=SAMPLES_SCHEMA)


def select_rows(slim: pa.Table, cfg: CurateConfig, seed: int, funnel: Funnel,
                embeddings: dict[str, list[float]] | None = None) -> pa.Table:
    """`select_pool` on each pool of `SLIM_SCHEMA` rows (sorted by `row`), pools by name:
    -> `SELECTION_SCHEMA` rows in the order of the samples table."""
    parts = [select_pool(slim.filter(pc.equal(slim["pool"], pool)), pool, cfg, seed, funnel, embeddings)
             for pool in sorted(pc.unique(slim["pool"]).to_pylist())]
    return pa.concat_tables(parts) if parts else SELECTION_SCHEMA.empty_table()


def pool_quota(pool: str, cfg: CurateConfig) -> tuple[str, int]:
    """The sampled split a pool fills and its size: the eval pool's test_hard, the train
    pool's rl set (the rest is the SFT set, not sampled), the test pool's test split, and
    each OOD pool its own split."""
    if pool == EVAL_POOL:
        return "test_hard", cfg.test_hard_size
    if pool == TRAIN_POOL:
        return "rl", cfg.rl_size
    if pool == TEST_POOL:
        return "test", cfg.test_size
    return pool, cfg.ood_size


def quota_shortfalls(pools: list[str], split_counts: dict[str, int], cfg: CurateConfig) -> list[str]:
    """A note for each sampled split of the pools present that got fewer rows than the
    recipe asks (`pool_quota`): too few candidates passed its rules."""
    wanted = dict(pool_quota(pool, cfg) for pool in pools)
    return [f"SHORT SPLIT: {split} has {split_counts.get(split, 0)} of the {size} rows asked for "
            f"(too few candidates passed its rules; the funnel says why)"
            for split, size in wanted.items() if split_counts.get(split, 0) < size]


def select_pool(rows: pa.Table, pool: str, cfg: CurateConfig, seed: int, funnel: Funnel,
                embeddings: dict[str, list[float]] | None = None) -> pa.Table:
    """The render/token rules and the sampler of one pool, vectorised, over its
    `SLIM_SCHEMA` rows (sorted by `row`) -> `SELECTION_SCHEMA` rows (in the train pool the
    RL rows first). Funnel rows carry the rows' `sample_id` and `source` as given (the
    streaming stage passes them null outside the eval pool, where embeddings are keyed by
    `sample_id`, and joins them back by `row`).
    Rows not rendered (`rendered` false: SFT rows when `curate.render_all_train` is off)
    skip the render filters; with it off, the plain test split is the first test_size rows
    of its render quota (`render_rank`)."""
    rows = render_rules(rows, cfg, funnel)
    split, size = pool_quota(pool, cfg)
    if pool == EVAL_POOL:
        return _select_test_hard(rows, cfg, size, seed, funnel, embeddings)
    if pool == TRAIN_POOL:
        return pa.concat_tables(_select_train_rl(rows, cfg, size, seed, funnel))
    if pool == TEST_POOL:
        rows = _drop_too_long(rows, cfg, funnel)
        if cfg.render_all_train:
            return _sample(rows, split, size, seed, funnel)
        # rendered by quota: the first `size` that passed, in the seeded render order
        return _first_by_rank(rows, split, size, funnel)
    return _sample(rows, split, size, seed, funnel)


def render_rules(rows: pa.Table, cfg: CurateConfig, funnel: Funnel) -> pa.Table:
    """Every pool's first rules, on its rendered rows: `broken` (the render failed) and
    `white_background`; the rows left."""
    rendered = _np(rows["rendered"], False)
    rows = _vdrop(rows, funnel, "broken", ~_np(rows["render_ok"], True),
                  reasons=pc.binary_join_element_wise("render_failed:", pc.fill_null(rows["render_error"], ""), ""),
                  among=rendered)
    return _vdrop(rows, funnel, "white_background",
                  _f64(rows["white_share"]) >= cfg.white_threshold, among=_np(rows["rendered"], False))


def _select_test_hard(rows: pa.Table, cfg: CurateConfig, size: int, seed: int, funnel: Funnel,
                      embeddings: dict[str, list[float]] | None) -> pa.Table:
    rows = _vdrop(rows, funnel, "low_color_entropy", _f64(rows["color_entropy"]) < cfg.hard_min_color_entropy)
    rows = _vdrop(rows, funnel, "short", _f64(rows["n_tokens"]) < cfg.hard_min_tokens)
    ids = rows["sample_id"].to_pylist()
    if embeddings:
        rows = _vdrop(rows, funnel, "no_embedding", np.array([s not in embeddings for s in ids], bool))
        ids = rows["sample_id"].to_pylist()
    if not ids:  # no candidate left (e.g. a test split where nothing rendered): an empty Hard set
        feats = np.zeros((0, 1), np.float32)
    elif embeddings:
        feats = np.array([embeddings[s] for s in ids], dtype=np.float32)
    else:
        feats = _matrix(rows["color_hist"])
    labels = kmeans_labels(feats, cfg.cluster.k, seed)
    keep = np.zeros(len(ids), bool)
    keep[stratified_sample(labels, size, seed)] = True
    rows = rows.append_column("cluster", pa.array(labels.astype(np.int32), pa.int32()))
    rows = _vdrop(rows, funnel, "quota_test_hard", ~keep)
    return assign(rows, "test_hard")


def _sample(rows: pa.Table, split: str, size: int, seed: int, funnel: Funnel) -> pa.Table:
    keep = np.zeros(rows.num_rows, bool)
    keep[random_sample(rows.num_rows, size, seed)] = True
    return assign(_vdrop(rows, funnel, f"quota_{split}", ~keep), split)


def _first_by_rank(rows: pa.Table, split: str, size: int, funnel: Funnel) -> pa.Table:
    """A quota pool's split: the first `size` rendered rows by `render_rank` (the rows that
    failed a render rule have left already; the pool's other rows were never rendered)."""
    rank = np.where(_np(rows["rendered"], False), _np(rows["render_rank"], NO_RANK), NO_RANK)
    keep = np.zeros(rows.num_rows, bool)
    keep[np.argsort(rank, kind="stable")[:size]] = True
    keep &= rank < NO_RANK
    return assign(_vdrop(rows, funnel, f"quota_{split}", ~keep), split)


def _drop_too_long(rows: pa.Table, cfg: CurateConfig, funnel: Funnel) -> pa.Table:
    if cfg.train_max_tokens is None:
        return rows
    cap = cfg.train_max_tokens
    n = pc.fill_null(rows["n_tokens"], 0)
    long = _np(n, 0) > cap
    reasons = pc.binary_join_element_wise("too_long:", pc.cast(n, pa.string()), f">{cap}", "") if long.any() else None
    return _vdrop(rows, funnel, "too_long", long, reasons=reasons)


def _select_train_rl(rows: pa.Table, cfg: CurateConfig, size: int, seed: int, funnel: Funnel) -> list[pa.Table]:
    """The RL set (`rl_eligible` rows, `pick_rl`) is drawn first; the rest is the SFT set
    (`split_train`)."""
    eligible = np.flatnonzero(rl_eligible(rows, cfg))
    picked = np.zeros(rows.num_rows, bool)
    picked[eligible[pick_rl(_np(rows["render_rank"], NO_RANK)[eligible], size, cfg, seed)]] = True
    return split_train(rows, picked, cfg, funnel)


def rl_eligible(rows: pa.Table, cfg: CurateConfig) -> np.ndarray:
    """Train-pool rows past `render_rules` that may enter the RL set: high colour entropy,
    long enough, short enough for a roll-out to finish within `rl_max_tokens`."""
    return rl_candidates(_np(rows["n_tokens"], 0), cfg) & (_f64(rows["color_entropy"]) >= cfg.rl_min_color_entropy)


def pick_rl(rank: np.ndarray, size: int, cfg: CurateConfig, seed: int) -> np.ndarray:
    """Positions, among the eligible rows in row order (their `render_rank`s: `rank`), of
    the RL set: the first `size` of the seeded render order (`curate.rl_render: quota`),
    else a seeded sample of `size`."""
    if cfg.rl_render == "quota":
        return np.argsort(rank, kind="stable")[:size]
    return random_sample(len(rank), size, seed)


def split_train(rows: pa.Table, picked: np.ndarray, cfg: CurateConfig, funnel: Funnel) -> list[pa.Table]:
    """The `picked` rows are the RL set, the rest the SFT set, whose SVGs must fit the SFT
    context: longer ones leave through the `too_long` filter (never truncated by the
    trainer, never dropped silently) -> [rl, train] `SELECTION_SCHEMA` rows."""
    _record(funnel, rows, "rl_select", pa.repeat(pa.scalar(False), rows.num_rows),
            reasons=pc.if_else(pa.array(picked), "rl", "train"))
    rl = rows.filter(pa.array(picked))
    sft = _drop_too_long(rows.filter(pa.array(~picked)), cfg, funnel)
    return [assign(rl, "rl"), assign(sft, "train")]


def rl_candidates(n_tokens: np.ndarray, cfg: CurateConfig) -> np.ndarray:
    """Rows long enough for the RL set and short enough for a roll-out to finish: the
    only train-pool rows a render rule decides about."""
    rl_cap = cfg.rl_max_tokens or cfg.train_max_tokens
    ok = n_tokens >= cfg.rl_min_tokens
    return ok & (n_tokens <= rl_cap) if rl_cap is not None else ok


def _matrix(col) -> np.ndarray:
    """A column of equal-length float lists (one per row, none missing) as a float32 matrix,
    without a Python list per row (a 64-float histogram is ~2 KB as Python floats)."""
    if col.null_count:
        raise ValueError(f"curate: {col.null_count} test_hard candidate(s) without a colour histogram")
    return np.asarray(pc.list_flatten(col).to_numpy(zero_copy_only=False), np.float32).reshape(len(col), -1)


def _np(col, fill) -> np.ndarray:
    return np.asarray(pc.fill_null(col, fill).to_numpy(zero_copy_only=False))


def _f64(col) -> np.ndarray:
    """As float64 (thresholds compare as Python floats do), NaN for nulls (never true)."""
    return np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def _vdrop(rows: pa.Table, funnel: Funnel, name: str, dropped: np.ndarray, reasons=None,
           among: np.ndarray | None = None) -> pa.Table:
    """Record `name` for the rows in `among` (default all), drop those with `dropped`."""
    dropped = np.asarray(dropped, bool)
    if among is not None and not among.all():
        reached = rows.filter(pa.array(among))
        sub_reasons = None if reasons is None else pc.filter(reasons, pa.array(among))
        _record(funnel, reached, name, pa.array(dropped[among]),
                reasons=None if sub_reasons is None else pc.if_else(pa.array(dropped[among]), sub_reasons, "pass"))
        return rows.filter(pa.array(~(dropped & among)))
    if reasons is not None:
        reasons = pc.if_else(pa.array(dropped), reasons, "pass")
    _record(funnel, rows, name, pa.array(dropped), reasons=reasons)
    return rows.filter(pa.array(~dropped))


def assign(rows: pa.Table, split: str) -> pa.Table:
    cluster = rows["cluster"] if "cluster" in rows.column_names else pa.nulls(rows.num_rows, pa.int32())
    return pa.table({"row": rows["row"], "split": pa.repeat(pa.scalar(split, pa.string()), rows.num_rows),
                     "cluster": pc.cast(cluster, pa.int32())}, schema=SELECTION_SCHEMA)


_VIEWBOX = re.compile(r"""viewBox\s*=\s*["']\s*[-\d.eE+]+[\s,]+[-\d.eE+]+[\s,]+([-\d.eE+]+)[\s,]+([-\d.eE+]+)""")


def viewbox_size(svg: str) -> tuple[float | None, float | None]:
    m = _VIEWBOX.search(svg or "")
    if not m:
        return None, None
    try:
        return float(m.group(1)), float(m.group(2))
    except ValueError:
        return None, None
