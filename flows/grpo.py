"""Prefect wiring of the grpo stage; the stage is `rlrf.train.stage.run_grpo`."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from rlrf.config import Recipe
from rlrf.train.stage import run_grpo


@flow(name="grpo")
def grpo_flow(recipe: Recipe, out_dir: Path, upstream: dict[str, Path]) -> dict:
    return run_grpo(recipe, upstream, out_dir)
