"""What every score shares: the metric declaration and the per-row statuses (a weight loader
says its weights are missing one way: `rlrf.weights.weights_of`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rlrf.weights import weights_of

__all__ = ["GT_RENDER_FAILED", "NOT_APPLICABLE", "OK", "RENDER_FAILED", "WEIGHTS_UNAVAILABLE", "Metric", "weights_of"]

OK = "ok"
RENDER_FAILED = "render_failed"
GT_RENDER_FAILED = "gt_render_failed"
WEIGHTS_UNAVAILABLE = "weights_unavailable"
NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class Metric:
    """One evaluation metric, declared once: the `metrics` table's column, the leaderboard's
    mean and CI, the report's column and the weights note all come from this.

    - `fn(gt, pred, **options(cfg))`: a pixel metric of two (h, w, 3) uint8 renders;
    - `load(cfg, device)`: a learned metric's scorer `(gts, preds, captions) -> list[float]`,
      raising `WeightsUnavailable` when its weights are not here (the column is then NULL
      with `<name>_status = weights_unavailable`);
    - `task`: only scored for this task (else `not_applicable`); None = every task;
    - `needs_target`: scored only where the GT rendered (text metrics read the caption).
    """

    name: str
    higher_is_better: bool
    fn: Callable[..., float] | None = None
    load: Callable[[Any, str], Callable] | None = None
    options: Callable[[Any], dict] | None = None
    task: str | None = None
    needs_target: bool = True
    doc: str = ""

    @property
    def needs_weights(self) -> bool:
        return self.load is not None
