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
from rlrf.svg.render import RenderFailure

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


def render_features(sample_ids: list[str], svgs: list[str], size: int, limits: RenderConfig) -> pa.Table:
    """One row per SVG; a failed render is a row with render_ok = False and its reason."""
    results = shared_pool(limits).render_many(svgs, size)
    rows = []
    for sid, res in zip(sample_ids, results, strict=True):
        if isinstance(res, RenderFailure):
            rows.append({"sample_id": sid, "render_ok": False, "render_error": res.reason,
                         "white_share": None, "color_entropy": None, "color_hist": None})
        else:
            rows.append({"sample_id": sid, "render_ok": True, "render_error": None,
                         "white_share": white_share(res), "color_entropy": color_entropy(res),
                         "color_hist": color_hist(res).tolist()})
    return pa.Table.from_pylist(rows, schema=FEATURE_SCHEMA)
