"""Trainer callbacks shared by SFT and GRPO: the stage's tables and a wall-clock budget."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from transformers import TrainerCallback

from rlrf.artifacts import write_table

log = logging.getLogger(__name__)


def _column(key: str) -> str:
    """TRL's log keys as column names: `rewards/l2/mean` → `rewards_l2_mean`."""
    return key.replace("/", "_").replace("-", "_")


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


class TrainTables(TrainerCallback):
    """The stage's tables, written as training goes: `train_log` (one row per trainer log:
    stage, step, seconds, then TRL's numbers) and any table a `sources` callable returns the
    rows of (GRPO's `rollouts`). `train_log` is written as training goes (at every log);
    every table at every checkpoint, so rows up to it survive a kill, and by `flush()` at
    the end. One resume rule for every table: the rows of an
    interrupted run up to the checkpoint this run resumed from, then this run's rows."""

    def __init__(self, stage: str, out_dir: Path, resumed_step: int | None,
                 sources: dict[str, Callable[[], list[dict]]] | None = None,
                 columns: Callable[[], dict[str, float]] | None = None):
        self.stage, self.out_dir, self.resumed_step = stage, Path(out_dir), resumed_step
        self.rows: list[dict] = []
        self.sources = {"train_log": lambda: self.rows, **(sources or {})}
        self.columns = columns  # more train_log columns at each log (GRPO's `StepClock.take`)
        self._t0 = time.perf_counter()
        self._main = True

    def on_train_begin(self, args, state, control, **kwargs):
        self._t0 = time.perf_counter()
        self._main = state.is_world_process_zero

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or "train_runtime" in logs:  # the final summary is not a step
            return
        row = {"stage": self.stage, "step": int(state.global_step), "seconds": time.perf_counter() - self._t0}
        for k, v in logs.items():
            if isinstance(v, bool) or not isinstance(v, int | float):
                continue
            name = "lr" if k == "learning_rate" else _column(k)
            row[name] = float(v) if math.isfinite(float(v)) else None
        row.update(self.columns() if self.columns else {})
        self.rows.append(row)
        self.flush(["train_log"])

    def on_save(self, args, state, control, **kwargs):
        self.flush()

    def flush(self, names: list[str] | None = None) -> None:
        """Write the named tables (default: all), on the main process only."""
        if not self._main:
            return
        for name in names or list(self.sources):
            path = self.out_dir / f"{name}.parquet"
            write_table(merge_rows(path, self.sources[name](), self.resumed_step), path)


class StepClock(TrainerCallback):
    """Seconds per optimiser step, split into generate / score / optimise, for `train_log`
    (`time_generate_s`, `time_score_s`, `time_optimise_s`: means over the steps since the
    last log). Reward terms report their calls (`scored`); generation is the time from the
    step's start to the first reward call (roll-outs and the no-grad log-prob passes TRL
    runs before scoring), optimise the rest of the step. A step that reuses an earlier
    roll-out batch (`updates_per_generation` > 1) generates and scores nothing."""

    def __init__(self):
        self._t0 = time.perf_counter()
        self._first: float | None = None
        self._score = 0.0
        self._steps: list[tuple[float, float, float]] = []

    def on_step_begin(self, args, state, control, **kwargs):
        self._t0, self._first, self._score = time.perf_counter(), None, 0.0

    def scored(self, started: float) -> None:
        """A reward call that started at `started` (perf_counter) has just returned."""
        self._first = started if self._first is None else self._first
        self._score += time.perf_counter() - started

    def on_step_end(self, args, state, control, **kwargs):
        total = time.perf_counter() - self._t0
        generate = 0.0 if self._first is None else self._first - self._t0
        self._steps.append((generate, self._score, max(0.0, total - generate - self._score)))

    def take(self) -> dict[str, float]:
        """Mean timings of the steps since the last call (TrainTables' extra columns)."""
        if not self._steps:
            return {}
        means = np.mean(np.array(self._steps), axis=0)
        self._steps.clear()
        return {f"time_{k}_s": float(v) for k, v in zip(("generate", "score", "optimise"), means, strict=True)}


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
