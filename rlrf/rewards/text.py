"""Text2SVG rewards: does the render match the caption? (RLRF Sec. 3.2, Text2SVG).

- `clip`: cosine between CLIP text and image embeddings (rlrf-rewarder
  `reward_score/rewards_clip.py::RewardClip` returns the raw cosine).
- `vlm_judge`: Qwen2.5-VL asked whether the drawing matches the description;
  reward = 2·P(Yes) − 1 with P(Yes) from the next-token logits normalised over the
  Yes/No tokens (rlrf-rewarder `QwenClip` reads the Yes log-prob the same way,
  never parsing generated text). Same prompt wording as `QwenClip.prompt_draw`.

`<text>` elements are stripped before rendering by default: restating the caption as
text is the cheapest way to please a text–image model (a reward hack).
"""

from __future__ import annotations

import numpy as np

from rlrf.rewards.perceptual import _ModelReward
from rlrf.weights import WeightsUnavailable, downloads_allowed, offline_hub

JUDGE_PROMPT = 'Does the drawing resemble the description: "{}" [Yes/No]'


def load_clip(name: str, model: str | None, cache_dir: str | None, device: str):
    """(CLIPModel, CLIPProcessor) from a local path or the local HF cache only."""
    if not model:
        raise WeightsUnavailable(name, "no `model:` (CLIP id or path) in the reward spec")
    offline_hub()
    try:
        from transformers import CLIPModel, CLIPProcessor

        local = not downloads_allowed()
        net = CLIPModel.from_pretrained(model, cache_dir=cache_dir, local_files_only=local)
        processor = CLIPProcessor.from_pretrained(model, cache_dir=cache_dir, local_files_only=local)
    except Exception as exc:  # noqa: BLE001  (not on this machine)
        raise WeightsUnavailable(name, f"{model!r}: {type(exc).__name__}: {exc}") from exc
    return net.eval().to(device), processor


def load_judge(name: str, model: str | None, cache_dir: str | None, device: str):
    """(Qwen2.5-VL model, processor) from a local path or the local HF cache only."""
    if not model:
        raise WeightsUnavailable(name, "no `model:` (Qwen2.5-VL id or path) in the reward spec")
    offline_hub()
    try:
        from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

        net = Qwen2_5_VLForConditionalGeneration.from_pretrained(
            model, cache_dir=cache_dir, local_files_only=not downloads_allowed()
        )
        processor = AutoProcessor.from_pretrained(
            model, cache_dir=cache_dir, local_files_only=not downloads_allowed()
        )
    except Exception as exc:  # noqa: BLE001
        raise WeightsUnavailable(name, f"{model!r}: {type(exc).__name__}: {exc}") from exc
    return net.eval().to(device), processor


def _captions(rows: dict[str, list], n: int, name: str) -> list[str]:
    captions = rows.get("caption")
    if captions is None or len(captions) != n:
        raise ValueError(f"reward {name!r} needs the `caption` column")
    return [str(c or "") for c in captions]


class ClipReward(_ModelReward):
    """`clip`: cosine(CLIP text embedding of the caption, CLIP image embedding of the render)."""

    needs_target = False

    def __init__(
        self,
        name,
        size,
        render,
        model,
        cache_dir=None,
        strip_text=True,
        device="cpu",
        batch_size=16,
    ):
        super().__init__(name, size, render, strip_text, device)
        self.model, self.cache_dir, self.batch_size = model, cache_dir, batch_size

    def _load(self):
        return load_clip(self.__name__, self.model, self.cache_dir, self.device)

    def score_pairs(self, targets, preds, rows):
        import torch

        self.load()
        net, processor = self._model
        captions = _captions(rows, len(preds), self.__name__)
        out: list[float] = []
        for s in range(0, len(preds), self.batch_size):
            inputs = processor(
                text=captions[s : s + self.batch_size],
                images=list(preds[s : s + self.batch_size]),
                return_tensors="pt",
                padding=True,
                truncation=True,
            ).to(self.device)
            with torch.no_grad():
                result = net(**inputs)
            text = torch.nn.functional.normalize(result.text_embeds.float(), dim=-1)
            image = torch.nn.functional.normalize(result.image_embeds.float(), dim=-1)
            out.extend((text * image).sum(-1).cpu().tolist())
        return out


class VlmJudgeReward(_ModelReward):
    """`vlm_judge`: 2·P(Yes) − 1 from Qwen2.5-VL's next-token distribution over Yes/No."""

    needs_target = False

    def __init__(self, name, size, render, model, cache_dir=None, strip_text=True, device="cpu"):
        super().__init__(name, size, render, strip_text, device)
        self.model, self.cache_dir = model, cache_dir

    def _load(self):
        return load_judge(self.__name__, self.model, self.cache_dir, self.device)

    @staticmethod
    def answer_ids(tokenizer) -> tuple[int, int]:
        """First token of "Yes" and of "No" (single tokens in Qwen's vocabulary)."""
        yes = tokenizer.encode("Yes", add_special_tokens=False)[0]
        no = tokenizer.encode("No", add_special_tokens=False)[0]
        if yes == no:
            raise ValueError(
                "the judge's tokenizer does not tell 'Yes' from 'No' by their first token"
            )
        return yes, no

    def score_pairs(self, targets, preds, rows):
        import torch
        from PIL import Image

        self.load()
        net, processor = self._model
        yes, no = self.answer_ids(processor.tokenizer)
        out: list[float] = []
        for caption, image in zip(_captions(rows, len(preds), self.__name__), preds, strict=True):
            messages = [
                {
                    "role": "user",
                    "content": [
                        {"type": "image"},
                        {"type": "text", "text": JUDGE_PROMPT.format(caption)},
                    ],
                }
            ]
            prompt = processor.apply_chat_template(
                messages, add_generation_prompt=True, tokenize=False
            )
            inputs = processor(text=[prompt], images=[Image.fromarray(image)], return_tensors="pt")
            with torch.no_grad():
                logits = net(**inputs.to(self.device)).logits[0, -1].float()
            p_yes = torch.softmax(logits[[yes, no]], dim=0)[0].item()
            out.append(float(np.clip(2.0 * p_yes - 1.0, -1.0, 1.0)))
        return out
