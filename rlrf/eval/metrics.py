"""Evaluation metrics per sample, from the metric registry `rlrf.scores.METRICS` (RLRF §4).

Every registered metric is a column of the `metrics` table (and, for learned metrics, a
`<name>_status` column); the table's schema is built here from the registry, so a new
metric is declared once, in `rlrf/scores/`. Beside the registry's metrics each row has
code efficiency (GT tokens - predicted tokens; StarVector's `count_token_length.py`
reports the opposite sign, the paper's tables use GT - prediction) and ink diagnostics
(prediction and target ink share, their ratio).

Unlike StarVector, a failed render is *counted* (status `render_failed`) and scored
as a blank white image rather than silently dropped, and metrics whose pretrained
weights cannot be loaded are NULL with status `weights_unavailable` -- never a score
from random weights.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from rlrf.scores import METRICS, Metric
from rlrf.scores.base import (
    GT_RENDER_FAILED,
    NOT_APPLICABLE,
    OK,
    RENDER_FAILED,
    WEIGHTS_UNAVAILABLE,
)
from rlrf.scores.pixels import blank_image, ink_layout, ink_share
from rlrf.weights import WeightsUnavailable

log = logging.getLogger(__name__)

LEARNED = tuple(m for m in METRICS if m.needs_weights)
LOWER_IS_BETTER = frozenset(m.name for m in METRICS if not m.higher_is_better)
INK_DIAGNOSTICS = ("ink_pred", "ink_gt", "ink_ratio")
# 8 x 8 ink layouts (`rlrf.scores.pixels.ink_layout`) of prediction and target: `mode_collapse`
# counts one drawing repeated for different targets
INK_LAYOUTS = ("ink_layout_pred", "ink_layout_gt")

KEYS = [("model_label", pa.string()), ("dataset", pa.string()), ("sample_id", pa.string())]
METRICS_SCHEMA = pa.schema([
    *KEYS,
    *((m.name, pa.float64()) for m in METRICS),
    *((f"{m.name}_status", pa.string()) for m in LEARNED),
    *((name, pa.float64()) for name in INK_DIAGNOSTICS),
    *((name, pa.int64()) for name in INK_LAYOUTS),
    ("code_eff", pa.int64()),
    ("gt_tokens", pa.int64()),
    ("pred_tokens", pa.int64()),
    ("render_ok", pa.bool_()),
    ("status", pa.string()),
    ("error", pa.string()),
    ("seconds", pa.float64()),
])


def metrics_for(task: str) -> list[Metric]:
    """The registry's metrics that apply to `task` (others are NULL, `not_applicable`)."""
    return [m for m in METRICS if m.task in (None, task)]


def code_efficiency(gt_tokens: int | None, pred_tokens: int | None) -> int | None:
    """GT tokens - predicted tokens: positive = shorter than the original SVG."""
    if gt_tokens is None or pred_tokens is None:
        return None
    return int(gt_tokens) - int(pred_tokens)


@dataclass
class MetricModels:
    """Loaded learned scorers by metric name, and the reason each missing one is missing."""

    task: str = "img2svg"
    scorers: dict[str, Callable] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)

    def status(self, metric: Metric) -> str:
        if metric.task not in (None, self.task):
            return NOT_APPLICABLE
        return OK if metric.name in self.scorers else WEIGHTS_UNAVAILABLE

    def notes(self) -> list[str]:
        return [f"WEIGHTS UNAVAILABLE: {name} is NULL (status weights_unavailable): {reason}"
                for name, reason in self.reasons.items()]


def load_metric_models(
    cfg: Any,
    device: str = "cpu",
    task: str = "img2svg",
    factories: dict[str, Callable[[], Callable]] | None = None,
) -> MetricModels:
    """Load the task's learned metrics per `EvalConfig`; a failure becomes a reason plus a
    loud warning. `factories` replace loaders by name (tests inject tiny random-init models
    through them; such scores prove a code path and are never results)."""
    out = MetricModels(task=task)
    for metric in metrics_for(task):
        if not metric.needs_weights:
            continue
        factory = (factories or {}).get(metric.name)
        try:
            out.scorers[metric.name] = factory() if factory else metric.load(cfg, device)
        except WeightsUnavailable as exc:
            out.reasons[metric.name] = str(exc)
            log.warning("WEIGHTS UNAVAILABLE: %s will be NULL (%s)", metric.name, exc)
    return out


def score_images(
    gts: Sequence[np.ndarray | None],
    preds: Sequence[np.ndarray | None],
    models: MetricModels,
    cfg: Any = None,
    captions: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Per-sample metrics of aligned GT / prediction renders (and captions, Text2SVG).

    A prediction of None (failed render) is scored as a blank white image and gets
    status `render_failed`; a GT of None cannot be compared at all (status
    `gt_render_failed`, every target metric NULL). Learned metrics without weights are
    NULL with `<metric>_status = weights_unavailable`. `cfg` (an `EvalConfig`) supplies
    metric options such as SSIM's window; None = defaults.
    """
    if len(gts) != len(preds):
        raise ValueError(f"{len(gts)} GT renders vs {len(preds)} predictions")
    applicable = metrics_for(models.task)
    rows: list[dict[str, Any]] = []
    filled: list[np.ndarray] = []
    for gt, pred in zip(gts, preds, strict=True):
        row: dict[str, Any] = {m.name: None for m in METRICS}
        row.update({f"{m.name}_status": models.status(m) for m in LEARNED})
        row.update({name: None for name in (*INK_DIAGNOSTICS, *INK_LAYOUTS)})
        row["render_ok"] = pred is not None
        row["status"] = OK if pred is not None else RENDER_FAILED
        p = pred
        if p is None:
            side = cfg.render_size if cfg is not None else 1
            p = blank_image((gt.shape[1], gt.shape[0]) if gt is not None else side)
        filled.append(p)
        if gt is None:
            row["status"] = GT_RENDER_FAILED
        else:
            for m in applicable:
                if m.fn is not None:
                    row[m.name] = float(m.fn(gt, p, **(m.options(cfg) if m.options and cfg else {})))
            row["ink_gt"], row["ink_pred"] = ink_share(gt), ink_share(p)
            row["ink_layout_gt"], row["ink_layout_pred"] = ink_layout(gt), ink_layout(p)
            # NULL on a blank target: a ratio to nothing is undefined, not infinite
            row["ink_ratio"] = row["ink_pred"] / row["ink_gt"] if row["ink_gt"] > 0 else None
        rows.append(row)
    for m in applicable:
        scorer = models.scorers.get(m.name)
        if scorer is None:
            continue
        idx = [i for i, g in enumerate(gts) if g is not None or not m.needs_target]
        if not idx:
            continue
        caps = [captions[i] for i in idx] if captions is not None else None
        for i, v in zip(idx, scorer([gts[i] for i in idx], [filled[i] for i in idx], caps), strict=True):
            rows[i][m.name] = float(v)
    return rows
