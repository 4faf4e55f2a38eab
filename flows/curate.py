"""Prefect wiring of the curate stage: one task per shard and phase on the recipe's task
runner (`flows.runners`); the logic, and the order of phases, live in `rlrf.data.stage`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from rlrf.config import Recipe
from rlrf.data.stage import run_curate


@task(retries=1, retry_delay_seconds=1, cache_policy=NO_CACHE, task_run_name="{label}")
def shard_task(fn: Callable, args: tuple, label: str) -> dict:
    """One shard of one phase (`rlrf.data.stage.prep_shard` / `feature_shard`): reads and
    writes shard files, returns a few counts. A retry reuses what the shard already wrote."""
    return fn(*args)


def prefect_map(fn: Callable, args_list: Sequence[tuple], phase: str) -> list[dict]:
    """Submit every shard of a phase to the flow's task runner; log each as it finishes."""
    logger = get_run_logger()
    futures = [shard_task.submit(fn, args, f"{phase}-{i:05d}") for i, args in enumerate(args_list)]
    out = []
    for i, future in enumerate(futures):
        out.append(future.result())
        logger.info("curate %s: %d/%d shards done", phase, i + 1, len(futures))
    return out


@flow(name="curate", log_prints=False)
def curate_flow(recipe: Recipe, out_dir: Path, upstream: dict[str, Path]) -> dict:
    summary = run_curate(recipe, upstream, Path(out_dir), map_shards=prefect_map)
    get_run_logger().info("curate: %d raw rows -> %d samples in %.1f s (%.0f rows/s)", summary["raw_rows"],
                          summary["samples"], summary["total_s"], summary["rows_per_s"])
    return summary
