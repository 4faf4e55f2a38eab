"""Weighted sum of reward components, each logged, only the total optimised.

RLRF (arXiv 2505.20793, Sec. 3.2) combines several rendering rewards with weights; the
length term is warmed up (its weight ramps in) to avoid early length collapse. As in
EasyR1's composite rewards, every component is computed once per batch and returned,
so the GRPO stage can store each in the `rollouts` table. Each component is also a TRL
reward function on its own (TRL applies `reward_weights`; GRPO warms a term up in
`rlrf.train.rollouts.Term`, from the `trainer_state` TRL hands every reward).

A roll-out that fails the reward layer's gate (`rlrf.rewards.rendering`: no `<svg`, no
closing `</svg>` within the budget, unparsable XML) scores −1 on every component here,
whatever a component returned, so no term (a user's dotted reward included) is paid on
top of it and the total is the floor −Σ w_k (the reference's short-circuit to −1,
HTplex/rlrf-rewarder `svg_compute_score`). The built-in terms apply the same gate
themselves, blank and failed renders included, so TRL's per-term path agrees.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence

import numpy as np

from rlrf.rewards.base import INVALID
from rlrf.rewards.rendering import prediction_svgs
from rlrf.svg.render import RenderFailure

log = logging.getLogger(__name__)


WARMUP_START = 0.1  # RLRF (arXiv 2505.20793): the length term starts at 0.1 of its weight


def warmup_weight(weight: float, warmup: dict | None, step: int) -> float:
    """Weight at `step`: ramps linearly from `start·weight` to `weight` over `steps` (None = constant).

    `start` defaults to the paper's 0.1 (`WARMUP_START`).
    """
    if not warmup:
        return float(weight)
    start = float(warmup.get("start", WARMUP_START))
    steps = max(1.0, float(warmup.get("steps", 1)))
    return float(weight) * (start + (1.0 - start) * min(1.0, max(0, step) / steps))


def _step(columns: dict) -> int:
    state = columns.get("trainer_state")
    return int(getattr(state, "global_step", 0) or 0)


class WeightedSum:
    """`total = Σ warmup_weight(w_k, warmup_k, step) · r_k`, skipping None/NaN components.

    `score(...)` returns {component name: values, "total": values}; calling the object
    returns the total, so it is itself a TRL reward function.
    """

    def __init__(
        self,
        funcs: Sequence[Callable],
        weights: Sequence[float],
        warmups: Sequence[dict | None] | None = None,
        name: str = "total",
    ):
        if len(funcs) != len(weights):
            raise ValueError(f"{len(funcs)} reward functions but {len(weights)} weights")
        self.funcs = list(funcs)
        self.weights = [float(w) for w in weights]
        self.warmups = list(warmups) if warmups is not None else [None] * len(self.funcs)
        names = [f.__name__ for f in self.funcs]
        if len(set(names)) != len(names) or name in names:
            raise ValueError(f"reward names must be unique and differ from {name!r}: {names}")
        self.__name__ = name

    def score(self, completions: Sequence, **columns) -> dict[str, list[float]]:
        step = _step(columns)
        out: dict[str, list[float]] = {}
        total = np.zeros(len(completions), dtype=np.float64)
        gated = [isinstance(s, RenderFailure) for s in prediction_svgs(completions, False)]
        for fn, weight, warmup in zip(self.funcs, self.weights, self.warmups, strict=True):
            values = [
                INVALID if bad else math.nan if v is None else float(v)
                for bad, v in zip(gated, fn(completions, **columns), strict=True)
            ]
            out[fn.__name__] = values
            total += warmup_weight(weight, warmup, step) * np.nan_to_num(
                np.asarray(values), nan=0.0
            )
        out[self.__name__] = total.tolist()
        if log.isEnabledFor(logging.DEBUG):
            means = {
                k: float(np.mean([x for x in v if x == x] or [math.nan])) for k, v in out.items()
            }
            log.debug("rewards at step %d: %s", step, means)
        return out

    def __call__(self, completions: Sequence, **columns) -> list[float]:
        return self.score(completions, **columns)[self.__name__]
