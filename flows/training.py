"""Prefect wiring of the sft and grpo stages; the trainers live in `rlrf.train`."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
from prefect import flow, get_run_logger

from rlrf.config import Recipe
from rlrf.train.grpo import run_grpo
from rlrf.train.sft import run_sft


def _split(curate_dir: Path, split: str):
    samples = pq.read_table(curate_dir / "samples.parquet")
    return samples.filter(pc.equal(samples["split"], split))


@flow(name="sft")
def sft_flow(recipe: Recipe, out_dir: Path, upstream: dict[str, Path]) -> dict:
    rows = _split(upstream["curate"], "train")
    get_run_logger().info("sft: %d training rows", rows.num_rows)
    return run_sft(recipe, rows, upstream["curate"] / "tokenizer", out_dir)


@flow(name="grpo")
def grpo_flow(recipe: Recipe, out_dir: Path, upstream: dict[str, Path]) -> dict:
    rows = _split(upstream["curate"], "rl")
    get_run_logger().info("grpo: %d RL prompts, starting from %s", rows.num_rows, upstream["sft"] / "model")
    return run_grpo(recipe, rows, upstream["sft"] / "model", out_dir)
