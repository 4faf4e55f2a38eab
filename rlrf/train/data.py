"""Curated rows → TRL datasets for SFT (prompt + completion) and GRPO (prompt + reward columns).

Img2SVG inputs are the ground-truth SVG rendered at `model.image_size` (RLRF §3.1);
rows whose GT does not render are dropped here and counted in the log, never fed
as blank images.
"""

from __future__ import annotations

import logging

import pyarrow as pa
from datasets import Dataset
from PIL import Image

from rlrf.config import ModelConfig
from rlrf.models.inputs import render_inputs
from rlrf.models.prompts import prompt_messages
from rlrf.models.tokenizer import count_tokens

log = logging.getLogger(__name__)


def _rows(table: pa.Table, max_rows: int | None) -> list[dict]:
    rows = table.to_pylist()
    return rows[:max_rows] if max_rows else rows


def _with_inputs(rows: list[dict], cfg: ModelConfig) -> list[tuple[dict, Image.Image | None]]:
    out, failed = [], 0
    images = render_inputs([r["svg"] for r in rows], cfg.image_size) if cfg.task == "img2svg" else [None] * len(rows)
    for row, image in zip(rows, images, strict=True):
        if cfg.task == "img2svg" and image is None:
            failed += 1
            continue
        out.append((row, image))
    if failed:
        log.warning("dropped %d of %d rows whose GT SVG does not render", failed, len(rows))
    return out


def sft_dataset(table: pa.Table, cfg: ModelConfig, max_rows: int | None = None) -> Dataset:
    """Conversational prompt-completion rows; TRL masks the prompt out of the loss."""
    records = []
    for row, image in _with_inputs(_rows(table, max_rows), cfg):
        rec = {
            "prompt": prompt_messages(cfg.task, row.get("caption")),
            "completion": [{"role": "assistant", "content": row["svg"]}],
        }
        if image is not None:
            rec["image"] = image
        records.append(rec)
    if not records:
        raise ValueError("SFT: no usable training rows")
    return Dataset.from_list(records)


def grpo_dataset(
    table: pa.Table, cfg: ModelConfig, tokenizer, max_rows: int | None = None
) -> Dataset:
    """Prompt rows with the columns rewards read: gt_svg, sample_id, caption, gt_n_tokens.

    gt_n_tokens drives the dynamic max length (RLRF §3.3). Caption-only prompts (text2svg,
    `grpo.prompt_sets`) have no GT: gt_svg and gt_n_tokens are None there.
    """
    pairs = _with_inputs(_rows(table, max_rows), cfg)
    if not pairs:
        raise ValueError("GRPO: no usable RL rows")
    svgs = [row["svg"] for row, _ in pairs]
    counts = iter(count_tokens(tokenizer, [s for s in svgs if s is not None]))
    n_tokens = [None if s is None else next(counts) for s in svgs]
    records = []
    for (row, image), n in zip(pairs, n_tokens, strict=True):
        rec = {
            "prompt": prompt_messages(cfg.task, row.get("caption")),
            "gt_svg": row["svg"],
            "sample_id": str(row["sample_id"]),
            "caption": row.get("caption") or "",
            "gt_n_tokens": n,
        }
        if image is not None:
            rec["image"] = image
        records.append(rec)
    return Dataset.from_list(records)
