"""Img2SVG metrics as the paper reports them (RLRF §4, Tables 1-2).

The paper evaluates with StarVector's harness (joanrod/star-vector,
`starvector/metrics/`), so every definition here follows that code to keep our
numbers comparable with the published tables:

- both images are rasterised at 512x512 on white (aspect kept, centred), RGB;
- MSE: mean squared error of [0, 1] RGB tensors (`compute_l2.py`);
- SSIM: `skimage.metrics.structural_similarity` with `win_size=11`, `sigma=1.5`,
  `channel_axis=-1` (`compute_SSIM.py`). StarVector does not pass
  `gaussian_weights=True`, so skimage ignores `sigma` and uses an 11x11 uniform
  window; we do the same by default (`EvalConfig.ssim_gaussian_weights`);
- DINO score: `(cos + 1) / 2` of mean-pooled DINOv2-base `last_hidden_state`
  (`compute_dino_score.py`);
- LPIPS with the VGG trunk; StarVector feeds it ImageNet-normalised tensors
  (`compute_LPIPS.py`), which we reproduce by default (`EvalConfig.lpips_input`);
- code efficiency: GT tokens - predicted tokens (`count_token_length.py` reports the
  opposite sign; the paper's tables use GT - prediction, negative = longer than GT).

Not in the paper, added because MSE and SSIM on mostly-white targets pay for drawing
nothing (a blank canvas, or one short dash, scores close to an honest attempt):

- ink IoU: intersection over union of the two *ink masks* (a pixel is ink when any RGB
  channel is < 200, judged at 128 px like a thumbnail). A blank or a dash scores ~0 on a
  target with ink; an attempt in the right place scores > 0;
- ink share (ink pixels / all pixels) of prediction and target, and their ratio, to see
  whether a model draws about as much as the target does.

Unlike StarVector, a failed render is *counted* (status `render_failed`) and scored
as a blank white image rather than silently dropped, and metrics whose pretrained
weights cannot be loaded are NULL with status `weights_unavailable` -- never a score
from random weights.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from skimage.metrics import structural_similarity

from rlrf.weights import WeightsUnavailable, downloads_allowed

log = logging.getLogger(__name__)

OK = "ok"
RENDER_FAILED = "render_failed"
GT_RENDER_FAILED = "gt_render_failed"
WEIGHTS_UNAVAILABLE = "weights_unavailable"
NOT_APPLICABLE = "not_applicable"

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def blank_image(size: int | tuple[int, int]) -> np.ndarray:
    """The image a failed render is scored as: white, (h, w, 3) uint8."""
    w, h = (size, size) if isinstance(size, int) else size
    return np.full((h, w, 3), 255, dtype=np.uint8)


def to_unit(img: np.ndarray) -> np.ndarray:
    """uint8 (h, w, 3) -> float64 in [0, 1] (torchvision's ToTensor scaling)."""
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected (h, w, 3) uint8 RGB, got {img.shape} {img.dtype}")
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
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected (h, w, 3) uint8 RGB, got {img.shape} {img.dtype}")
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


def code_efficiency(gt_tokens: int | None, pred_tokens: int | None) -> int | None:
    """GT tokens - predicted tokens: positive = shorter than the original SVG."""
    if gt_tokens is None or pred_tokens is None:
        return None
    return int(gt_tokens) - int(pred_tokens)


# --- learned metrics ----------------------------------------------------------------


def _torch():
    import torch

    return torch


class DinoScorer:
    """DINO score: (cosine + 1) / 2 of mean-pooled DINOv2 features (StarVector `DinoScore`)."""

    def __init__(self, model: Any, processor: Any, device: str = "cpu", batch_size: int = 16):
        self.model = model.eval().to(device)
        self.processor = processor
        self.device = device
        self.batch_size = batch_size

    def features(self, images: Sequence[np.ndarray]):
        torch = _torch()
        out = []
        for i in range(0, len(images), self.batch_size):
            chunk = list(images[i : i + self.batch_size])
            inputs = self.processor(images=chunk, return_tensors="pt").to(self.device)
            with torch.no_grad():
                hidden = self.model(**inputs).last_hidden_state
            out.append(hidden.mean(dim=1).float().cpu())
        return torch.cat(out) if out else torch.zeros(0)

    def __call__(self, gts: Sequence[np.ndarray], preds: Sequence[np.ndarray]) -> list[float]:
        torch = _torch()
        if len(gts) != len(preds):
            raise ValueError(f"{len(gts)} GT images vs {len(preds)} predictions")
        if not gts:
            return []
        cos = torch.nn.functional.cosine_similarity(self.features(gts), self.features(preds), dim=1)
        return [float((c + 1) / 2) for c in cos]


class LpipsScorer:
    """LPIPS distance (lower is better) with the `lpips` package's network.

    `input_norm="starvector"` feeds ImageNet-normalised tensors as StarVector's
    `compute_LPIPS.py` does (what the published numbers used); `"lpips"` feeds the
    [-1, 1] range the lpips authors document.
    """

    def __init__(self, net: Any, device: str = "cpu", input_norm: str = "starvector", batch_size: int = 8):
        if input_norm not in ("starvector", "lpips"):
            raise ValueError(f"input_norm must be 'starvector' or 'lpips', got {input_norm!r}")
        self.net = net.eval().to(device)
        self.device = device
        self.input_norm = input_norm
        self.batch_size = batch_size

    def _tensor(self, images: Sequence[np.ndarray]):
        torch = _torch()
        x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0
        if self.input_norm == "starvector":
            mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
            std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
            x = (x - mean) / std
        else:
            x = x * 2 - 1
        return x.to(self.device)

    def __call__(self, gts: Sequence[np.ndarray], preds: Sequence[np.ndarray]) -> list[float]:
        torch = _torch()
        if len(gts) != len(preds):
            raise ValueError(f"{len(gts)} GT images vs {len(preds)} predictions")
        out: list[float] = []
        for i in range(0, len(gts), self.batch_size):
            a = self._tensor(gts[i : i + self.batch_size])
            b = self._tensor(preds[i : i + self.batch_size])
            with torch.no_grad():
                d = self.net(a, b)
            out.extend(float(v) for v in d.reshape(-1).cpu())
        return out


def _local_snapshot(name_or_path: str) -> str:
    """A local directory for a path or hub id, from the HF cache only (no network call).

    `from_pretrained(..., local_files_only=True)` on a hub id still probes the hub for
    optional files with retries; resolving to a cached snapshot first avoids that.
    """
    if Path(name_or_path).is_dir():
        return name_or_path
    from huggingface_hub import snapshot_download

    return snapshot_download(name_or_path, local_files_only=not downloads_allowed())


def load_dino(name_or_path: str, device: str = "cpu", batch_size: int = 16) -> DinoScorer:
    """Load DINOv2 from a local path or the local HF cache only; never from the network.

    Raises `WeightsUnavailable` at once when the weights are not on this machine, so
    an offline run fails fast instead of waiting on hub retries.
    """
    try:
        from transformers import AutoImageProcessor, AutoModel

        local = _local_snapshot(name_or_path)
        model = AutoModel.from_pretrained(local)
        processor = AutoImageProcessor.from_pretrained(local)
    except Exception as exc:  # noqa: BLE001 -- any loader error means "not available here"
        raise WeightsUnavailable(
            f"DINOv2 weights {name_or_path!r} are not available locally "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            "download them where the hub is reachable and set eval.dino_model to the local path"
        ) from exc
    return DinoScorer(model, processor, device=device, batch_size=batch_size)


def _vgg16_checkpoint() -> Path:
    """Where torchvision caches the VGG16 ImageNet weights that lpips' VGG trunk loads."""
    from torchvision.models import VGG16_Weights

    torch = _torch()
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(VGG16_Weights.IMAGENET1K_V1.url).name


def load_lpips(
    net: str = "vgg",
    weights: str | None = None,
    device: str = "cpu",
    input_norm: str = "starvector",
    batch_size: int = 8,
) -> LpipsScorer:
    """Build `lpips.LPIPS(net=...)` without touching the network.

    The linear calibration layers ship inside the `lpips` package (or `weights`);
    the trunk comes from torchvision's ImageNet checkpoint, which torchvision would
    try to download. We check the torch hub cache first and raise
    `WeightsUnavailable` when the checkpoint is absent instead of attempting it.
    """
    if net == "vgg":
        ckpt = _vgg16_checkpoint()
    else:
        from torchvision.models import AlexNet_Weights

        ckpt = Path(_torch().hub.get_dir()) / "checkpoints" / Path(AlexNet_Weights.IMAGENET1K_V1.url).name
    if not ckpt.is_file() and not downloads_allowed():
        raise WeightsUnavailable(
            f"LPIPS {net} trunk needs torchvision's ImageNet checkpoint at {ckpt}, which is absent "
            "(no download is attempted); copy the file there to enable LPIPS"
        )
    if weights is not None and not Path(weights).is_file():
        raise WeightsUnavailable(f"LPIPS linear-layer weights {weights!r} not found")
    try:
        import lpips

        model = lpips.LPIPS(net=net, model_path=weights, verbose=False)
    except Exception as exc:  # noqa: BLE001 -- corrupt file, version mismatch: not available
        raise WeightsUnavailable(f"LPIPS {net} could not be built: {type(exc).__name__}: {exc}") from exc
    return LpipsScorer(model, device=device, input_norm=input_norm, batch_size=batch_size)


@dataclass
class MetricModels:
    """Learned metric scorers, or None with the reason they are unavailable."""

    dino: DinoScorer | None = None
    dino_reason: str | None = None
    lpips: LpipsScorer | None = None
    lpips_reason: str | None = None
    # Text2SVG only: the reward registry's `clip` / `vlm_judge` callables (one source of truth).
    task: str = "img2svg"
    clip: Any = None
    clip_reason: str | None = None
    vlm_judge: Any = None
    vlm_judge_reason: str | None = None

    @property
    def dino_status(self) -> str:
        return OK if self.dino is not None else WEIGHTS_UNAVAILABLE

    @property
    def lpips_status(self) -> str:
        return OK if self.lpips is not None else WEIGHTS_UNAVAILABLE

    def text_status(self, name: str) -> str:
        if self.task != "text2svg":
            return NOT_APPLICABLE
        return OK if getattr(self, name) is not None else WEIGHTS_UNAVAILABLE


def load_metric_models(
    cfg: Any,
    device: str = "cpu",
    dino_factory: Callable[[], DinoScorer] | None = None,
    lpips_factory: Callable[[], LpipsScorer] | None = None,
    task: str = "img2svg",
) -> MetricModels:
    """Load DINO and LPIPS per `EvalConfig`; failures become reasons plus a loud warning.

    Factories replace the loaders (tests inject tiny random-init models through them;
    such scores prove a code path and are never results).
    """
    out = MetricModels(task=task)
    if task == "text2svg":
        _load_text_scorers(out, cfg, device)
    try:
        out.dino = dino_factory() if dino_factory else load_dino(
            cfg.dino_model, device=device, batch_size=cfg.metric_batch_size
        )
    except WeightsUnavailable as exc:
        out.dino_reason = str(exc)
        log.warning("WEIGHTS UNAVAILABLE: DINO score will be NULL (%s)", exc)
    try:
        out.lpips = lpips_factory() if lpips_factory else load_lpips(
            cfg.lpips_net, cfg.lpips_weights, device=device, input_norm=cfg.lpips_input,
            batch_size=cfg.metric_batch_size,
        )
    except WeightsUnavailable as exc:
        out.lpips_reason = str(exc)
        log.warning("WEIGHTS UNAVAILABLE: LPIPS will be NULL (%s)", exc)
    return out


def _load_text_scorers(out: MetricModels, cfg: Any, device: str) -> None:
    """CLIP and VLM-judge scorers from the reward registry's classes, loaded now.

    The metric and the Text2SVG reward compute the same cosine / P(Yes), so both call
    `rlrf.rewards.text`; only the reporting scale differs (see `score_text`).
    """
    from rlrf.config import RenderConfig
    from rlrf.rewards.text import ClipReward, VlmJudgeReward

    size, limits = cfg.render_size, RenderConfig()
    for attr, build in (
        ("clip", lambda: ClipReward("clip", size, limits, model=cfg.clip_model, device=device,
                                    batch_size=cfg.metric_batch_size)),
        ("vlm_judge", lambda: VlmJudgeReward("vlm_judge", size, limits, model=cfg.vlm_judge_model,
                                             device=device)),
    ):
        scorer = build()
        try:
            scorer.load()
        except WeightsUnavailable as exc:
            setattr(out, f"{attr}_reason", str(exc))
            log.warning("WEIGHTS UNAVAILABLE: %s will be NULL (%s)", attr, exc)
            continue
        setattr(out, attr, scorer)


def score_text(
    preds: Sequence[np.ndarray], captions: Sequence[str], models: MetricModels
) -> dict[str, list[float | None]]:
    """Text2SVG metrics of renders against their captions (failed renders passed as blank).

    - `clip`: CLIPScore as torchmetrics defines it (StarVector `compute_clip_score.py`):
      100 * max(cosine(text, image), 0), with the cosine from the `clip` reward;
    - `vlm_judge`: P(Yes) of the judge, i.e. (reward + 1) / 2 in [0, 1].
    """
    n = len(preds)
    out: dict[str, list[float | None]] = {"clip": [None] * n, "vlm_judge": [None] * n}
    if models.task != "text2svg" or n == 0:
        return out
    rows = {"caption": list(captions)}
    if models.clip is not None:
        out["clip"] = [100.0 * max(float(c), 0.0) for c in models.clip.score_pairs(None, list(preds), rows)]
    if models.vlm_judge is not None:
        out["vlm_judge"] = [(float(r) + 1.0) / 2.0 for r in models.vlm_judge.score_pairs(None, list(preds), rows)]
    return out


def score_images(
    gts: Sequence[np.ndarray | None],
    preds: Sequence[np.ndarray | None],
    models: MetricModels,
    *,
    ssim_gaussian_weights: bool = False,
) -> list[dict[str, Any]]:
    """Per-sample image metrics for aligned GT / prediction renders.

    A prediction of None (failed render) is scored as a blank white image and gets
    status `render_failed`; a GT of None cannot be scored at all (status
    `gt_render_failed`, every metric NULL). Learned metrics without weights are NULL
    with `<metric>_status = weights_unavailable`.
    """
    if len(gts) != len(preds):
        raise ValueError(f"{len(gts)} GT renders vs {len(preds)} predictions")
    rows: list[dict[str, Any]] = []
    pair_gt: list[np.ndarray] = []
    pair_pred: list[np.ndarray] = []
    scored: list[int] = []
    for i, (gt, pred) in enumerate(zip(gts, preds, strict=True)):
        row: dict[str, Any] = {
            "mse": None, "ssim": None, "dino": None, "lpips": None,
            "ink_iou": None, "ink_pred": None, "ink_gt": None, "ink_ratio": None,
            "render_ok": pred is not None,
            "status": OK if pred is not None else RENDER_FAILED,
            "dino_status": models.dino_status, "lpips_status": models.lpips_status,
        }
        if gt is None:
            row["status"] = GT_RENDER_FAILED
        else:
            p = pred if pred is not None else blank_image((gt.shape[1], gt.shape[0]))
            row["mse"] = mse(gt, p)
            row["ssim"] = ssim(gt, p, gaussian_weights=ssim_gaussian_weights)
            row["ink_iou"] = ink_iou(gt, p)
            row["ink_gt"], row["ink_pred"] = ink_share(gt), ink_share(p)
            # NULL on a blank target: a ratio to nothing is undefined, not infinite
            row["ink_ratio"] = row["ink_pred"] / row["ink_gt"] if row["ink_gt"] > 0 else None
            pair_gt.append(gt)
            pair_pred.append(p)
            scored.append(i)
        rows.append(row)
    for name, scorer in (("dino", models.dino), ("lpips", models.lpips)):
        if scorer is None or not scored:
            continue
        for i, v in zip(scored, scorer(pair_gt, pair_pred), strict=True):
            rows[i][name] = v
    return rows
