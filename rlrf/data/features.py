"""Render-based curation features: renders, white share, colour entropy, colour histogram.

SVG-Stack-Hard (paper §4 / App. A) drops broken SVGs, white/blank renders and low
colour-entropy images; the RL set keeps high colour-entropy ones. Rendering goes through
the shared, limited worker pool, so a hostile SVG in a corpus costs one timeout.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from rlrf.config import RenderConfig
from rlrf.svg.pool import shared_pool
from rlrf.svg.render import RenderFailure, render_unbounded

HIST_LEVELS = 4  # per channel -> 64-bin coarse colour histogram, the clustering feature

FEATURE_SCHEMA = pa.schema([
    ("sample_id", pa.string()),
    ("render_ok", pa.bool_()),
    ("render_error", pa.string()),
    ("white_share", pa.float32()),
    ("color_entropy", pa.float32()),
    ("color_hist", pa.list_(pa.float32())),
])


def color_entropy(img: np.ndarray, levels: int = 8) -> float:
    """Shannon entropy (bits) of the image's colours quantised to `levels` per channel."""
    q = (img.astype(np.uint16) * levels // 256).reshape(-1, 3)
    codes = (q[:, 0] * levels + q[:, 1]) * levels + q[:, 2]
    counts = np.bincount(codes, minlength=levels**3).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def white_share(img: np.ndarray, tol: int = 8) -> float:
    """Share of pixels within `tol` of pure white on every channel."""
    return float((img >= 255 - tol).all(axis=-1).mean())


def color_hist(img: np.ndarray, levels: int = HIST_LEVELS) -> np.ndarray:
    q = (img.astype(np.uint16) * levels // 256).reshape(-1, 3)
    codes = (q[:, 0] * levels + q[:, 1]) * levels + q[:, 2]
    h = np.bincount(codes, minlength=levels**3).astype(np.float32)
    return h / max(h.sum(), 1.0)


def image_features(svg: str, size: int, limits: RenderConfig) -> tuple[float, float, np.ndarray] | RenderFailure:
    """(white share, colour entropy, colour histogram) of one render, or its failure.
    Runs inside a render worker, so only these few numbers cross the process boundary,
    never the image."""
    img = render_unbounded(svg, size, limits)  # inside a pool worker: the pool bounds it
    if isinstance(img, RenderFailure):
        return img
    return white_share(img), color_entropy(img), color_hist(img)


def feature_columns(svgs: list[str], size: int, limits: RenderConfig) -> dict[str, list]:
    """render_ok, render_error, white_share, color_entropy, color_hist of each SVG, computed
    in the shared render pool's workers (bounded time and memory per SVG)."""
    results = shared_pool(limits).map(image_features, [(s, size, limits) for s in svgs])
    cols: dict[str, list] = {c: [] for c in FEATURE_SCHEMA.names if c != "sample_id"}
    for res in results:
        failed = isinstance(res, RenderFailure)
        cols["render_ok"].append(not failed)
        cols["render_error"].append(res.reason if failed else None)
        cols["white_share"].append(None if failed else res[0])
        cols["color_entropy"].append(None if failed else res[1])
        cols["color_hist"].append(None if failed else np.asarray(res[2], np.float32).tolist())
    return cols


def render_features(sample_ids: list[str], svgs: list[str], size: int, limits: RenderConfig) -> pa.Table:
    """One row per SVG; a failed render is a row with render_ok = False and its reason."""
    return pa.table({"sample_id": pa.array(sample_ids, pa.string()), **feature_columns(svgs, size, limits)},
                    schema=FEATURE_SCHEMA)
