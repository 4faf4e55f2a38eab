"""Temporary pixel reward used until `rlrf.rewards.registry` lands (then deleted).

Blurred pixel L2 (RLRF §3.2, Eq. L2 reward on renders), −1 for a completion that does
not render or renders near-white (the blank-output hack).
"""

from __future__ import annotations

import re

import cv2
import numpy as np

from rlrf.config import RenderConfig, RewardSpec
from rlrf.train.data import render_input

_SVG = re.compile(r"<svg\b.*?</svg>", re.S)


def extract(completion) -> str | None:
    text = completion[0]["content"] if isinstance(completion, list) else completion
    m = _SVG.search(text)
    return m.group(0) if m else None


def _array(svg: str | None, size: int) -> np.ndarray | None:
    if svg is None:
        return None
    im = render_input(svg, size)
    return None if im is None else np.asarray(im, dtype=np.float32) / 255.0


class PixelL2Shim:
    """1 − 2·MSE of Gaussian-blurred renders, in [−1, 1]; −1 for failed or blank renders."""

    def __init__(self, size: int, blur_sigma: float, near_white: float):
        self.size, self.blur_sigma, self.near_white = size, blur_sigma, near_white
        self.__name__ = "l2"

    def _blur(self, a: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(a, (0, 0), self.blur_sigma) if self.blur_sigma > 0 else a

    def __call__(self, completions, gt_svg, **kwargs) -> list[float]:
        out = []
        for c, gt in zip(completions, gt_svg, strict=True):
            pred, target = _array(extract(c), self.size), _array(gt, self.size)
            if (
                pred is None
                or target is None
                or (pred >= 250 / 255).all(-1).mean() >= self.near_white
            ):
                out.append(-1.0)
                continue
            mse = float(((self._blur(pred) - self._blur(target)) ** 2).mean())
            out.append(max(-1.0, 1.0 - 2.0 * mse))
        return out


def build_rewards(specs: list[RewardSpec], render: RenderConfig, size: int, tokenizer=None):
    fn = PixelL2Shim(size, blur_sigma=2.0, near_white=render.near_white_threshold)
    return [fn], [1.0], [None], []
