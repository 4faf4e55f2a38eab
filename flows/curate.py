"""Prefect wiring of the curate stage: one task per shard and phase on the recipe's task
runner (`flows.runners`); the logic, and the order of phases, live in `rlrf.data.stage`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed

from rlrf.config import Recipe
from rlrf.data.stage import run_curate


@task(retries=1, retry_delay_seconds=1, cache_policy=NO_CACHE, task_run_name="{label}")
def shard_task(fn: Callable, args: tuple, label: str) -> dict:
    """One shard of one phase (`rlrf.data.stage.prep_shard` / `feature_shard`): reads and
    writes shard files, returns a few counts. A retry reuses what the shard already wrote."""
    return fn(*args)


def prefect_map(fn: Callable, args_list: Sequence[tuple], phase: str) -> list[dict]:
    """Submit every shard of a phase to the flow's task runner; as each finishes, log it and
    move the phase's progress artifact (`curate-<phase>`, a progress bar in the Prefect UI).
    Results come back in submission order."""
    logger = get_run_logger()
    futures = [shard_task.submit(fn, args, f"{phase}-{i:05d}") for i, args in enumerate(args_list)]
    index = {id(f): i for i, f in enumerate(futures)}
    bar = create_progress_artifact(progress=0.0, key=f"curate-{phase}",
                                   description=f"curate {phase}: shards done of {len(futures)}")
    out: list = [None] * len(futures)
    for done, future in enumerate(as_completed(futures), start=1):
        out[index[id(future)]] = future.result()
        update_progress_artifact(bar, progress=100.0 * done / len(futures))
        logger.info("curate %s: %d/%d shards done", phase, done, len(futures))
    return out


@flow(name="curate", log_prints=False)
def curate_flow(recipe: Recipe, out_dir: Path, upstream: dict[str, Path]) -> dict:
    summary = run_curate(recipe, upstream, Path(out_dir), map_shards=prefect_map)
    get_run_logger().info("curate: %d raw rows -> %d samples in %.1f s (%.0f rows/s)", summary["raw_rows"],
                          summary["samples"], summary["total_s"], summary["rows_per_s"])
    return summary
