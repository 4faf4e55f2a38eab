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
from rlrf.data.normalize import round_decimals, strip_xml_header, svg_hash_and_first
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


def prepare(raw: pa.Table, cfg: CurateConfig, funnel: Funnel) -> pa.Table:
    """Normalise and apply cheap filters (the 2.1M -> 1.7M step); adds a `hash` column."""
    raw = check_rows(raw, funnel)
    svg = strip_xml_header(raw["svg"])
    svg = round_decimals(svg, cfg.round_decimals)
    rows = raw.set_column(raw.schema.get_field_index("svg"), "svg", svg)
    rows = _strip_active_content(rows, funnel)
    if cfg.grid is not None:
        rows = redraw_on_grid(rows, cfg, funnel)
    for name, column, drop_fn in cheap_filters(cfg):
        dropped = drop_fn(rows[column])
        funnel.record(rows["sample_id"], rows["source"], name, dropped)
        rows = rows.filter(pc.invert(dropped))
    hashes, first = svg_hash_and_first(rows["svg"])
    dup = pc.invert(first)
    funnel.record(rows["sample_id"], rows["source"], "dedupe", dup,
                  reasons=pc.if_else(dup, "duplicate", "pass"))
    return rows.append_column("hash", hashes).filter(first)


def check_rows(raw: pa.Table, funnel: Funnel) -> pa.Table:
    """Rows a loader could not read (`error`, e.g. invalid_utf8) and rows without a
    sample_id leave here, named in the funnel; rows sharing a sample_id with different
    SVG text get distinct ids (`<id>~<content hash>`), so no row is ever joined to
    another's features. Recorded only when some row needs it."""
    n = raw.num_rows
    errors = raw["error"].to_pylist() if "error" in raw.column_names else [None] * n
    if "error" in raw.column_names:
        raw = raw.drop_columns(["error"])
    ids = raw["sample_id"].to_pylist()
    reasons = [e or ("null_sample_id" if i is None else "pass") for e, i in zip(errors, ids, strict=True)]
    counts = Counter(i for i, r in zip(ids, reasons, strict=True) if r == "pass")
    if all(r == "pass" for r in reasons) and all(c == 1 for c in counts.values()):
        return raw
    svgs = raw["svg"].to_pylist()
    new_ids = list(ids)
    for k, (i, r) in enumerate(zip(ids, reasons, strict=True)):
        if r == "pass" and counts[i] > 1:
            new_ids[k] = f"{i}~{hashlib.sha256((svgs[k] or '').encode()).hexdigest()[:10]}"
            reasons[k] = "rekeyed_duplicate_id"
    dropped = [r not in ("pass", "rekeyed_duplicate_id") for r in reasons]
    log.warning("curate: %d rows dropped (%s), %d re-keyed (duplicate sample_id)", sum(dropped),
                dict(Counter(r for r, d in zip(reasons, dropped, strict=True) if d)),
                reasons.count("rekeyed_duplicate_id"))
    funnel.record(ids, raw["source"], "row_check", dropped, reasons=reasons)
    raw = raw.set_column(raw.schema.get_field_index("sample_id"), "sample_id", pa.array(new_ids, pa.string()))
    return raw.filter(pa.array([not d for d in dropped]))


def _strip_active_content(rows: pa.Table, funnel: Funnel) -> pa.Table:
    """Scripts and event handlers never reach a stored SVG (`rlrf.data.clean`)."""
    fixed = strip_active_content(rows["svg"])
    if not fixed:
        return rows
    svgs = rows["svg"].to_pylist()
    reasons = ["pass"] * rows.num_rows
    for i, (svg, error) in fixed.items():
        svgs[i], reasons[i] = svg, error or "stripped"
    dropped = [r.startswith("active_content:") for r in reasons]
    funnel.record(rows["sample_id"], rows["source"], "active_content", dropped, reasons=reasons)
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
    funnel.record(rows["sample_id"], rows["source"], "grid", dropped, reasons=reasons)
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
    funnel.record(rows["sample_id"], rows["source"], "route", [False] * len(pools), reasons=reasons)
    out = {}
    pool_arr = pa.array(pools, pa.string())
    for p in sorted(set(pools)):
        out[p] = rows.filter(pc.equal(pool_arr, p))
    return out


def select(pools: dict[str, pa.Table], features: pa.Table, n_tokens: dict[str, int],
           cfg: CurateConfig, seed: int, funnel: Funnel,
           embeddings: dict[str, list[float]] | None = None) -> pa.Table:
    """Apply render/token filters per pool and sample the final splits. `embeddings`
    (e.g. DINOv2 of eval-pool rows) replace colour histograms for the test_hard clusters."""
    feats = {r["sample_id"]: r for r in features.to_pylist()}
    parts = []
    for pool, rows in sorted(pools.items()):
        rows = _with_features(rows, feats, n_tokens)
        rows = _drop(rows, funnel, "broken", lambda r: not r["render_ok"],
                     lambda r: f"render_failed:{r['render_error']}")
        rows = _drop(rows, funnel, "white_background", lambda r: r["white_share"] >= cfg.white_threshold)
        if pool == EVAL_POOL:
            parts.append(_select_test_hard(rows, cfg, seed, funnel, embeddings))
        elif pool == TRAIN_POOL:
            parts.append(_select_train_rl(rows, cfg, seed, funnel))
        elif pool == TEST_POOL:
            rows = _drop_too_long(rows, cfg, funnel)
            parts.append(_sample(rows, "test", cfg.test_size, seed, funnel))
        else:
            parts.append(_sample(rows, pool, cfg.ood_size, seed, funnel))
    return pa.Table.from_pylist([r for part in parts for r in part], schema=SAMPLES_SCHEMA)


def _select_test_hard(rows: list[dict], cfg: CurateConfig, seed: int, funnel: Funnel,
                      embeddings: dict[str, list[float]] | None) -> list[dict]:
    rows = _drop(rows, funnel, "low_color_entropy", lambda r: r["color_entropy"] < cfg.hard_min_color_entropy)
    rows = _drop(rows, funnel, "short", lambda r: r["n_tokens"] < cfg.hard_min_tokens)
    if embeddings:
        rows = _drop(rows, funnel, "no_embedding", lambda r: r["sample_id"] not in embeddings)
    vectors = [embeddings[r["sample_id"]] if embeddings else r["_hist"] for r in rows]
    feats = np.array(vectors, dtype=np.float32).reshape(len(rows), -1)
    labels = kmeans_labels(feats, cfg.cluster.k, seed)
    for r, c in zip(rows, labels, strict=True):
        r["cluster"] = int(c)
    keep = set(stratified_sample(labels, cfg.test_hard_size, seed).tolist())
    rows = _drop(rows, funnel, "quota_test_hard", lambda r: r["_i"] not in keep, reindex=False)
    return _assign(rows, "test_hard")


def _sample(rows: list[dict], split: str, size: int, seed: int, funnel: Funnel) -> list[dict]:
    keep = set(random_sample(len(rows), size, seed).tolist())
    rows = _drop(rows, funnel, f"quota_{split}", lambda r: r["_i"] not in keep, reindex=False)
    return _assign(rows, split)


def _drop_too_long(rows: list[dict], cfg: CurateConfig, funnel: Funnel) -> list[dict]:
    if cfg.train_max_tokens is None:
        return rows
    cap = cfg.train_max_tokens
    return _drop(rows, funnel, "too_long", lambda r: r["n_tokens"] > cap, lambda r: f"too_long:{r['n_tokens']}>{cap}")


def _select_train_rl(rows: list[dict], cfg: CurateConfig, seed: int, funnel: Funnel) -> list[dict]:
    """The RL set (high colour entropy, long enough, short enough for a roll-out to finish
    within `rl_max_tokens`) is drawn first; the rest is the SFT set, whose SVGs must fit
    the SFT context: longer ones leave through the `too_long` filter (never truncated by
    the trainer, never dropped silently)."""
    rl_cap = cfg.rl_max_tokens or cfg.train_max_tokens
    eligible = [i for i, r in enumerate(rows)
                if r["color_entropy"] >= cfg.rl_min_color_entropy and r["n_tokens"] >= cfg.rl_min_tokens
                and (rl_cap is None or r["n_tokens"] <= rl_cap)]
    picked = {eligible[i] for i in random_sample(len(eligible), cfg.rl_size, seed)}
    splits = ["rl" if i in picked else "train" for i in range(len(rows))]
    funnel.record([r["sample_id"] for r in rows], [r["source"] for r in rows], "rl_select",
                  [False] * len(rows), reasons=splits)
    rl = [dict(r, split="rl") for i, r in enumerate(rows) if i in picked]
    sft = _drop_too_long([r for i, r in enumerate(rows) if i not in picked], cfg, funnel)
    return rl + [dict(r, split="train") for r in sft]


def _with_features(rows: pa.Table, feats: dict[str, dict], n_tokens: dict[str, int]) -> list[dict]:
    out = []
    for r in rows.to_pylist():
        f = feats[r["sample_id"]]
        w, h = viewbox_size(r["svg"])
        out.append(dict(r, render_ok=f["render_ok"], render_error=f["render_error"],
                        white_share=f["white_share"], color_entropy=f["color_entropy"],
                        _hist=f["color_hist"], n_tokens=n_tokens[r["sample_id"]],
                        width=w, height=h, cluster=None))
    return out


def _drop(rows: list[dict], funnel: Funnel, name: str, pred, reason=None, reindex: bool = True) -> list[dict]:
    if reindex:
        for i, r in enumerate(rows):
            r["_i"] = i
    dropped = [bool(pred(r)) for r in rows]
    reasons = [(reason(r) if reason else name) if d else "pass" for r, d in zip(rows, dropped, strict=True)]
    funnel.record([r["sample_id"] for r in rows], [r["source"] for r in rows], name, dropped, reasons)
    kept = [r for r, d in zip(rows, dropped, strict=True) if not d]
    for i, r in enumerate(kept):
        r["_i"] = i
    return kept


def _assign(rows: list[dict], split: str) -> list[dict]:
    return [dict(r, split=split) for r in rows]


_VIEWBOX = re.compile(r"""viewBox\s*=\s*["']\s*[-\d.eE+]+[\s,]+[-\d.eE+]+[\s,]+([-\d.eE+]+)[\s,]+([-\d.eE+]+)""")


def viewbox_size(svg: str) -> tuple[float | None, float | None]:
    m = _VIEWBOX.search(svg or "")
    if not m:
        return None, None
    try:
        return float(m.group(1)), float(m.group(2))
    except ValueError:
        return None, None
