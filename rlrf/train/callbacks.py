"""Trainer callbacks shared by SFT and GRPO: train_log rows and a wall-clock budget."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import pyarrow as pa
from transformers import TrainerCallback

from rlrf.artifacts import write_table

log = logging.getLogger(__name__)


def _column(key: str) -> str:
    """TRL's log keys as column names: `rewards/l2/mean` → `rewards_l2_mean`."""
    return key.replace("/", "_").replace("-", "_")


class TrainLogCallback(TrainerCallback):
    """Collect every trainer log as a `train_log` row (stage, step, seconds, then TRL's numbers)."""

    def __init__(self, stage: str):
        self.stage = stage
        self.rows: list[dict] = []
        self._t0 = time.perf_counter()

    def on_train_begin(self, args, state, control, **kwargs):
        self._t0 = time.perf_counter()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or "train_runtime" in logs:  # the final summary is not a step
            return
        row = {
            "stage": self.stage,
            "step": int(state.global_step),
            "seconds": time.perf_counter() - self._t0,
        }
        for k, v in logs.items():
            if isinstance(v, bool) or not isinstance(v, int | float):
                continue
            name = "lr" if k == "learning_rate" else _column(k)
            row[name] = float(v) if math.isfinite(float(v)) else None
        self.rows.append(row)

    def table(self) -> pa.Table:
        keys: list[str] = []
        for row in self.rows:
            keys += [k for k in row if k not in keys]
        if not keys:
            keys = ["stage", "step", "seconds", "loss", "lr"]
        return pa.table({k: [row.get(k) for row in self.rows] for k in keys})


def append_train_log(path: Path, table: pa.Table) -> Path:
    """Write `table`, appending to rows already at `path` from an interrupted run (resume)."""
    import pyarrow.parquet as pq

    if path.exists():
        old = pq.read_table(path)
        last = max(old.column("step").to_pylist() or [-1])
        new_steps = pa.compute.greater(table.column("step"), last) if table.num_rows else None
        if new_steps is not None:
            table = table.filter(new_steps)
        table = pa.concat_tables([old, table], promote_options="permissive")
    return write_table(table, path)


class TimeBudgetCallback(TrainerCallback):
    """A guard, not a stopping rule: stop cleanly (with a checkpoint) once `budget_s` seconds
    have passed, loudly, because the model then depends on how fast the machine was. Recipes
    set their training length in steps/epochs; the stage summary reports
    `stopped_by_time_budget`."""

    def __init__(self, budget_s: float | None):
        self.budget_s = budget_s
        self._t0 = time.perf_counter()
        self.hit = False

    def on_train_begin(self, args, state, control, **kwargs):
        self._t0 = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if self.budget_s is not None and time.perf_counter() - self._t0 > self.budget_s:
            log.warning(
                "TIME BUDGET HIT: %.0f s reached at step %d of %d; training stopped early, so this model "
                "is not the one the recipe describes (it depends on machine speed)",
                self.budget_s, state.global_step, state.max_steps,
            )
            self.hit = True
            control.should_training_stop = True
            control.should_save = True
        return control
