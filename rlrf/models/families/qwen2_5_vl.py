"""Qwen2.5-VL (3B / 7B at paper scale, tiny random-init for CPU): Img2SVG, and Text2SVG
with text-only prompts through the same processor. The builders live in
`rlrf.models.factory`; this adapter exposes them through the family interface."""

from __future__ import annotations

import math
from pathlib import Path

from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

from rlrf.models import factory
from rlrf.models.families.base import Family


class Qwen25VL(Family):
    name = "qwen2_5_vl"
    model_types = ("qwen2_5_vl",)
    model_class = Qwen2_5_VLForConditionalGeneration

    def tiny_config(self, cfg, tokenizer):
        return factory.tiny_config(cfg, tokenizer)

    def build_processor(self, tokenizer, cfg):
        return factory.build_processor(tokenizer, cfg)

    def load_processor(self, model_dir: Path):
        return AutoProcessor.from_pretrained(model_dir)

    def input_side(self, processor) -> int:
        """The square side the processor is pinned to (min = max pixels, see
        `factory.build_processor`). Resizing before the processor keeps the token count
        fixed: Qwen's smart_resize rounds some sizes down by a whole patch."""
        return math.isqrt(int(processor.image_processor.size["longest_edge"]))
