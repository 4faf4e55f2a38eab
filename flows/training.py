"""Prefect wiring of the sft and grpo stages; the trainers live in `rlrf.train`.

In process by default; with `launch.accelerate_config` (SFT: `launch.sft_accelerate_config`,
e.g. multi-node) the stage runs the same code under
`accelerate launch` (multi-GPU, DeepSpeed) and reads back the main process's summary.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from prefect import flow, get_run_logger

from rlrf.config import Recipe
from rlrf.train.launch import launch_command, run_stage


def _train(stage: str, recipe: Recipe, out_dir: Path, upstream: dict[str, Path]) -> dict:
    logger = get_run_logger()
    if recipe.launch.config_for(stage) is None:
        return run_stage(recipe, stage, out_dir, upstream["curate"], upstream.get("sft"))
    cmd = launch_command(recipe, stage, out_dir, upstream)
    logger.info("%s: %s", stage, " ".join(cmd))
    subprocess.run(cmd, check=True)
    return json.loads((out_dir / "launch.json").read_text())


@flow(name="sft")
def sft_flow(recipe: Recipe, out_dir: Path, upstream: dict[str, Path]) -> dict:
    return _train("sft", recipe, out_dir, upstream)


@flow(name="grpo")
def grpo_flow(recipe: Recipe, out_dir: Path, upstream: dict[str, Path]) -> dict:
    return _train("grpo", recipe, out_dir, upstream)
