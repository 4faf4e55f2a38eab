"""GRPO's reward terms as TRL calls them: warm-up, `rollouts` rows and scoring time.

TRL hands every reward function the trainer's state (`trainer_state`), a scalar logger
(`log_metric`) and a per-completion column logger (`log_extra`) besides the dataset
columns. `Term` wraps one reward of the recipe and uses exactly these, so the trainer
needs no override of TRL's scoring:

- warm-up (RLRF §3.2): the term's value is scaled by its warm-up factor at the current
  roll-out batch (`trainer_state.global_step` // updates per batch); TRL then applies the
  recipe weight, so the optimised total is Σ weight·factor·score as in the paper, and the
  factor is logged as `warmup/<name>`;
- `rollouts` rows: each term's raw score goes to a `RolloutBook`, which writes one row per
  completion once every term of the batch has scored; render status comes from the reward
  layer's own gate, reported through `log_extra` (`rlrf.rewards.rendering.report_renders`);
- scoring time: each call's seconds go to the `StepClock` (rlrf.train.callbacks).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from rlrf.rewards.base import completion_text
from rlrf.rewards.composite import warmup_weight
from rlrf.svg.extract import extract_svg
from rlrf.train.callbacks import StepClock


class RolloutBook:
    """One `rollouts` row per completion: every term's raw score, the weighted total (after
    warm-up), render status as the reward layer reported it (None when no term renders)."""

    def __init__(self, names: list[str], num_generations: int):
        self.names, self.num_generations = list(names), num_generations
        self.rows: list[dict] = []
        self._scores: dict[str, tuple[list[float], float]] = {}
        self._extra: dict[str, list] = {}

    def log_extra(self, forward: Callable | None) -> Callable[[str, list], None]:
        """A `log_extra` for one term: keeps the batch's first report of each column and
        forwards only that one to TRL (several terms report the same render gate)."""

        def log(column: str, values: list) -> None:
            if column in self._extra:
                return
            self._extra[column] = list(values)
            if callable(forward):
                forward(column, values)

        return log

    def record(self, name: str, raw: list, weighted: float, step: int, completions, columns: dict) -> None:
        """Keep `name`'s raw scores and its weight at this step; the last term writes the rows."""
        self._scores[name] = ([math.nan if v is None else float(v) for v in raw], weighted)
        if len(self._scores) < len(self.names):
            return
        scores = np.array([self._scores[n][0] for n in self.names]).T  # (completions, terms)
        weights = np.array([self._scores[n][1] for n in self.names])
        totals = np.nansum(scores * weights[None, :], axis=1)
        ok, error = self._extra.get("render_ok"), self._extra.get("render_error")
        ids, gt = columns.get("completion_ids"), columns.get("gt_n_tokens")
        for i, completion in enumerate(completions):
            text = completion_text(completion)
            row = {
                "step": step,
                "sample_id": columns["sample_id"][i],
                "k": i % self.num_generations,
                "completion": text,
                "svg": extract_svg(text),
                "n_tokens": None if ids is None else len(ids[i]),
                "gt_n_tokens": None if gt is None or gt[i] is None else int(gt[i]),
                "render_ok": None if ok is None else bool(ok[i]),
                "error": None if error is None else error[i],
            }
            row.update({n: float(scores[i, j]) for j, n in enumerate(self.names)})
            row["total"] = float(totals[i])
            self.rows.append(row)
        self._scores.clear()
        self._extra.clear()


class Term:
    """One recipe reward as TRL calls it (see the module docstring); keeps the reward's
    `__name__`, under which TRL logs it. `updates_per_batch` turns TRL's optimiser steps into
    the recipe's roll-out batches, the unit of the warm-up's `steps`."""

    def __init__(self, fn: Callable, weight: float, warmup: dict | None, updates_per_batch: int,
                 book: RolloutBook, clock: StepClock):
        self.fn, self.weight, self.warmup = fn, float(weight), warmup
        self.updates_per_batch, self.book, self.clock = updates_per_batch, book, clock
        self.__name__ = fn.__name__

    def factor(self, trainer_state) -> float:
        step = int(getattr(trainer_state, "global_step", 0) or 0)
        return warmup_weight(1.0, self.warmup, step // self.updates_per_batch)

    def __call__(self, completions, trainer_state=None, log_metric=None, log_extra=None, **columns):
        t0 = time.perf_counter()
        raw = self.fn(completions, trainer_state=trainer_state, log_metric=log_metric,
                      log_extra=self.book.log_extra(log_extra), **columns)
        factor = self.factor(trainer_state)
        if self.warmup and callable(log_metric):
            log_metric(f"warmup/{self.__name__}", factor)
        step = int(getattr(trainer_state, "global_step", 0) or 0) + 1  # the step this batch trains
        self.book.record(self.__name__, raw, self.weight * factor, step, completions, columns)
        self.clock.scored(t0)
        return [None if v is None else factor * float(v) for v in raw]
