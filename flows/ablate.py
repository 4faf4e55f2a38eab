"""The `rlrf/ablate` deployment: every cell of an ablation file as its own `rlrf` sub-flow
run (stages a cell does not change are reused), then the `ablation_cells` table and an
ablation report. Orchestration only; the logic lives in `rlrf.ablation`."""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_link_artifact, create_markdown_artifact

from flows.rlrf_flow import rlrf
from rlrf.ablation.report import ablation_markdown, write_ablation
from rlrf.ablation.spec import load_ablation
from rlrf.ablation.table import CellRun
from rlrf.artifacts import Store


# Named `rlrf` so the deployment reads `rlrf/ablate`, beside `rlrf/full` and the stage ones.
@flow(name="rlrf")
def ablate(ablation: str = "temperature", recipe: str | None = None) -> dict:
    """Run an ablation file (`recipes/ablations/<name>.yaml` or a path) cell by cell.

    recipe: replaces the file's base recipe (a name or a path). Cells run one after another;
    a failed cell is recorded (status 'failed') and the others still run, then this flow fails.
    """
    logger = get_run_logger()
    abl = load_ablation(ablation, recipe=recipe)
    first = abl.recipes[abl.cells[0].id]
    store = Store(first.artifacts_dir, first.name)
    run_id = store.new_run_id()
    logger.info("ablation %s: %d cells on recipe %s", abl.name, len(abl.cells), abl.recipe)
    runs = []
    for cell in abl.cells:
        run = CellRun(cell, started_at=time.time())
        name = f"{abl.name}: {cell.id}".replace("{", "{{").replace("}", "}}")  # a template of parameters
        sub = rlrf.with_options(flow_run_name=name)
        state = sub(recipe=abl.recipe, stages=",".join(abl.stages), overrides=abl.cell_overrides(cell),
                    return_state=True)
        if state.is_completed():
            run.stage_dirs = {k: Path(v) for k, v in state.result().items()}
        else:
            run.error = f"{state.name}: {state.message}"
            logger.error("ablation %s: cell %s failed: %s", abl.name, cell.id, run.error)
        runs.append(run)
    out = write_ablation(abl, runs, store, run_id)
    key = f"rlrf-ablation-{abl.name}".replace("_", "-").lower()
    create_link_artifact(key=key, link=Path(out["report"]).resolve().as_uri(), link_text=f"ablation {abl.name}",
                         description=f"metric vs swept value, {len(abl.cells)} cells")
    create_markdown_artifact(ablation_markdown(out["rows"]), key=f"{key}-table", description=f"ablation {abl.name}")
    logger.info("ablation %s: table %s, report %s", abl.name, out["table"], out["report"])
    if out["failed"]:
        raise RuntimeError(f"ablation {abl.name}: cells failed: {', '.join(out['failed'])} "
                           f"(recorded in {out['table']})")
    return out
