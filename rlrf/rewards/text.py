"""Text2SVG rewards: does the render match the caption? (RLRF Sec. 3.2, Text2SVG).

- `clip`: cosine between CLIP text and image embeddings (rlrf-rewarder
  `reward_score/rewards_clip.py::RewardClip` returns the raw cosine).
- `vlm_judge`: reward = 2·P(Yes) − 1 with P(Yes) of Qwen2.5-VL asked whether the drawing
  matches the description (same prompt wording as rlrf-rewarder `QwenClip.prompt_draw`).

Both scores and their loaders are `rlrf.scores.learned`, shared with evaluation's CLIP
score and judge metric. `<text>` elements are stripped before rendering by default:
restating the caption as text is the cheapest way to please a text–image model (a
reward hack).
"""

from __future__ import annotations

import numpy as np

from rlrf.rewards.perceptual import ModelReward
from rlrf.scores import learned


class _TextReward(ModelReward):
    needs_target = False

    def __init__(self, name, size, render, model, cache_dir=None, strip_text=True, device="cpu"):
        super().__init__(name, size, render, strip_text, device)
        self.model, self.cache_dir = model, cache_dir

    def scores(self, targets, preds, rows) -> list[float]:
        if rows.get("caption") is None or len(rows["caption"]) != len(preds):
            raise ValueError(f"reward {self.__name__!r} needs the `caption` column")
        return super().scores(targets, preds, rows)


class ClipReward(_TextReward):
    """`clip`: cosine(CLIP text embedding of the caption, CLIP image embedding of the render)."""

    def __init__(self, name, size, render, model, cache_dir=None, strip_text=True, device="cpu", batch_size=16):
        super().__init__(name, size, render, model, cache_dir, strip_text, device)
        self.batch_size = batch_size

    def _load(self):
        net, processor = learned.load_clip(self.__name__, self.model, self.cache_dir, self.device)
        return learned.ClipScorer(net, processor, self.device, self.batch_size)

    def score_pairs(self, targets, preds, rows):
        return self.scores(targets, preds, rows)


class VlmJudgeReward(_TextReward):
    """`vlm_judge`: 2·P(Yes) − 1 from Qwen2.5-VL's next-token distribution over Yes/No."""

    def _load(self):
        net, processor = learned.load_judge(self.__name__, self.model, self.cache_dir, self.device)
        return learned.JudgeScorer(net, processor, self.device)

    def score_pairs(self, targets, preds, rows):
        return [float(np.clip(2.0 * p - 1.0, -1.0, 1.0)) for p in self.scores(targets, preds, rows)]
