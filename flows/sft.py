"""Prefect wiring of the sft stage; the stage is `rlrf.train.stage.run_sft`."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from rlrf.config import Recipe
from rlrf.train.stage import run_sft


@flow(name="sft")
def sft_flow(recipe: Recipe, out_dir: Path, upstream: dict[str, Path]) -> dict:
    return run_sft(recipe, upstream, out_dir)
