"""Image rewards: compare the roll-out's render with the target's (RLRF Sec. 3.2).

`ImageReward` does the shared part once: extract the SVG, render prediction and target
through the shared pool (cached per batch), give −1 to a prediction that fails the
reward layer's gate (unfinished, unparsable, not rendering or blank: see
`rlrf.rewards.rendering`), None when the *target* cannot be rendered (no signal;
TRL's weighted sum skips NaN), and hand the valid pairs to `score_pairs` in one batch.

Pixel rewards follow the authors' reward server, HTplex/rlrf-rewarder
`reward_score/rewards_img.py::reward_img_l2` with `normalize="avg_std"`:
each image is standardised by its own mean and std, `l2 = mean((a - b)²)` and the
reward is `-clip(l2 - 1, -1, 1) = clip(1 - l2, -1, 1)`; NaN (a constant image) → −1.
`l2_canny` runs the same on edge maps (`canny_img`: Canny 50/150, 3x3 dilation once,
then a 13x13 Gaussian blur — config `ht_exp2.yaml`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from rlrf.config import RenderConfig
from rlrf.rewards.base import INVALID
from rlrf.rewards.rendering import render_predictions, render_targets
from rlrf.scores.pixels import canny_edges, mse, unit_centred


class ImageReward(ABC):
    """Base class of rewards computed on renders; subclasses implement `score_pairs`."""

    needs_target = True

    def __init__(self, name: str, size: int, render: RenderConfig, strip_text: bool = False):
        self.__name__ = name
        self.size = size
        self.render = render
        self.strip_text = strip_text

    @abstractmethod
    def score_pairs(
        self, targets: list[np.ndarray | None], preds: list[np.ndarray], rows: dict[str, list]
    ) -> list[float]:
        """One reward per (target, prediction) pair of valid renders."""

    def __call__(self, completions: Sequence, gt_svg: Sequence[str] | None = None, **columns):
        preds = render_predictions(completions, self.size, self.render, self.strip_text, columns)
        if self.needs_target:
            if gt_svg is None:
                raise ValueError(f"reward {self.__name__!r} needs the `gt_svg` column")
            targets = render_targets(gt_svg, self.size, self.render)
        else:
            targets = [None] * len(preds)
        rewards: list[float | None] = [INVALID if p is None else None for p in preds]
        log_metric = columns.get("log_metric")  # TRL passes a scalar logger to reward funcs
        if callable(log_metric) and preds:
            log_metric(f"{self.__name__}/invalid_frac", sum(p is None for p in preds) / len(preds))
        keep = [
            i
            for i, p in enumerate(preds)
            if p is not None and (targets[i] is not None or not self.needs_target)
        ]
        if keep:
            rows = {
                k: [v[i] for i in keep]
                for k, v in columns.items()
                if isinstance(v, list | tuple) and len(v) == len(preds)
            }
            scores = self.score_pairs([targets[i] for i in keep], [preds[i] for i in keep], rows)
            for i, score in zip(keep, scores, strict=True):
                rewards[i] = float(score)
        return rewards


def l2_from_unit(target: np.ndarray | None, pred: np.ndarray | None) -> float:
    """The standardised-L2 reward from `unit_centred` vectors.

    With z = (x − mean) / std (population std, as numpy), mean(z_a²) = mean(z_b²) = 1 and
    mean(z_a·z_b) = ρ, the Pearson correlation, so l2 = 2 − 2ρ and the reward
    clip(1 − l2, −1, 1) = clip(2ρ − 1, −1, 1): one dot product per pair, and the
    target's vector is computed once for all its roll-outs.
    """
    if target is None or pred is None:
        return INVALID  # constant image: the reference's NaN → −1
    return float(np.clip(2.0 * float(np.dot(target, pred)) - 1.0, -1.0, 1.0))


def standardised_l2_reward(target: np.ndarray, pred: np.ndarray) -> float:
    """clip(1 − mean((z(target) − z(pred))²), −1, 1) with z = per-image standardisation."""
    return l2_from_unit(unit_centred(target), unit_centred(pred))


class L2Reward(ImageReward):
    """`l2`: standardised pixel L2 (see module docstring)."""

    def features(self, img: np.ndarray) -> np.ndarray | None:
        return unit_centred(img)

    def score_pairs(self, targets, preds, rows):
        # GRPO scores many roll-outs per target: the target's features are computed once.
        memo: dict[int, np.ndarray | None] = {}
        scores = []
        for target, pred in zip(targets, preds, strict=True):
            if id(target) not in memo:
                memo[id(target)] = self.features(target)
            scores.append(l2_from_unit(memo[id(target)], self.features(pred)))
        return scores


class PixelMSEReward(ImageReward):
    """`pixel_mse`: clip(1 − scale·MSE, −1, 1) on raw [0, 1] RGB renders — the evaluation's
    own MSE (`rlrf.scores.pixels.mse`, StarVector's definition), so the policy is optimised
    for exactly what the leaderboard reports. Unlike the standardised `l2`, it counts how
    much ink is drawn, so stray strokes cost reward; blank output still scores −1 through
    the blank rule shared by every reward term."""

    def __init__(self, name, size, render, strip_text=False, scale: float = 4.0):
        super().__init__(name, size, render, strip_text)
        self.scale = scale

    def score_pairs(self, targets, preds, rows):
        return [float(np.clip(1.0 - self.scale * mse(t, p), -1.0, 1.0)) for t, p in zip(targets, preds, strict=True)]


class L2CannyReward(L2Reward):
    """`l2_canny`: standardised L2 on blurred edge maps, rewarding matching outlines."""

    def __init__(self, name, size, render, strip_text=False, blur: int = 13, dilate: int = 3):
        super().__init__(name, size, render, strip_text)
        self.blur, self.dilate = blur, dilate

    def features(self, img: np.ndarray) -> np.ndarray | None:
        return unit_centred(canny_edges(img, self.blur, self.dilate))
