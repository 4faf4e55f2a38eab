"""Model and processor factories: hub ids / local paths, or a tiny random-init Qwen2.5-VL.

The paper fine-tunes Qwen2.5-VL (RLRF §4). The embedded default keeps the architecture
and shrinks every dimension, so the same processor, chat template, TRL trainers and
generation code run on a CPU in minutes. Everything here is assembled locally: nothing
is fetched from the hub unless the recipe names a hub id.
"""

from __future__ import annotations

import logging

from transformers import (
    Qwen2_5_VLConfig,
    Qwen2_5_VLProcessor,
)
from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor
from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

from rlrf.config import ModelConfig
from rlrf.models.tokenizer import IMAGE_PAD, VIDEO_PAD, VISION_END, VISION_START

log = logging.getLogger(__name__)

MERGE_SIZE = 2  # Qwen2.5-VL merges 2x2 vision patches into one LLM token
TEMPORAL_PATCH = 2


def image_tokens(cfg: ModelConfig) -> int:
    """LLM tokens one `image_size`² input costs: (side / patch / merge)²."""
    side = cfg.image_size // (cfg.patch_size * MERGE_SIZE)
    return side * side


def build_processor(tokenizer, cfg: ModelConfig) -> Qwen2_5_VLProcessor:
    """Qwen2.5-VL processor around `tokenizer`, with the image side pinned to `cfg.image_size`.

    min_pixels = max_pixels = image_size² makes every input exactly image_size × image_size,
    so each image costs a fixed number of tokens (see `image_tokens`).
    """
    unit = cfg.patch_size * MERGE_SIZE
    if cfg.image_size % unit:
        raise ValueError(
            f"model.image_size={cfg.image_size} must be a multiple of patch_size*{MERGE_SIZE}={unit}"
        )
    pixels = cfg.image_size * cfg.image_size
    image_processor = Qwen2VLImageProcessor(
        size={"shortest_edge": pixels, "longest_edge": pixels},
        patch_size=cfg.patch_size,
        merge_size=MERGE_SIZE,
        temporal_patch_size=TEMPORAL_PATCH,
    )
    # Unused (no video here) but required by the processor class; same patch geometry.
    video_processor = Qwen2VLVideoProcessor(
        size={"shortest_edge": pixels, "longest_edge": pixels},
        patch_size=cfg.patch_size,
        merge_size=MERGE_SIZE,
        temporal_patch_size=TEMPORAL_PATCH,
    )
    return Qwen2_5_VLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        chat_template=tokenizer.chat_template,
    )


def tiny_config(cfg: ModelConfig, tokenizer) -> Qwen2_5_VLConfig:
    """A small Qwen2.5-VL config whose token ids come from `tokenizer`.

    M-RoPE splits each head's rotary half-dimension into (temporal, height, width)
    sections that must add up to head_dim / 2; we keep Qwen's 1 : 1.5 : 1.5 ratio.
    """
    if cfg.hidden_size % cfg.num_attention_heads:
        raise ValueError("model.hidden_size must be divisible by model.num_attention_heads")
    head_dim = cfg.hidden_size // cfg.num_attention_heads
    half = head_dim // 2
    t = max(1, half // 4)
    h = (half - t) // 2
    mrope_section = [t, h, half - t - h]
    ids = {
        name: tokenizer.convert_tokens_to_ids(tok)
        for name, tok in (
            ("image_token_id", IMAGE_PAD),
            ("video_token_id", VIDEO_PAD),
            ("vision_start_token_id", VISION_START),
            ("vision_end_token_id", VISION_END),
        )
    }
    text = {
        "vocab_size": len(tokenizer),
        "hidden_size": cfg.hidden_size,
        "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads,
        "num_key_value_heads": cfg.num_key_value_heads,
        "max_position_embeddings": cfg.max_position_embeddings,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 10000.0,
            "mrope_section": mrope_section,
        },
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "tie_word_embeddings": cfg.tie_word_embeddings,
    }
    vision = {
        "depth": cfg.vision_depth,
        "hidden_size": cfg.vision_hidden_size,
        "intermediate_size": 2 * cfg.vision_hidden_size,
        "num_heads": cfg.vision_num_heads,
        "patch_size": cfg.patch_size,
        "spatial_merge_size": MERGE_SIZE,
        "temporal_patch_size": TEMPORAL_PATCH,
        "window_size": cfg.image_size,
        "out_hidden_size": cfg.hidden_size,
        "fullatt_block_indexes": [cfg.vision_depth - 1],
    }
    return Qwen2_5_VLConfig(
        text_config=text,
        vision_config=vision,
        tie_word_embeddings=cfg.tie_word_embeddings,
        **ids,
    )
