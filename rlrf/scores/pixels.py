"""Pixel scores of two renders, as the paper reports them (RLRF §4, Tables 1-2), and the
image features the pixel rewards compare.

The paper evaluates with StarVector's harness (joanrod/star-vector,
`starvector/metrics/`), so every definition here follows that code to keep our
numbers comparable with the published tables:

- both images are rasterised at 512x512 on white (aspect kept, centred), RGB;
- MSE: mean squared error of [0, 1] RGB tensors (`compute_l2.py`);
- SSIM: `skimage.metrics.structural_similarity` with `win_size=11`, `sigma=1.5`,
  `channel_axis=-1` (`compute_SSIM.py`). StarVector does not pass
  `gaussian_weights=True`, so skimage ignores `sigma` and uses an 11x11 uniform
  window; we do the same by default (`EvalConfig.ssim_gaussian_weights`).

Not in the paper, added because MSE and SSIM on mostly-white targets pay for drawing
nothing (a blank canvas, or one short dash, scores close to an honest attempt):

- ink IoU: intersection over union of the two *ink masks* (a pixel is ink when any RGB
  channel is < 200, judged at 128 px like a thumbnail). A blank or a dash scores ~0 on a
  target with ink; an attempt in the right place scores > 0;
- ink share (ink pixels / all pixels) of prediction and target, and their ratio, to see
  whether a model draws about as much as the target does (diagnostics, `rlrf.eval.metrics`).

A new pixel metric is a function here plus one line in `PIXEL_METRICS`: the `metrics`
table, the leaderboard (mean and 95% CI), the OOD gap and the report pick it up.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.metrics import structural_similarity

from rlrf.scores.base import Metric


def blank_image(size: int | tuple[int, int]) -> np.ndarray:
    """The image a failed render is scored as: white, (h, w, 3) uint8."""
    w, h = (size, size) if isinstance(size, int) else size
    return np.full((h, w, 3), 255, dtype=np.uint8)


def _check_rgb(img: np.ndarray) -> None:
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected (h, w, 3) uint8 RGB, got {img.shape} {img.dtype}")


def to_unit(img: np.ndarray) -> np.ndarray:
    """uint8 (h, w, 3) -> float64 in [0, 1] (torchvision's ToTensor scaling)."""
    _check_rgb(img)
    return img.astype(np.float64) / 255.0


def _check_pair(gt: np.ndarray, pred: np.ndarray) -> None:
    if gt.shape != pred.shape:
        raise ValueError(f"GT {gt.shape} and prediction {pred.shape} must be rendered at the same size")


def mse(gt: np.ndarray, pred: np.ndarray) -> float:
    """Mean squared error over [0, 1] RGB pixels (StarVector `L2`)."""
    _check_pair(gt, pred)
    return float(np.mean((to_unit(gt) - to_unit(pred)) ** 2))


def ssim(
    gt: np.ndarray,
    pred: np.ndarray,
    *,
    win_size: int = 11,
    sigma: float = 1.5,
    gaussian_weights: bool = False,
) -> float:
    """SSIM over RGB channels on [0, 1] images (StarVector `SSIM`; see module docstring)."""
    _check_pair(gt, pred)
    return float(
        structural_similarity(
            to_unit(gt),
            to_unit(pred),
            win_size=win_size,
            sigma=sigma,
            gaussian_weights=gaussian_weights,
            channel_axis=-1,
            data_range=1.0,
        )
    )


INK_THRESHOLD = 200  # a pixel is ink when any channel is darker than this (0-255)
INK_SIZE = 128  # ink masks are judged at thumbnail size, where hairline anti-aliasing is grey


def ink_mask(img: np.ndarray, size: int | None = INK_SIZE, threshold: int = INK_THRESHOLD) -> np.ndarray:
    """(h, w) bool: pixels where any channel is < `threshold`, after a box-filter resize to
    `size` x `size` (None keeps the render's own size)."""
    _check_rgb(img)
    if size is not None and img.shape[:2] != (size, size):
        from PIL import Image

        img = np.asarray(Image.fromarray(img).resize((size, size), Image.Resampling.BOX))
    return (img < threshold).any(axis=-1)


def ink_share(img: np.ndarray, size: int | None = INK_SIZE) -> float:
    """Share of ink pixels in [0, 1] (see `ink_mask`)."""
    return float(ink_mask(img, size).mean())


def ink_iou(gt: np.ndarray, pred: np.ndarray, size: int | None = INK_SIZE) -> float:
    """Intersection over union of the ink masks of target and prediction, in [0, 1].

    Identical drawings score 1, drawings with no common ink 0, and a blank prediction 0
    on any target with ink. Two blank images have an empty union; they *agree* on where
    ink is (nowhere), so the score is defined as 1. Curated targets are never blank
    (curation drops near-white renders), so this case cannot reward a blank output.
    """
    _check_pair(gt, pred)
    a, b = ink_mask(gt, size), ink_mask(pred, size)
    union = int(np.logical_or(a, b).sum())
    if union == 0:
        return 1.0
    return float(np.logical_and(a, b).sum() / union)


INK_LAYOUT_CELLS = 8  # an 8 x 8 grid: one bit per cell, 64 bits


def ink_layout(img: np.ndarray, cells: int = INK_LAYOUT_CELLS) -> int:
    """Where the drawing's ink is, coarsely: bit r * cells + c is set when at least half of
    grid cell (r, c) of the ink mask is ink; packed into a signed 64-bit integer (DuckDB
    BIGINT) for an 8 x 8 grid. Equal layouts for different targets mean one drawing
    repeated -- a filled disc or box drawn for every target, which same-text or
    same-first-shape counts miss when the SVG text differs. A blank image is 0."""
    mask = ink_mask(img, INK_SIZE)
    side = INK_SIZE // cells
    share = mask[: side * cells, : side * cells].reshape(cells, side, cells, side).mean(axis=(1, 3))
    bits = (share >= 0.5).ravel()
    value = sum(1 << i for i, b in enumerate(bits) if b)
    return value - (1 << 64) if value >= 1 << 63 else value


def unit_centred(img: np.ndarray) -> np.ndarray | None:
    """Flattened image minus its mean, scaled to unit norm; None for a constant image.

    The dot product of two such vectors is the Pearson correlation of the images, what
    the standardised-L2 rewards compare (`rlrf.rewards.image`)."""
    x = img.astype(np.float32).ravel()
    x -= x.mean()
    norm = float(np.sqrt(np.dot(x, x)))
    return x / norm if norm > 0 else None


def canny_edges(img: np.ndarray, blur: int = 13, dilate: int = 3) -> np.ndarray:
    """Edge map as rlrf-rewarder's `canny_img` + blur: Canny(50, 150), dilate, Gaussian blur."""
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
    edges = cv2.Canny(gray, 50, 150)
    if dilate:
        edges = cv2.dilate(edges, np.ones((dilate, dilate), np.uint8), iterations=1)
    if blur:
        edges = cv2.GaussianBlur(edges, (blur, blur), 0)
    return edges


PIXEL_METRICS = (
    Metric("mse", False, fn=mse, doc="mean squared error of [0, 1] RGB (StarVector L2)"),
    Metric("ssim", True, fn=ssim, options=lambda cfg: {"gaussian_weights": cfg.ssim_gaussian_weights},
           doc="SSIM, StarVector's uniform 11x11 window"),
    Metric("ink_iou", True, fn=ink_iou,
           doc="IoU of prediction and target ink masks (any channel < 200 at 128 px); a blank scores ~0"),
)
