"""Micro recipe, model config and icon rows shared by tests/models and tests/train."""

from __future__ import annotations

import pyarrow as pa
import pytest

from rlrf.config import ModelConfig, TokenizerConfig
from rlrf.recipe import parse_recipe

ICONS = [
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="6"/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect x="2" y="2" width="12" height="12"/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path d="M8 1 15 15H1z"/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect x="4" y="1" width="8" height="14" fill="#c00"/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path d="M2 8h12v2H2z"/><circle cx="8" cy="4" r="2"/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><ellipse cx="8" cy="8" rx="7" ry="3" fill="#06c"/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path d="M1 1h6v6H1zm8 8h6v6H9z"/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="4" cy="12" r="3"/><circle cx="12" cy="4" r="3"/></svg>',
]

MICRO_MODEL = {
    "image_size": 56,
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "intermediate_size": 64,
    "vision_depth": 1,
    "vision_hidden_size": 16,
    "vision_num_heads": 2,
}


def icon_rows(n: int = len(ICONS)) -> pa.Table:
    svgs = [ICONS[i % len(ICONS)] for i in range(n)]
    return pa.table(
        {
            "sample_id": [f"icon{i}" for i in range(n)],
            "source": ["test"] * n,
            "split": ["train"] * n,
            "svg": svgs,
            "n_tokens": [0] * n,
            "caption": [f"shape {i}" for i in range(n)],
            "width": [16] * n,
            "height": [16] * n,
            "color_entropy": [0.0] * n,
        }
    )


def micro_recipe(**sections):
    data = {
        "name": "micro",
        "device": "cpu",
        "tokenizer": {"vocab_size": 300},
        "model": dict(MICRO_MODEL),
    }
    for k, v in sections.items():
        data[k] = {**data.get(k, {}), **v} if isinstance(v, dict) else v
    return parse_recipe(data)


@pytest.fixture(scope="session")
def micro_tokenizer():
    from rlrf.models.tokenizer import train_tokenizer

    return train_tokenizer(ICONS * 4, TokenizerConfig(vocab_size=300))


@pytest.fixture(scope="session")
def micro_model_cfg():
    return ModelConfig(**MICRO_MODEL)
