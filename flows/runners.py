"""Task runner chosen by the recipe: threads/processes locally, Dask or Ray on a cluster.

Without `curate.task_runner_address` Dask and Ray start a local cluster of `workers`
single-threaded worker processes; with it they join that scheduler / Ray cluster (its
nodes need this package importable and the stage folder on a shared filesystem: shards
are read and written there).
"""

from __future__ import annotations

import gc
import os

from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

from rlrf.config import CurateConfig, repo_root


def task_runner(cfg: CurateConfig, workers: int):
    if cfg.task_runner == "thread":
        return ThreadPoolTaskRunner(max_workers=workers)
    if cfg.task_runner == "process":
        return ProcessPoolTaskRunner(max_workers=workers)
    if cfg.task_runner == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError as exc:
            raise RuntimeError("curate.task_runner=dask needs prefect-dask (pinned in constraints.txt: make venv)") from exc
        if cfg.task_runner_address:
            return DaskTaskRunner(address=cfg.task_runner_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                                              "dashboard_address": None, "preload": ["flows.runners"]})
    try:
        from prefect_ray import RayTaskRunner
    except ImportError as exc:
        raise RuntimeError("curate.task_runner=ray needs prefect-ray (pinned in constraints.txt: make venv)") from exc
    if cfg.task_runner_address:
        return RayTaskRunner(address=cfg.task_runner_address)
    # a local Ray: workers import this checkout (the driver's sys.path is not theirs)
    path = os.pathsep.join(p for p in (str(repo_root()), os.environ.get("PYTHONPATH", "")) if p)
    return RayTaskRunner(init_kwargs={"num_cpus": workers, "include_dashboard": False,
                                      "runtime_env": {"env_vars": {"PYTHONPATH": path}}})


def dask_teardown(worker) -> None:
    """Dask preload hook (`preload: [flows.runners]`), run as a worker closes: a worker that
    ran Prefect tasks holds so many objects that the collections of its interpreter's exit
    outlast the nanny's 4 s grace on a busy machine ("Worker process still alive after 4 s,
    killing"); frozen objects are never traversed again, so the worker exits in time."""
    del worker
    gc.collect()
    gc.freeze()
