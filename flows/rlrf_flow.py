"""The `rlrf` flow: curate -> sft -> grpo -> eval, each stage skipped when its inputs
are unchanged. Orchestration only; every stage body is a function in `rlrf/`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.curate import curate_flow
from flows.eval import eval_flow
from flows.grpo import grpo_flow
from flows.runners import task_runner
from flows.sft import sft_flow
from rlrf.artifacts import Store, catalogue_path, connect, write_catalogue
from rlrf.config import Recipe
from rlrf.pipeline import parse_stages, plan_stage, running
from rlrf.recipe import load_recipe
from rlrf.summary import summary_markdown

STAGE_FLOWS = {"curate": curate_flow, "sft": sft_flow, "grpo": grpo_flow, "eval": eval_flow}


def _run_stage(stage: str, recipe: Recipe, store: Store, run_id: str, force: bool,
               dirs: dict[str, Path]) -> Path:
    logger = get_run_logger()
    plan = plan_stage(store, recipe, stage, run_id, force, upstream_dirs=dirs)
    if plan.skip:
        logger.info("stage %s: unchanged since %s, skipped (force=True reruns it)", stage, plan.stage_dir)
        return plan.stage_dir
    sub = STAGE_FLOWS[stage]
    if stage == "curate":
        sub = sub.with_options(task_runner=task_runner(recipe.curate, recipe.render.workers))
    t0 = time.time()
    with running(plan, recipe, store) as run:
        run.summary = sub(recipe=recipe, out_dir=run.stage_dir, upstream=run.upstream) or {}
    logger.info("stage %s: done in %.1f s -> %s", stage, time.time() - t0, plan.stage_dir)
    return plan.stage_dir


@flow(name="rlrf")
def rlrf(recipe: str = "tiny", stages: str = "all", force: bool = False,
         overrides: dict[str, Any] | None = None) -> dict[str, str]:
    """Run the requested stages of the pipeline on a recipe (`recipes/<name>.yaml` or a path).

    stages: 'all' or a comma-separated subset (e.g. 'grpo,eval'); a single stage reads the
    newest finished upstream artifacts of the same recipe. force: rerun even if unchanged.
    overrides: dotted recipe keys, e.g. {"grpo.max_steps": 100}.
    """
    logger = get_run_logger()
    cfg = load_recipe(recipe, overrides)
    store = Store(cfg.artifacts_dir, cfg.name)
    run_id = store.new_run_id()
    dirs: dict[str, Path] = {}
    for stage in parse_stages(stages):
        dirs[stage] = _run_stage(stage, cfg, store, run_id, force, dirs)
    if not catalogue_path(store).exists():
        write_catalogue(store)
    con = connect(store=store)
    try:
        text = summary_markdown(con, store)
    finally:
        con.close()
    create_markdown_artifact(text, key=f"rlrf-summary-{cfg.name}".replace("_", "-"), description="rlrf run summary")
    logger.info("run summary\n%s", text)
    return {k: str(v) for k, v in dirs.items()}
