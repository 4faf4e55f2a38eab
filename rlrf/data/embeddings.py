"""DINOv2 embeddings for clustering SVG-Stack-Hard candidates (paper App. A: the test set
is sampled stratified over DINO-feature clusters).

The same loader and feature extractor as the DINO score metric (one source of truth).
Without weights the caller falls back to colour histograms and says so.
"""

from __future__ import annotations

import logging

import numpy as np

from rlrf.config import ClusterConfig, RenderConfig
from rlrf.scores.learned import DinoScorer, load_dino
from rlrf.svg.pool import shared_pool
from rlrf.svg.render import RenderFailure

log = logging.getLogger(__name__)

DINO_INPUT = 224


def dino_embeddings(sample_ids: list[str], svgs: list[str], cfg: ClusterConfig, limits: RenderConfig,
                    scorer: DinoScorer | None = None) -> dict[str, list[float]]:
    """sample_id -> mean-pooled DINOv2 feature of its render; rows that fail to render are absent.
    Raises `rlrf.weights.WeightsUnavailable` when the model is not on this machine."""
    scorer = scorer or load_dino(cfg.dino_model)
    renders = shared_pool(limits).render_many(svgs, DINO_INPUT)
    ok = [(sid, img) for sid, img in zip(sample_ids, renders, strict=True) if not isinstance(img, RenderFailure)]
    if not ok:
        return {}
    feats = scorer.features([img for _, img in ok]).numpy().astype(np.float32)
    feats /= np.linalg.norm(feats, axis=1, keepdims=True) + 1e-8
    return {sid: f.tolist() for (sid, _), f in zip(ok, feats, strict=True)}
