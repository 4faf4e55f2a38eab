"""Qwen3 (text-only causal LM; Qwen3-8B at paper scale) for Text2SVG: caption -> SVG.

The processing object is the tokenizer: TRL's trainers and our generation take a
tokenizer where a processor would be. Qwen3's own chat template thinks first unless told
`enable_thinking=False`; the SVG is the whole answer here, so the template is pinned to
non-thinking mode once, and every consumer (TRL, HF generate, vLLM via the saved
tokenizer) sees the same prompt. The tiny variant keeps Qwen3's block (GQA,
q/k RMS norm, SwiGLU) with every dimension from the recipe's model section.
"""

from __future__ import annotations

from transformers import Qwen3Config, Qwen3ForCausalLM

from rlrf.config import ModelConfig
from rlrf.models.families.base import Family

NO_THINKING = "{%- set enable_thinking = false -%}"


class Qwen3Text(Family):
    name = "qwen3"
    model_types = ("qwen3",)
    tasks = ("text2svg",)
    model_class = Qwen3ForCausalLM

    def build_processor(self, tokenizer, cfg: ModelConfig):
        template = tokenizer.chat_template
        if isinstance(template, str) and "enable_thinking" in template and not template.startswith(NO_THINKING):
            tokenizer.chat_template = NO_THINKING + template
        return tokenizer

    def tiny_config(self, cfg: ModelConfig, tokenizer) -> Qwen3Config:
        if cfg.hidden_size % cfg.num_attention_heads:
            raise ValueError("model.hidden_size must be divisible by model.num_attention_heads")
        return Qwen3Config(
            vocab_size=len(tokenizer),
            hidden_size=cfg.hidden_size,
            intermediate_size=cfg.intermediate_size,
            num_hidden_layers=cfg.num_hidden_layers,
            num_attention_heads=cfg.num_attention_heads,
            num_key_value_heads=cfg.num_key_value_heads,
            head_dim=cfg.hidden_size // cfg.num_attention_heads,
            max_position_embeddings=cfg.max_position_embeddings,
            tie_word_embeddings=cfg.tie_word_embeddings,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
