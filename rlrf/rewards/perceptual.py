"""Learned perceptual rewards: DreamSim, DreamSim on edge maps, LPIPS (RLRF Sec. 3.2).

Definitions follow the authors' reward server HTplex/rlrf-rewarder
(`reward_score/rewards_img.py`): `DreamSimDistanceReward` returns `1 − 2·d` (its canny
variant runs DreamSim on dilated Canny edge maps), `RewardLpips` returns
`clamp(1 − 2·LPIPS, −1, 1)`. We clip all three to [−1, 1]. The scores and their weight
loaders are `rlrf.scores.learned` (LPIPS with the reference's `rewarder` inputs, not the
evaluation's StarVector inputs); this module only maps them to rewards.

Weights are never downloaded: the loaders check the local files first and raise
`WeightsUnavailable` at once; `build_rewards` then drops the term loudly (or fails when
the spec says `required`). Models are loaded lazily, on `load()` or the first call, and
are not pickled (a copy in another process loads its own).
"""

from __future__ import annotations

import os
from abc import abstractmethod

import numpy as np

from rlrf.config import RenderConfig
from rlrf.rewards.image import ImageReward
from rlrf.scores import learned


class ModelReward(ImageReward):
    """An image reward backed by a learned scorer loaded lazily and left out of pickles."""

    def __init__(self, name, size, render: RenderConfig, strip_text=False, device: str = "cpu"):
        super().__init__(name, size, render, strip_text)
        self.device = device
        self._model = None

    @abstractmethod
    def _load(self):
        """The scorer, loaded from local weights (raises WeightsUnavailable)."""

    def load(self) -> None:
        if self._model is None:
            self._model = self._load()

    def scores(self, targets, preds, rows) -> list[float]:
        """The scorer's raw scores of the valid pairs (loading it on first use)."""
        self.load()
        return self._model(targets, preds, rows.get("caption"))

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_model"] = None
        return state


def one_minus_twice(distances) -> list[float]:
    """The reference's distance-to-reward map: clip(1 − 2·d, −1, 1)."""
    return np.clip(1.0 - 2.0 * np.asarray(distances, dtype=np.float64), -1.0, 1.0).tolist()


class DreamSimReward(ModelReward):
    """`dreamsim` / `canny_dreamsim`: 1 − 2·DreamSim distance, clipped to [−1, 1]."""

    def __init__(
        self, name, size, render, cache_dir: str | None, strip_text=False, canny: bool = False,
        dreamsim_type: str = "ensemble", device: str = "cpu", batch_size: int = 16,
    ):  # fmt: skip
        super().__init__(name, size, render, strip_text, device)
        self.cache_dir, self.canny, self.dreamsim_type = cache_dir, canny, dreamsim_type
        self.batch_size = batch_size

    def _load(self):
        model, preprocess = learned.load_dreamsim(self.__name__, self.cache_dir, self.dreamsim_type, self.device)
        return learned.DreamSimScorer(model, preprocess, self.device, self.canny, self.batch_size)

    def score_pairs(self, targets, preds, rows):
        return one_minus_twice(self.scores(targets, preds, rows))


class LpipsReward(ModelReward):
    """`lpips`: clamp(1 − 2·LPIPS, −1, 1) with the reference's inputs (module docstring)."""

    def __init__(
        self, name, size, render, strip_text=False, net: str = "alex", weights: str | None = None,
        device: str = "cpu", batch_size: int = 8,
    ):  # fmt: skip
        super().__init__(name, size, render, strip_text, device)
        self.net, self.weights, self.batch_size = net, weights, batch_size

    def _load(self):
        net = learned.load_lpips_net(self.__name__, self.net, self.weights, self.device)
        return learned.LpipsScorer(net, self.device, input_norm="rewarder", batch_size=self.batch_size)

    def score_pairs(self, targets, preds, rows):
        return one_minus_twice(self.scores(targets, preds, rows))


def default_device() -> str:
    """cuda when available and not disabled, else cpu (rewards run beside the trainer)."""
    if os.environ.get("RLRF_REWARD_DEVICE"):
        return os.environ["RLRF_REWARD_DEVICE"]
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"
