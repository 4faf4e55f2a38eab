"""Prefect wiring of the eval stage; the logic lives in `rlrf.eval.stage`.

One task per (model, split), run in turn (one model on the accelerator at a time), so the
UI shows eval's progress; each part is recorded in the stage folder, so a rerun after a
failed split recomputes that split alone.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact
from prefect.cache_policies import NO_CACHE

from rlrf.config import Recipe

if TYPE_CHECKING:
    from rlrf.eval.stage import EvalPart
# rlrf.eval.stage (torch, transformers: ~750 MB resident) is imported when eval runs, so the
# flow process of a curate run never holds it


@task(cache_policy=NO_CACHE, task_run_name="eval {part.label} on {part.split}")
def eval_part(recipe: Recipe, upstream: dict[str, Path], out_dir: Path, part: EvalPart) -> dict:
    from rlrf.eval.stage import run_eval_part

    return run_eval_part(recipe, upstream, out_dir, part)


@task(cache_policy=NO_CACHE)
def eval_report(recipe: Recipe, upstream: dict[str, Path], out_dir: Path, parts: list[EvalPart],
                notes: list[str], seconds: float) -> dict:
    from rlrf.eval.stage import finish_eval

    return finish_eval(recipe, upstream, out_dir, parts, notes, seconds)


@flow(name="eval")
def eval_flow(recipe: Recipe, out_dir: Path, upstream: dict[str, Path]) -> dict:
    from rlrf.eval.stage import eval_parts

    logger = get_run_logger()
    t0 = time.time()
    parts, notes = eval_parts(recipe, upstream)
    for part in parts:
        eval_part(recipe, upstream, out_dir, part)
    summary = eval_report(recipe, upstream, out_dir, parts, notes, time.time() - t0)
    for note in summary["notes"]:
        logger.warning(note)
    create_link_artifact(key=f"rlrf-report-{recipe.name}".replace("_", "-").replace(".", "-"),
                         link=Path(summary["report"]).resolve().as_uri(), link_text="RLRF evaluation report",
                         description=f"HTML report of the eval stage ({recipe.name})")
    logger.info("eval report: %s", summary["report"])
    return summary
