"""What every score shares: the metric declaration, the per-row statuses, and the one way a
weight loader says that its weights are not on this machine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rlrf.weights import WeightsUnavailable

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


@contextmanager
def weights_of(what: str, source: str | None = None) -> Iterator[None]:
    """Turn any loader error (missing file, offline hub, corrupt or partial cache, version
    mismatch) into `WeightsUnavailable(what, reason)`: not available here, said once.
    `source` (a hub id or path) prefixes the reason."""
    try:
        yield
    except WeightsUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 -- any loader error means "not available here"
        first = str(exc).splitlines()[0] if str(exc) else ""
        where = f"{source!r}: " if source else ""
        raise WeightsUnavailable(what, f"{where}{type(exc).__name__}: {first}") from exc
