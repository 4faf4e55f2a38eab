"""Task runner chosen by the recipe: threads/processes locally, Dask or Ray on a cluster."""

from __future__ import annotations

from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

from rlrf.config import CurateConfig


def task_runner(cfg: CurateConfig, workers: int):
    if cfg.task_runner == "thread":
        return ThreadPoolTaskRunner(max_workers=workers)
    if cfg.task_runner == "process":
        return ProcessPoolTaskRunner(max_workers=workers)
    if cfg.task_runner == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError as exc:
            raise RuntimeError("curate.task_runner=dask needs `pip install prefect-dask`") from exc
        return DaskTaskRunner(address=cfg.task_runner_address) if cfg.task_runner_address else DaskTaskRunner()
    try:
        from prefect_ray import RayTaskRunner
    except ImportError as exc:
        raise RuntimeError("curate.task_runner=ray needs `pip install prefect-ray`") from exc
    return RayTaskRunner(address=cfg.task_runner_address) if cfg.task_runner_address else RayTaskRunner()
