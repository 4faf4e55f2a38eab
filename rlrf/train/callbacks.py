"""Trainer callbacks shared by SFT and GRPO: train_log rows and a wall-clock budget."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from transformers import TrainerCallback

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


def merge_rows(path: Path, new_rows: list[dict], keep_upto: int | None) -> pa.Table:
    """Rows of an earlier (interrupted) run up to its checkpoint step, then this run's rows."""
    tables = []
    if keep_upto is not None and path.exists():
        old = pq.read_table(path)
        tables.append(old.filter(pc.less_equal(old.column("step"), keep_upto)))
    if new_rows:
        keys: list[str] = []
        for r in new_rows:
            keys += [k for k in r if k not in keys]
        tables.append(pa.table({k: [r.get(k) for r in new_rows] for k in keys}))
    if not tables:
        return pa.table({"step": pa.array([], pa.int64())})
    return pa.concat_tables(tables, promote_options="permissive")


class FlushTables(TrainerCallback):
    """Write the stage's tables at every checkpoint, so rows up to it survive a kill."""

    def __init__(self, flush):
        self.flush = flush

    def on_save(self, args, state, control, **kwargs):
        self.flush()


class TimeBudgetCallback(TrainerCallback):
    """A guard, not a stopping rule: stop cleanly (with a checkpoint) once `budget_s` seconds
    have passed, loudly, because the model then depends on how fast the machine was. Recipes
    set their training length in steps/epochs; the stage summary reports
    `stopped_by_time_budget`."""

    def __init__(self, budget_s: float | None):
        self.budget_s = budget_s
        self._t0 = time.perf_counter()
        self.hit = False
        self.step: int | None = None
        self.max_steps: int | None = None

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
            self.step, self.max_steps = int(state.global_step), int(state.max_steps)
            control.should_training_stop = True
            control.should_save = True
        return control

    def note(self, stage: str) -> list[str]:
        """The loud line a time-budget stop leaves in the stage's manifest and summary."""
        if not self.hit:
            return []
        return [f"TIME BUDGET: {stage} stopped by its {self.budget_s:g} s budget at step {self.step} "
                f"of {self.max_steps}; the model is not trained to the recipe's length"]
