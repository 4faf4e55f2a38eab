"""Learned perceptual rewards: DreamSim, DreamSim on edge maps, LPIPS (RLRF Sec. 3.2).

Definitions follow the authors' reward server HTplex/rlrf-rewarder
(`reward_score/rewards_img.py`): `DreamSimDistanceReward` returns `1 − 2·d` (its canny
variant runs DreamSim on dilated Canny edge maps), `RewardLpips` returns
`clamp(1 − 2·LPIPS, −1, 1)`. We clip all three to [−1, 1].

`lpips` is computed exactly as `RewardLpips` does, not as the evaluation's LPIPS
(`rlrf.eval.metrics.LpipsScorer`, StarVector's VGG + ImageNet normalisation): the
AlexNet trunk, both renders resized to 256×256 (`cv2.resize`, bilinear), RGB scaled to
[0, 1] and passed to `lpips.LPIPS.forward` *as they are*. lpips documents [−1, 1]
inputs (`normalize=False` means "already in [−1, 1]"), so the reference's network sees
a shifted, half-contrast image; the reward's scale depends on it, so we reproduce it.

Weights are never downloaded: the loaders check the local files first and raise
`WeightsUnavailable` at once; `build_rewards` then drops the term loudly (or fails when
the spec says `required`). Models are loaded lazily, on `load()` or the first call, and
are not pickled (a copy in another process loads its own).
"""

from __future__ import annotations

import logging
import os
from abc import abstractmethod
from pathlib import Path

import numpy as np

from rlrf.config import RenderConfig
from rlrf.rewards.image import ImageReward, canny_edges
from rlrf.weights import WeightsUnavailable, downloads_allowed, offline_hub

log = logging.getLogger(__name__)

# dreamsim.model.download_weights: files that must already be in `cache_dir`.
_DREAMSIM_FILES = {
    "ensemble": ["dino_vitb16_pretrain.pth", "open_clip_vitb16_pretrain.pth.tar",
                 "clip_vitb16_pretrain.pth.tar", "ensemble_lora"],
    "dino_vitb16": ["dino_vitb16_pretrain.pth", "dino_vitb16_single_lora"],
    "open_clip_vitb32": ["open_clip_vitb32_pretrain.pth.tar", "open_clip_vitb32_single_lora"],
    "clip_vitb32": ["clip_vitb32_pretrain.pth.tar", "clip_vitb32_single_lora"],
}  # fmt: skip
DREAMSIM_TYPES = tuple(_DREAMSIM_FILES)


def load_dreamsim(name: str, cache_dir: str | None, dreamsim_type: str, device: str):
    """(model, preprocess) from `dreamsim.dreamsim`, only when every file is already local.

    DreamSim downloads its checkpoints and, for DINO backbones, the
    `facebookresearch/dino` torch-hub repo into `cache_dir`; both must be present.
    """
    if not cache_dir:
        raise WeightsUnavailable(name, "no `model:` (DreamSim cache dir) in the reward spec")
    root = Path(cache_dir)
    needed = list(_DREAMSIM_FILES.get(dreamsim_type, []))
    if dreamsim_type in ("ensemble", "dino_vitb16"):
        needed.append("facebookresearch_dino_main")
    missing = [f for f in needed if not (root / f).exists()]
    if (not root.is_dir() or missing) and not downloads_allowed():
        raise WeightsUnavailable(
            name, f"{root} lacks {missing or 'everything'} (no download attempted)"
        )
    offline_hub()
    try:
        from dreamsim import dreamsim

        model, preprocess = dreamsim(
            pretrained=True, device=device, cache_dir=str(root), dreamsim_type=dreamsim_type
        )
    except Exception as exc:  # noqa: BLE001  (corrupt / partial cache: not available)
        raise WeightsUnavailable(name, f"{type(exc).__name__}: {exc}") from exc
    return model.eval(), preprocess


def load_lpips_net(name: str, net: str, weights: str | None, device: str):
    """The `lpips` network, through the evaluation loader (one source of truth, no download)."""
    from rlrf.eval import metrics

    try:
        return metrics.load_lpips(net, weights, device=device, input_norm="lpips").net
    except WeightsUnavailable as exc:
        raise WeightsUnavailable(name, str(exc)) from exc


class _ModelReward(ImageReward):
    """An image reward backed by a torch model loaded lazily and left out of pickles."""

    def __init__(self, name, size, render: RenderConfig, strip_text=False, device: str = "cpu"):
        super().__init__(name, size, render, strip_text)
        self.device = device
        self._model = None

    @abstractmethod
    def _load(self):
        """The scoring model, loaded from local weights (raises WeightsUnavailable)."""

    def load(self) -> None:
        if self._model is None:
            self._model = self._load()

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_model"] = None
        return state


class DreamSimReward(_ModelReward):
    """`dreamsim` / `canny_dreamsim`: 1 − 2·DreamSim distance, clipped to [−1, 1]."""

    def __init__(
        self, name, size, render, cache_dir: str | None, strip_text=False, canny: bool = False,
        dreamsim_type: str = "ensemble", device: str = "cpu", batch_size: int = 16,
    ):  # fmt: skip
        super().__init__(name, size, render, strip_text, device)
        self.cache_dir, self.canny, self.dreamsim_type = cache_dir, canny, dreamsim_type
        self.batch_size = batch_size

    def _load(self):
        return load_dreamsim(self.__name__, self.cache_dir, self.dreamsim_type, self.device)

    def _prepare(self, img: np.ndarray) -> np.ndarray:
        if self.canny:
            # rlrf-rewarder's dreamsim canny variant: dilated edges, no blur, 3 channels
            edges = canny_edges(img, blur=0, dilate=3)
            return np.repeat(edges[..., None], 3, axis=-1)
        return img

    def score_pairs(self, targets, preds, rows):
        import torch
        from PIL import Image

        self.load()
        model, preprocess = self._model
        out: list[float] = []
        for start in range(0, len(preds), self.batch_size):
            chunk = range(start, min(start + self.batch_size, len(preds)))
            a = torch.cat([preprocess(Image.fromarray(self._prepare(targets[i]))) for i in chunk])
            b = torch.cat([preprocess(Image.fromarray(self._prepare(preds[i]))) for i in chunk])
            with torch.no_grad():
                dist = model(b.to(self.device), a.to(self.device)).reshape(-1).float().cpu().numpy()
            out.extend(np.clip(1.0 - 2.0 * dist, -1.0, 1.0).tolist())
        return out


LPIPS_SIZE = 256  # RewardLpips resizes both images to 256×256


def lpips_reward_input(img: np.ndarray) -> np.ndarray:
    """(3, 256, 256) float32 in [0, 1] from an RGB uint8 render, as `RewardLpips` builds it."""
    import cv2

    if img.shape[:2] != (LPIPS_SIZE, LPIPS_SIZE):
        img = cv2.resize(img, (LPIPS_SIZE, LPIPS_SIZE))  # INTER_LINEAR, cv2's default
    return img.transpose(2, 0, 1).astype(np.float32) / 255.0


class LpipsReward(_ModelReward):
    """`lpips`: clamp(1 − 2·LPIPS, −1, 1) with the reference's inputs (module docstring)."""

    def __init__(
        self, name, size, render, strip_text=False, net: str = "alex", weights: str | None = None,
        device: str = "cpu", batch_size: int = 8,
    ):  # fmt: skip
        super().__init__(name, size, render, strip_text, device)
        self.net, self.weights, self.batch_size = net, weights, batch_size

    def _load(self):
        return load_lpips_net(self.__name__, self.net, self.weights, self.device)

    def score_pairs(self, targets, preds, rows):
        import torch

        self.load()

        def tensor(images):
            return torch.from_numpy(np.stack([lpips_reward_input(i) for i in images])).to(self.device)

        out: list[float] = []
        for start in range(0, len(preds), self.batch_size):
            a = tensor(targets[start : start + self.batch_size])
            b = tensor(preds[start : start + self.batch_size])
            with torch.no_grad():
                dist = self._model(a, b).reshape(-1).float().cpu().numpy()  # normalize=False
            out.extend(np.clip(1.0 - 2.0 * dist, -1.0, 1.0).tolist())
        return out


def default_device() -> str:
    """cuda when available and not disabled, else cpu (rewards run beside the trainer)."""
    if os.environ.get("RLRF_REWARD_DEVICE"):
        return os.environ["RLRF_REWARD_DEVICE"]
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"
