"""Learned scores and their weight loaders, once: DINOv2, LPIPS, DreamSim, CLIP, the VLM judge.

Evaluation (`rlrf.eval.metrics`), rewards (`rlrf.rewards`) and curation
(`rlrf.data.embeddings`) all score through these classes; each caller only maps the score
to its own scale (a reward to [−1, 1], a metric as the paper reports it).

- DINO score: `(cos + 1) / 2` of mean-pooled DINOv2 `last_hidden_state` (StarVector
  `compute_dino_score.py`);
- LPIPS: one network, three input conventions (`LPIPS_INPUTS`): `starvector` feeds
  ImageNet-normalised tensors as StarVector's `compute_LPIPS.py` does (the published
  numbers), `lpips` the [−1, 1] range the lpips authors document, `rewarder` what the
  authors' reward server's `RewardLpips` feeds: both renders resized to 256×256
  (`cv2.resize`, bilinear), RGB in [0, 1] passed *as they are* (the reward's scale
  depends on it, so we reproduce it);
- DreamSim distance (optionally on dilated Canny edge maps);
- CLIP: cosine of caption and image embeddings (rlrf-rewarder `RewardClip`);
- VLM judge: P(Yes) of Qwen2.5-VL asked whether the drawing matches the description, from
  the next-token logits normalised over the Yes/No tokens (rlrf-rewarder `QwenClip`
  reads the Yes log-prob the same way, never parsing generated text).

Weights are never downloaded unless `RLRF_ALLOW_DOWNLOADS=1`: every loader finds the
files locally or raises `WeightsUnavailable(what, reason)` at once (`weights_of`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlrf.scores.base import Metric, weights_of
from rlrf.scores.pixels import canny_edges
from rlrf.weights import WeightsUnavailable, downloads_allowed, offline_hub

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
JUDGE_PROMPT = 'Does the drawing resemble the description: "{}" [Yes/No]'


def _torch():
    import torch

    return torch


def _check_aligned(gts: Sequence, preds: Sequence) -> None:
    if len(gts) != len(preds):
        raise ValueError(f"{len(gts)} GT images vs {len(preds)} predictions")


# --- scorers: (gts, preds, captions) -> one score per pair ------------------------------


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

    def __call__(self, gts: Sequence[np.ndarray], preds: Sequence[np.ndarray], captions=None) -> list[float]:
        torch = _torch()
        _check_aligned(gts, preds)
        if not gts:
            return []
        cos = torch.nn.functional.cosine_similarity(self.features(gts), self.features(preds), dim=1)
        return [float((c + 1) / 2) for c in cos]


LPIPS_INPUTS = ("starvector", "lpips", "rewarder")
LPIPS_REWARDER_SIZE = 256  # RewardLpips resizes both images to 256×256


class LpipsScorer:
    """LPIPS distance (lower is better) of an `lpips.LPIPS` network; `input_norm` picks one
    of `LPIPS_INPUTS` (module docstring)."""

    def __init__(self, net: Any, device: str = "cpu", input_norm: str = "starvector", batch_size: int = 8):
        if input_norm not in LPIPS_INPUTS:
            raise ValueError(f"input_norm must be one of {LPIPS_INPUTS}, got {input_norm!r}")
        self.net = net.eval().to(device) if isinstance(net, _torch().nn.Module) else net
        self.device = device
        self.input_norm = input_norm
        self.batch_size = batch_size

    def _tensor(self, images: Sequence[np.ndarray]):
        torch = _torch()
        if self.input_norm == "rewarder":
            import cv2

            side = LPIPS_REWARDER_SIZE
            images = [i if i.shape[:2] == (side, side) else cv2.resize(i, (side, side)) for i in images]
        x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0
        if self.input_norm == "starvector":
            mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
            std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
            x = (x - mean) / std
        elif self.input_norm == "lpips":
            x = x * 2 - 1
        return x.to(self.device)

    def __call__(self, gts: Sequence[np.ndarray], preds: Sequence[np.ndarray], captions=None) -> list[float]:
        torch = _torch()
        _check_aligned(gts, preds)
        out: list[float] = []
        for i in range(0, len(gts), self.batch_size):
            a = self._tensor(gts[i : i + self.batch_size])
            b = self._tensor(preds[i : i + self.batch_size])
            with torch.no_grad():
                d = self.net(a, b)
            out.extend(float(v) for v in d.reshape(-1).cpu())
        return out


class DreamSimScorer:
    """DreamSim distance of (target, prediction); with `canny`, of their dilated Canny edge
    maps (no blur, 3 channels: rlrf-rewarder's canny DreamSim)."""

    def __init__(self, model: Any, preprocess: Any, device: str = "cpu", canny: bool = False,
                 batch_size: int = 16):
        self.model, self.preprocess = model, preprocess
        self.device, self.canny, self.batch_size = device, canny, batch_size

    def _prepare(self, img: np.ndarray):
        from PIL import Image

        if self.canny:
            img = np.repeat(canny_edges(img, blur=0, dilate=3)[..., None], 3, axis=-1)
        return self.preprocess(Image.fromarray(img))

    def __call__(self, gts: Sequence[np.ndarray], preds: Sequence[np.ndarray], captions=None) -> list[float]:
        torch = _torch()
        _check_aligned(gts, preds)
        out: list[float] = []
        for start in range(0, len(preds), self.batch_size):
            chunk = range(start, min(start + self.batch_size, len(preds)))
            a = torch.cat([self._prepare(gts[i]) for i in chunk])
            b = torch.cat([self._prepare(preds[i]) for i in chunk])
            with torch.no_grad():
                dist = self.model(b.to(self.device), a.to(self.device)).reshape(-1).float().cpu()
            out.extend(float(d) for d in dist)
        return out


def _captions(captions: Sequence[str] | None, n: int) -> list[str]:
    if captions is None or len(captions) != n:
        raise ValueError("text scores need one `caption` per image")
    return [str(c or "") for c in captions]


class ClipScorer:
    """cosine(CLIP text embedding of the caption, CLIP image embedding of the render), in [−1, 1]."""

    def __init__(self, net: Any, processor: Any, device: str = "cpu", batch_size: int = 16):
        self.net, self.processor, self.device, self.batch_size = net, processor, device, batch_size

    def __call__(self, gts, preds: Sequence[np.ndarray], captions: Sequence[str] | None) -> list[float]:
        torch = _torch()
        captions = _captions(captions, len(preds))
        out: list[float] = []
        for s in range(0, len(preds), self.batch_size):
            inputs = self.processor(
                text=captions[s : s + self.batch_size],
                images=list(preds[s : s + self.batch_size]),
                return_tensors="pt",
                padding=True,
                truncation=True,
            ).to(self.device)
            with torch.no_grad():
                result = self.net(**inputs)
            text = torch.nn.functional.normalize(result.text_embeds.float(), dim=-1)
            image = torch.nn.functional.normalize(result.image_embeds.float(), dim=-1)
            out.extend((text * image).sum(-1).cpu().tolist())
        return out


class JudgeScorer:
    """P(Yes) in [0, 1] from Qwen2.5-VL's next-token distribution over Yes/No."""

    def __init__(self, net: Any, processor: Any, device: str = "cpu"):
        self.net, self.processor, self.device = net, processor, device

    @staticmethod
    def answer_ids(tokenizer) -> tuple[int, int]:
        """First token of "Yes" and of "No" (single tokens in Qwen's vocabulary)."""
        yes = tokenizer.encode("Yes", add_special_tokens=False)[0]
        no = tokenizer.encode("No", add_special_tokens=False)[0]
        if yes == no:
            raise ValueError("the judge's tokenizer does not tell 'Yes' from 'No' by their first token")
        return yes, no

    def __call__(self, gts, preds: Sequence[np.ndarray], captions: Sequence[str] | None) -> list[float]:
        torch = _torch()
        from PIL import Image

        yes, no = self.answer_ids(self.processor.tokenizer)
        out: list[float] = []
        for caption, image in zip(_captions(captions, len(preds)), preds, strict=True):
            messages = [{"role": "user", "content": [
                {"type": "image"}, {"type": "text", "text": JUDGE_PROMPT.format(caption)}]}]
            prompt = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
            inputs = self.processor(text=[prompt], images=[Image.fromarray(image)], return_tensors="pt")
            with torch.no_grad():
                logits = self.net(**inputs.to(self.device)).logits[0, -1].float()
            out.append(float(torch.softmax(logits[[yes, no]], dim=0)[0].item()))
        return out


# --- loaders: local files only unless downloads are allowed ------------------------------


def local_snapshot(name_or_path: str) -> str:
    """A local directory for a path or hub id, from the HF cache only (no network call).

    `from_pretrained(..., local_files_only=True)` on a hub id still probes the hub for
    optional files with retries; resolving to a cached snapshot first avoids that.
    """
    if Path(name_or_path).is_dir():
        return name_or_path
    from huggingface_hub import snapshot_download

    return snapshot_download(name_or_path, local_files_only=not downloads_allowed())


def load_dino(name_or_path: str, device: str = "cpu", batch_size: int = 16) -> DinoScorer:
    """DINOv2 from a local path or the local HF cache; `WeightsUnavailable` at once otherwise."""
    with weights_of("dino", f"DINOv2 {name_or_path}"):
        from transformers import AutoImageProcessor, AutoModel

        local = local_snapshot(name_or_path)
        model = AutoModel.from_pretrained(local)
        processor = AutoImageProcessor.from_pretrained(local)
    return DinoScorer(model, processor, device=device, batch_size=batch_size)


def _trunk_checkpoint(net: str) -> Path:
    """Where torchvision caches the ImageNet weights lpips' `net` trunk loads."""
    from torchvision.models import AlexNet_Weights, VGG16_Weights

    url = (VGG16_Weights if net == "vgg" else AlexNet_Weights).IMAGENET1K_V1.url
    return Path(_torch().hub.get_dir()) / "checkpoints" / Path(url).name


def load_lpips_net(what: str, net: str = "vgg", weights: str | None = None, device: str = "cpu"):
    """`lpips.LPIPS(net=...)` without touching the network.

    The linear calibration layers ship inside the `lpips` package (or `weights`); the
    trunk comes from torchvision's ImageNet checkpoint, which torchvision would try to
    download: the torch hub cache is checked first instead.
    """
    ckpt = _trunk_checkpoint(net)
    if not ckpt.is_file() and not downloads_allowed():
        raise WeightsUnavailable(
            what, f"LPIPS {net} trunk needs torchvision's ImageNet checkpoint at {ckpt}, which is absent "
            "(no download is attempted); copy the file there to enable LPIPS")
    if weights is not None and not Path(weights).is_file():
        raise WeightsUnavailable(what, f"LPIPS linear-layer weights {weights!r} not found")
    with weights_of(what):
        import lpips

        model = lpips.LPIPS(net=net, model_path=weights, verbose=False)
    return model.eval().to(device)


# dreamsim.model.download_weights: files that must already be in `cache_dir`.
_DREAMSIM_FILES = {
    "ensemble": ["dino_vitb16_pretrain.pth", "open_clip_vitb16_pretrain.pth.tar",
                 "clip_vitb16_pretrain.pth.tar", "ensemble_lora"],
    "dino_vitb16": ["dino_vitb16_pretrain.pth", "dino_vitb16_single_lora"],
    "open_clip_vitb32": ["open_clip_vitb32_pretrain.pth.tar", "open_clip_vitb32_single_lora"],
    "clip_vitb32": ["clip_vitb32_pretrain.pth.tar", "clip_vitb32_single_lora"],
}  # fmt: skip
DREAMSIM_TYPES = tuple(_DREAMSIM_FILES)


def load_dreamsim(what: str, cache_dir: str | None, dreamsim_type: str, device: str):
    """(model, preprocess) from `dreamsim.dreamsim`, only when every file is already local.

    DreamSim downloads its checkpoints and, for DINO backbones, the
    `facebookresearch/dino` torch-hub repo into `cache_dir`; both must be present.
    """
    if not cache_dir:
        raise WeightsUnavailable(what, "no `model:` (DreamSim cache dir) in the reward spec")
    root = Path(cache_dir)
    needed = list(_DREAMSIM_FILES.get(dreamsim_type, []))
    if dreamsim_type in ("ensemble", "dino_vitb16"):
        needed.append("facebookresearch_dino_main")
    missing = [f for f in needed if not (root / f).exists()]
    if (not root.is_dir() or missing) and not downloads_allowed():
        raise WeightsUnavailable(what, f"{root} lacks {missing or 'everything'} (no download attempted)")
    offline_hub()
    with weights_of(what):
        from dreamsim import dreamsim

        model, preprocess = dreamsim(
            pretrained=True, device=device, cache_dir=str(root), dreamsim_type=dreamsim_type
        )
    return model.eval(), preprocess


def _load_pretrained(what: str, model: str | None, cache_dir: str | None, device: str, model_cls, processor_cls):
    if not model:
        raise WeightsUnavailable(what, "no model id or path given")
    offline_hub()
    local = not downloads_allowed()
    with weights_of(what, model):
        net = model_cls.from_pretrained(model, cache_dir=cache_dir, local_files_only=local)
        processor = processor_cls.from_pretrained(model, cache_dir=cache_dir, local_files_only=local)
    return net.eval().to(device), processor


def load_clip(what: str, model: str | None, cache_dir: str | None, device: str):
    """(CLIPModel, CLIPProcessor) from a local path or the local HF cache only."""
    from transformers import CLIPModel, CLIPProcessor

    return _load_pretrained(what, model, cache_dir, device, CLIPModel, CLIPProcessor)


def load_judge(what: str, model: str | None, cache_dir: str | None, device: str):
    """(Qwen2.5-VL model, processor) from a local path or the local HF cache only."""
    from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

    return _load_pretrained(what, model, cache_dir, device, Qwen2_5_VLForConditionalGeneration, AutoProcessor)


# --- the learned evaluation metrics (scale as reported; `rlrf.eval.metrics`) ---------------


def _dino_metric(cfg, device: str):
    return load_dino(cfg.dino_model, device=device, batch_size=cfg.metric_batch_size)


def _lpips_metric(cfg, device: str):
    net = load_lpips_net("lpips", cfg.lpips_net, cfg.lpips_weights, device)
    return LpipsScorer(net, device=device, input_norm=cfg.lpips_input, batch_size=cfg.metric_batch_size)


def _clip_metric(cfg, device: str):
    """CLIPScore as torchmetrics defines it (StarVector `compute_clip_score.py`):
    100 * max(cosine(text, image), 0)."""
    scorer = ClipScorer(*load_clip("clip", cfg.clip_model, None, device), device, cfg.metric_batch_size)

    def clip_score(gts, preds, captions):
        return [100.0 * max(float(c), 0.0) for c in scorer(gts, preds, captions)]

    return clip_score


def _judge_metric(cfg, device: str):
    return JudgeScorer(*load_judge("vlm_judge", cfg.vlm_judge_model, None, device), device)


LEARNED_METRICS = (
    Metric("dino", True, load=_dino_metric, doc="DINOv2 score (cos + 1) / 2 (StarVector)"),
    Metric("lpips", False, load=_lpips_metric, doc="LPIPS distance (StarVector's VGG inputs)"),
    Metric("clip", True, load=_clip_metric, task="text2svg", needs_target=False,
           doc="CLIPScore of render and caption"),
    Metric("vlm_judge", True, load=_judge_metric, task="text2svg", needs_target=False,
           doc="P(Yes) of the VLM judge"),
)
