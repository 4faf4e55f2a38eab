"""Prefect wiring of the eval stage; the logic lives in `rlrf.eval.stage`."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_link_artifact

from rlrf.config import Recipe
from rlrf.eval.stage import run_eval


@flow(name="eval")
def eval_flow(recipe: Recipe, out_dir: Path, upstream: dict[str, Path]) -> dict:
    logger = get_run_logger()
    summary = run_eval(recipe, upstream, out_dir)
    for note in summary["notes"]:
        logger.warning(note)
    create_link_artifact(key=f"rlrf-report-{recipe.name}".replace("_", "-").replace(".", "-"),
                         link=Path(summary["report"]).resolve().as_uri(), link_text="RLRF evaluation report",
                         description=f"HTML report of the eval stage ({recipe.name})")
    logger.info("eval report: %s", summary["report"])
    return summary
