"""What every model family provides, so SFT, GRPO, eval and the dry run never name a class.

A family is one architecture the paper trains (Qwen2.5-VL, StarVector, Qwen3): how to
build its config (tiny random-init from the recipe, or a committed / hub `config.json`),
its processing object (a processor for image input, the tokenizer for text-only), its
model (random init or `from_pretrained`), and how a saved model folder loads back.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import torch
from transformers import AutoTokenizer, PretrainedConfig, PreTrainedModel

from rlrf.config import ModelConfig
from rlrf.weights import WeightsUnavailable, downloads_allowed

log = logging.getLogger(__name__)


class Family(ABC):
    """Base adapter; subclasses set the class attributes and implement `tiny_config`."""

    name: str = ""
    model_types: tuple[str, ...] = ()  # `model_type` values of config.json that this family loads
    tasks: tuple[str, ...] = ("img2svg", "text2svg")
    model_class: type[PreTrainedModel]

    @property
    def config_class(self) -> type[PretrainedConfig]:
        """The model class's own config class (transformers declares it on the model)."""
        return self.model_class.config_class

    # -- configs -------------------------------------------------------------------------
    @abstractmethod
    def tiny_config(self, cfg: ModelConfig, tokenizer) -> PretrainedConfig:
        """A small random-init config of this family whose token ids come from `tokenizer`."""

    def config_from_dict(self, data: dict[str, Any]) -> PretrainedConfig:
        """A config from a `config.json` mapping (committed facts for the dry run)."""
        data = {k: v for k, v in data.items() if k not in ("model_type", "architectures", "transformers_version")}
        return self.config_class(**data)

    # -- processing ----------------------------------------------------------------------
    def build_processor(self, tokenizer, cfg: ModelConfig):
        """The object TRL and generation call: a processor for images, else the tokenizer."""
        return tokenizer

    def load_processor(self, model_dir: Path):
        return AutoTokenizer.from_pretrained(model_dir)

    def input_side(self, processor) -> int | None:
        """Square side input images are resized to before the processor (None: text-only)."""
        return None

    # -- models --------------------------------------------------------------------------
    def check_task(self, task: str) -> None:
        if task not in self.tasks:
            raise ValueError(f"model family {self.name!r} does not do task {task!r} (it does {', '.join(self.tasks)})")

    def build_model(self, cfg: ModelConfig, tokenizer) -> PreTrainedModel:
        """Random init from `tiny_config` when `cfg.name_or_path` is None, else `from_pretrained`."""
        self.check_task(cfg.task)
        dtype = getattr(torch, cfg.dtype)
        if cfg.name_or_path is None:
            config = self.tiny_config(cfg, tokenizer)
            config.rlrf_family = self.name
            model = self.model_class(config).to(dtype)
            n = sum(p.numel() for p in model.parameters())
            log.info("tiny random-init %s: %.2fM parameters", self.name, n / 1e6)
        else:
            model = self.from_pretrained(cfg, dtype)
            if len(tokenizer) > model.get_input_embeddings().num_embeddings:  # e.g. an added image token
                model.resize_token_embeddings(len(tokenizer))
        sync_generation_ids(model, tokenizer)
        return model

    def from_pretrained(self, cfg: ModelConfig, dtype: torch.dtype) -> PreTrainedModel:
        try:
            return self.model_class.from_pretrained(
                cfg.name_or_path, dtype=dtype, attn_implementation=cfg.attn_implementation,
                local_files_only=not downloads_allowed(),
            )
        except OSError as exc:
            raise WeightsUnavailable(f"model {cfg.name_or_path!r}", f"{type(exc).__name__}: {exc}") from exc

    def load_trained(self, model_dir: Path):
        """(model, processor) saved by a training stage (`save_pretrained` of both in one folder)."""
        processor = self.load_processor(model_dir)
        model = self.model_class.from_pretrained(model_dir)
        model.eval()
        sync_generation_ids(model, tokenizer_of(processor))
        return model, processor

    def meta_model(self, config: PretrainedConfig) -> PreTrainedModel:
        """The architecture on the meta device: shapes and parameter counts, no memory."""
        with torch.device("meta"):
            return self.model_class(config)


def tokenizer_of(processor):
    """The tokenizer inside a processor, or the tokenizer itself (text-only families)."""
    return getattr(processor, "tokenizer", processor)


def sync_generation_ids(model, tokenizer) -> None:
    """Stop at the tokenizer's eos and pad with its pad id in every `generate` call."""
    gen = model.generation_config
    gen.eos_token_id = tokenizer.eos_token_id
    gen.pad_token_id = tokenizer.pad_token_id
    gen.bos_token_id = tokenizer.bos_token_id
