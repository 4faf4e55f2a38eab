"""Tokenizers for SVG code: a hub tokenizer at paper scale, or a byte-level BPE trained here.

The embedded default trains a small byte-level BPE on the curated train split so that a
tiny random-init Qwen2.5-VL (see `rlrf.models.factory`) can be trained end to end on CPU.
It carries the Qwen2.5-VL special tokens and a Qwen-style chat template, so the same
prompt building, TRL trainers and processor code serve the tiny and the real models.
Token counts feed the paper's length filters and the dynamic max length (RLRF §3.3).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from rlrf.config import TokenizerConfig

log = logging.getLogger(__name__)

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
ENDOFTEXT = "<|endoftext|>"
VISION_START = "<|vision_start|>"
VISION_END = "<|vision_end|>"
IMAGE_PAD = "<|image_pad|>"
VIDEO_PAD = "<|video_pad|>"
PAD = "<|pad|>"
SPECIAL_TOKENS = [ENDOFTEXT, IM_START, IM_END, VISION_START, VISION_END, IMAGE_PAD, VIDEO_PAD, PAD]

# Qwen2.5-VL's template, reduced to what img2svg / text2svg need: string or typed-part
# content, one image placeholder per image part, `<|im_end|>` closing every turn (the
# assistant's `<|im_end|>` is the stop token the model must learn).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' or 'image' in part %}{{ '<|vision_start|><|image_pad|><|vision_end|>' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{{ '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def train_tokenizer(texts: Iterable[str], cfg: TokenizerConfig) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE (GPT-2 style, no unknown tokens) on SVG code.

    Byte-level means any model roll-out decodes back to the exact bytes it chose,
    which the renderer then judges; no `<unk>` can hide malformed output.
    """
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=cfg.vocab_size,
        min_frequency=cfg.min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=None,
        eos_token=IM_END,
        pad_token=PAD,
        unk_token=None,
        additional_special_tokens=[t for t in SPECIAL_TOKENS if t not in (IM_END, PAD)],
        padding_side="left",
        model_max_length=1_000_000,
    )
    fast.chat_template = CHAT_TEMPLATE
    log.info("trained byte-level BPE: %d tokens (asked for %d)", len(fast), cfg.vocab_size)
    return fast


def load_tokenizer(cfg: TokenizerConfig, trained_dir: Path | None) -> PreTrainedTokenizerFast:
    """The recipe's hub id / local path when given, else the locally trained tokenizer."""
    source = cfg.name_or_path or (str(trained_dir) if trained_dir is not None else None)
    if source is None:
        raise ValueError(
            "tokenizer: name_or_path is unset and no trained tokenizer directory was given"
        )
    try:
        tok = AutoTokenizer.from_pretrained(source)
    except OSError as exc:
        raise OSError(
            f"tokenizer {source!r} could not be loaded (hub not reachable?): {exc}"
        ) from exc
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def count_tokens(tokenizer, texts: list[str]) -> list[int]:
    """Token count of each text without special tokens (the paper's length unit)."""
    if not texts:
        return []
    enc = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    return [len(ids) for ids in enc]
