"""StarVector (StarVector-1B: CLIP ViT-L/14 image encoder + adapter + StarCoderBase-1B
decoder), as an image-token VLM that TRL drives like any other.

The released checkpoint is remote code with its own forward (`batch["image"]`, prefix
embeddings, no processor), which TRL's trainers cannot call. We keep its architecture and
express it with transformers' LLaVA building blocks: a CLIP vision tower, StarVector's
adapter (Linear -> Swish -> Linear -> norm, ours below) in place of LLaVA's projector,
and a GPTBigCode decoder. The image becomes `query_length` placeholder tokens that the
processor expands and the model fills with projected CLIP features (every patch + CLS,
as StarVector: 257 tokens at 224 px / patch 14). That is the same sequence StarVector
decodes (image embeddings, then SVG code), and TRL's SFT / GRPO trainers, our generation
and eval use it through `LlavaProcessor` with pixel_values.

The prompt carries no instruction text: StarVector is conditioned on the image only. Its
chat template renders the image placeholder for the user turn and the SVG + eos for the
assistant turn.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from transformers import (
    CLIPImageProcessor,
    CLIPVisionConfig,
    GPTBigCodeConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
)

from rlrf.config import ModelConfig
from rlrf.models.families.base import Family
from rlrf.models.tokenizer import IMAGE_PAD
from rlrf.weights import WeightsUnavailable, downloads_allowed

log = logging.getLogger(__name__)

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
# StarVector-1B's encoder: CLIP ViT-L/14 at 224 px without its last block (23 of 24, as in
# BLIP-2's LAVIS encoder it adapts), QuickGELU, all 257 output tokens, then a LayerNorm.
CLIP_VIT_L14 = {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 23,
                "num_attention_heads": 16, "patch_size": 14, "image_size": 224, "hidden_act": "quick_gelu"}
STARVECTOR_IMAGE_TOKEN = "<image>"

# user turn: the image placeholder only; assistant turn: the SVG and eos (StarVector's
# training sequence is image embeddings, SVG tokens, eos)
STARVECTOR_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}"
    "{% if message['content'] is not string %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' or 'image' in part %}{{ '__IMAGE__' }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{% else %}{{ message['content'] if message['content'] is string else message['content'][0]['text'] }}"
    "{{ eos_token }}{% endif %}"
    "{% endfor %}"
)


class StarVectorAdapter(nn.Module):
    """StarVector's image side after CLIP: LayerNorm (`ln_vision`), then the adapter
    Linear(v, 2v) -> Swish -> Linear(2v, d) -> norm.

    `batch_norm` (StarVector-1B) normalises each of the `query_length` token positions
    with frozen running statistics: RL needs the same log-probs when a roll-out is
    generated and when it is scored for the update, which batch statistics would break.
    """

    def __init__(self, config: LlavaConfig):
        super().__init__()
        v, d = config.vision_config.hidden_size, config.text_config.hidden_size
        self.ln_vision = nn.LayerNorm(v)
        self.c_fc = nn.Linear(v, 2 * v)
        self.c_proj = nn.Linear(2 * v, d)
        self.adapter_norm = getattr(config, "adapter_norm", "layer_norm")
        if self.adapter_norm == "batch_norm":
            self.norm = nn.BatchNorm1d(config.image_seq_length)
        else:
            self.norm = nn.LayerNorm(d)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        h = self.c_proj(F.silu(self.c_fc(self.ln_vision(features))))
        if isinstance(self.norm, nn.BatchNorm1d):
            n = self.norm
            return F.batch_norm(h, n.running_mean, n.running_var, n.weight, n.bias, False, 0.0, n.eps)
        return self.norm(h)


class StarVectorForConditionalGeneration(LlavaForConditionalGeneration):
    """LLaVA wiring with StarVector's adapter as the multimodal projector."""

    # GPTBigCode names its token embedding `wte` (LLaVA's default assumes `embed_tokens`)
    _tied_weights_keys = {"lm_head.weight": "model.language_model.wte.weight"}

    def __init__(self, config: LlavaConfig):
        super().__init__(config)
        self.model.multi_modal_projector = StarVectorAdapter(config)
        self.post_init()


def starvector_config(vision: dict[str, Any], text: dict[str, Any], image_token_id: int,
                      adapter_norm: str, tie: bool) -> LlavaConfig:
    side, patch = vision["image_size"], vision["patch_size"]
    query_length = (side // patch) ** 2 + 1  # every patch + CLS
    return LlavaConfig(
        vision_config=CLIPVisionConfig(**vision).to_dict(),
        text_config=GPTBigCodeConfig(**text).to_dict(),
        image_token_id=image_token_id,
        image_seq_length=query_length,
        vision_feature_layer=-1,
        vision_feature_select_strategy="full",
        adapter_norm=adapter_norm,
        tie_word_embeddings=tie,
        architectures=["StarVectorForConditionalGeneration"],
    )


class StarVector(Family):
    name = "starvector"
    # "starvector": the released remote-code checkpoint; saved fine-tunes are LLaVA-layout
    # folders whose architectures name our class.
    model_types = ("starvector",)
    tasks = ("img2svg",)
    model_class = StarVectorForConditionalGeneration

    def tiny_config(self, cfg: ModelConfig, tokenizer) -> LlavaConfig:
        vision = {"hidden_size": cfg.vision_hidden_size, "intermediate_size": 2 * cfg.vision_hidden_size,
                  "num_hidden_layers": cfg.vision_depth, "num_attention_heads": cfg.vision_num_heads,
                  "patch_size": cfg.patch_size, "image_size": cfg.image_size}
        text = {"vocab_size": len(tokenizer), "n_embd": cfg.hidden_size, "n_layer": cfg.num_hidden_layers,
                "n_head": cfg.num_attention_heads, "n_inner": cfg.intermediate_size, "multi_query": True,
                "n_positions": cfg.max_position_embeddings, "bos_token_id": tokenizer.bos_token_id,
                "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id,
                "tie_word_embeddings": cfg.tie_word_embeddings}
        return starvector_config(vision, text, _image_token_id(tokenizer), "layer_norm", cfg.tie_word_embeddings)

    def config_from_dict(self, data: dict[str, Any]) -> LlavaConfig:
        """Our config from the released checkpoint's `config.json` (model_type starvector)."""
        if data.get("model_type") != "starvector":
            return LlavaConfig(**{k: v for k, v in data.items() if k != "model_type"})
        if data.get("image_encoder_type") != "clip":
            raise ValueError(f"starvector: only the CLIP encoder (StarVector-1B) is built here, "
                             f"got image_encoder_type={data.get('image_encoder_type')!r}")
        vision = {**CLIP_VIT_L14, "image_size": data.get("image_size", 224)}
        text = {"vocab_size": data["vocab_size"] + 1, "n_embd": data["hidden_size"],
                "n_layer": data["num_hidden_layers"], "n_head": data["num_attention_heads"],
                "multi_query": data.get("multi_query", True),
                "n_positions": data.get("max_position_embeddings", 8192), "tie_word_embeddings": True,
                "bos_token_id": 0, "eos_token_id": 0}  # StarCoder's <|endoftext|>
        # one more row for the image placeholder, added after the released vocabulary
        return starvector_config(vision, text, data["vocab_size"], data.get("adapter_norm", "batch_norm"), True)

    def build_processor(self, tokenizer, cfg: ModelConfig) -> LlavaProcessor:
        if cfg.image_size % cfg.patch_size:
            raise ValueError(f"model.image_size={cfg.image_size} must be a multiple of patch_size={cfg.patch_size}")
        image_token = _ensure_image_token(tokenizer)
        side = cfg.image_size
        image_processor = CLIPImageProcessor(
            size={"shortest_edge": side}, crop_size={"height": side, "width": side},
            image_mean=CLIP_MEAN, image_std=CLIP_STD,
        )
        template = tokenizer.chat_template or STARVECTOR_CHAT_TEMPLATE.replace("__IMAGE__", image_token)
        tokenizer.chat_template = template
        return LlavaProcessor(
            image_processor=image_processor, tokenizer=tokenizer, patch_size=cfg.patch_size,
            vision_feature_select_strategy="full", image_token=image_token,
            num_additional_image_tokens=1, chat_template=template,
        )

    def build_model(self, cfg: ModelConfig, tokenizer):
        model = super().build_model(cfg, tokenizer)
        model.config.image_token_id = _image_token_id(tokenizer)  # where the processor put it
        return model

    def load_processor(self, model_dir: Path) -> LlavaProcessor:
        return LlavaProcessor.from_pretrained(model_dir)

    def input_side(self, processor) -> int:
        return int(processor.image_processor.crop_size["height"])

    def from_pretrained(self, cfg: ModelConfig, dtype: torch.dtype):
        """A fine-tuned LLaVA-layout folder loads directly; the released remote-code checkpoint
        loads with `trust_remote_code` and is converted (`from_released`)."""
        from transformers import AutoConfig

        local = not downloads_allowed()
        try:
            config = AutoConfig.from_pretrained(cfg.name_or_path, trust_remote_code=True, local_files_only=local)
            if config.model_type != "starvector":
                return StarVectorForConditionalGeneration.from_pretrained(
                    cfg.name_or_path, dtype=dtype, local_files_only=local)
            from transformers import AutoModelForCausalLM

            released = AutoModelForCausalLM.from_pretrained(
                cfg.name_or_path, dtype=dtype, trust_remote_code=True, local_files_only=local)
        except OSError as exc:
            raise WeightsUnavailable(f"model {cfg.name_or_path!r}", f"{type(exc).__name__}: {exc}") from exc
        return from_released(released, self.config_from_dict(config.to_dict()), dtype)


def from_released(released: nn.Module, config: LlavaConfig, dtype: torch.dtype):
    """Our model with the released StarVector weights: decoder, adapter and CLIP tower.

    The released model keeps StarCoder as `model.svg_transformer.transformer` (a
    `GPTBigCodeForCausalLM`), the adapter as `model.image_projection` (c_fc, c_proj, norm)
    and CLIP as `model.image_encoder.visual_encoder` (OpenAI layout, converted by
    `clip_state_dict`). The embedding matrix grows by one row for the image placeholder.
    """
    inner = released.model
    model = StarVectorForConditionalGeneration(config).to(dtype)
    decoder = inner.svg_transformer.transformer
    decoder.resize_token_embeddings(config.text_config.vocab_size)
    model.model.language_model.load_state_dict(decoder.transformer.state_dict())
    model.lm_head.load_state_dict(decoder.lm_head.state_dict())
    projector = model.model.multi_modal_projector
    projector.load_state_dict(inner.image_projection.state_dict(), strict=False)  # c_fc, c_proj, norm
    projector.ln_vision.load_state_dict(inner.image_encoder.ln_vision.state_dict())
    result = model.model.vision_tower.load_state_dict(
        clip_state_dict(inner.image_encoder.visual_encoder.state_dict()), strict=False)
    missing = [k for k in result.missing_keys if "post_layernorm" not in k]  # unused: LLaVA reads hidden states
    if missing:
        raise ValueError(f"starvector: CLIP weights not mapped: {missing[:5]} ...")
    return model


def clip_state_dict(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """OpenAI-layout CLIP vision keys (conv1, class/positional embedding, ln_pre,
    transformer.resblocks.i with a fused attention in_proj) -> `CLIPVisionModel` keys."""
    out = {
        "embeddings.class_embedding": sd["class_embedding"],
        "embeddings.patch_embedding.weight": sd["conv1.weight"],
        "embeddings.position_embedding.weight": sd["positional_embedding"],
        "pre_layrnorm.weight": sd["ln_pre.weight"],
        "pre_layrnorm.bias": sd["ln_pre.bias"],
    }
    layers = {int(k.split(".")[2]) for k in sd if k.startswith("transformer.resblocks.")}
    for i in sorted(layers):
        src, dst = f"transformer.resblocks.{i}.", f"encoder.layers.{i}."
        for part, t in zip(("q_proj", "k_proj", "v_proj"), sd[src + "attn.in_proj_weight"].chunk(3), strict=True):
            out[dst + f"self_attn.{part}.weight"] = t
        for part, t in zip(("q_proj", "k_proj", "v_proj"), sd[src + "attn.in_proj_bias"].chunk(3), strict=True):
            out[dst + f"self_attn.{part}.bias"] = t
        pairs = {"attn.out_proj": "self_attn.out_proj", "ln_1": "layer_norm1", "ln_2": "layer_norm2",
                 "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2"}
        for a, b in pairs.items():
            out[dst + b + ".weight"] = sd[src + a + ".weight"]
            out[dst + b + ".bias"] = sd[src + a + ".bias"]
    return out


def _image_token_id(tokenizer) -> int:
    return tokenizer.convert_tokens_to_ids(_ensure_image_token(tokenizer))


def _ensure_image_token(tokenizer) -> str:
    """The placeholder the processor expands: Qwen-style `<|image_pad|>` in our trained
    tokenizer, else `<image>`, added as a special token (StarCoder's vocabulary has none)."""
    if IMAGE_PAD in tokenizer.get_vocab():
        return IMAGE_PAD
    if STARVECTOR_IMAGE_TOKEN not in tokenizer.get_vocab():
        tokenizer.add_special_tokens({"additional_special_tokens": [STARVECTOR_IMAGE_TOKEN]})
    return STARVECTOR_IMAGE_TOKEN
