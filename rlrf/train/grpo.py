"""RLRF: GRPO on rendering rewards (RLRF §3, Alg. 1), wired to TRL's `GRPOTrainer`.

Reads top to bottom like open-r1's `grpo.py`: recipe → SFT model → prompts with reward
columns → rewards from the registry → trainer → train (resuming) → save → tables.
What TRL does not do out of the box:

- dynamic max length (§3.3, `RLRFTrainer`): each step's generation budget is the longest
  GT SVG in the batch (tokens) + a margin, capped — short targets get short roll-outs;
- the paper's lr schedule (`RLRFTrainer`): lr × `lr_decay_factor` (0.7) every
  `lr_decay_steps`, no KL (β = 0);
- reward warm-up (a term's weight ramps from `start·weight` to `weight`), `rollouts` rows
  and render status through what TRL hands reward functions (`rlrf.train.rollouts.Term`);
- several optimiser updates per roll-out batch (`updates_per_generation`, TRL
  `steps_per_generation`), as EasyR1/verl take mini-batch updates within a batch: with
  one update the policy is still the sampler when the loss is computed, the ratio is 1
  and the clip range ε never acts. Recipe step counts are roll-out batches; TRL's
  `global_step` counts updates, so they are scaled by the updates per batch here
  (`updates_per_generation` × `num_iterations`);
- one `rollouts` row per completion with every reward component, and per-step timings
  (generate / score / optimise, `rlrf.train.callbacks.StepClock`) in `train_log`.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from torch.optim.lr_scheduler import LambdaLR
from transformers import set_seed
from trl import GRPOConfig as TrlGRPOConfig
from trl import GRPOTrainer

from rlrf.config import Recipe
from rlrf.models.families import load_trained, tokenizer_of
from rlrf.train.callbacks import StepClock, TimeBudgetCallback, TrainTables
from rlrf.train.checkpoints import StrictResume, checkpoint_step, last_complete_checkpoint
from rlrf.train.data import grpo_dataset
from rlrf.train.rollouts import RolloutBook, Term
from rlrf.train.sft import trl_config

log = logging.getLogger(__name__)


def dynamic_max_length(gt_n_tokens: list[int], margin: int, cap: int) -> int:
    """Longest GT in the batch + margin, at most `cap` (RLRF §3.3)."""
    return int(min(cap, max(gt_n_tokens) + margin))


def step_decay(factor: float, every: int):
    """lr multiplier: × `factor` every `every` optimiser steps (RLRF: 0.7 every 100 steps)."""
    return lambda step: factor ** (step // every)


class RLRFTrainer(StrictResume, GRPOTrainer):
    """`GRPOTrainer` + the paper's step decay of the lr, dynamic max length, and a resume
    that loads every tensor of the checkpoint. Warm-up, `rollouts` rows and timings use
    what TRL hands reward functions and callbacks (rlrf.train.rollouts)."""

    def __init__(self, *args, length_margin: int, length_cap: int, lr_decay_factor: float,
                 lr_decay_steps: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.length_margin, self.length_cap = length_margin, length_cap
        self.lr_decay_factor, self.lr_decay_steps = lr_decay_factor, lr_decay_steps  # steps in optimiser updates

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        # transformers' `lr_scheduler_type` names no step decay, and `optimizers=(opt, LambdaLR)`
        # needs the optimizer built before the Trainer (its `optim` choice and weight-decay groups
        # copied here; FSDP refuses it): the one override of TRL/transformers' set-up kept
        if self.lr_scheduler is None:
            self.lr_scheduler = LambdaLR(
                optimizer or self.optimizer, step_decay(self.lr_decay_factor, self.lr_decay_steps)
            )
        return self.lr_scheduler

    def set_max_new_tokens(self, n: int) -> None:
        """Point every generation backend at `n` new tokens for this batch."""
        if self.use_vllm:
            self.vllm_generation.max_completion_length = n
        else:
            self.generation_config.max_new_tokens = n
            self.generation_kwargs["max_new_tokens"] = n

    def _generate_and_score_completions(self, inputs):
        # the batch's budget is known only here, from its rows (TRL's max_completion_length is
        # fixed); a caption-only prompt (no GT SVG) may use the whole budget
        local = max(self.length_cap if x.get("gt_n_tokens") is None else int(x["gt_n_tokens"]) for x in inputs)
        # every rank must generate for the same number of steps (ZeRO-3 gathers per forward)
        longest = int(
            self.accelerator.gather(torch.tensor([local], device=self.accelerator.device)).max()
        )
        n = dynamic_max_length([longest], self.length_margin, self.length_cap)
        self.set_max_new_tokens(n)
        self._metrics["train"]["dynamic_max_length"].append(float(n))
        return super()._generate_and_score_completions(inputs)


def updates_per_batch(g) -> int:
    """Optimiser updates TRL takes per roll-out batch: mini-batches × passes over them."""
    return g.updates_per_generation * g.trl_value("num_iterations")


def grpo_args(recipe: Recipe, output_dir: Path, reward_weights: list[float]) -> TrlGRPOConfig:
    """TRL arguments: the recipe's `grpo.trl` values, and the batch shape and step counts
    RLRF derives from its own knobs (roll-out batches -> optimiser updates)."""
    g = recipe.grpo
    world = int(os.environ.get("WORLD_SIZE", "1"))
    completions = g.prompts_per_step * g.trl_value("num_generations")  # one roll-out batch
    k, accum = g.updates_per_generation, g.trl_value("gradient_accumulation_steps")
    per_batch = updates_per_batch(g)
    if completions % (k * accum * world):
        raise ValueError(
            f"grpo: prompts_per_step*num_generations={completions} must divide by "
            f"updates_per_generation*gradient_accumulation_steps*world_size={k * accum * world}"
        )
    fields = dict(
        output_dir=str(output_dir),
        max_steps=g.max_steps * per_batch,  # TRL counts optimiser updates, the recipe roll-out batches
        save_steps=g.save_steps * per_batch,
        per_device_train_batch_size=completions // (k * accum * world),  # completions, not prompts
        # one generation of `completions` feeds k optimiser updates of `accum` micro-batches
        steps_per_generation=k * accum,
        reward_weights=reward_weights,
    )
    return trl_config(TrlGRPOConfig, recipe, "grpo", fields)


def reward_size(recipe: Recipe) -> int:
    """Side of the square that rewards render at (long edge, padded white; RLRF §3.2)."""
    return recipe.grpo.reward_size or recipe.model.image_size


def _build_rewards(recipe: Recipe, tokenizer):
    """(callables, weights, warm-ups, dropped names) from the reward registry."""
    from rlrf.rewards.registry import build_rewards

    built = build_rewards(
        recipe.rewards,
        recipe.render,
        reward_size(recipe),
        tokenizer=tokenizer,
        task=recipe.model.task,
    )
    if not built.funcs:
        raise ValueError(
            f"grpo: no reward left to optimise (recipe rewards {[s.name for s in recipe.rewards]}, "
            f"dropped {built.dropped})"
        )
    return built


def train_grpo(
    recipe: Recipe, rl_rows: pa.Table, init_model_dir: Path | None, out_dir: Path, *, callbacks=None,
    init=None,
) -> dict:
    """RL-fine-tune the SFT model in `init_model_dir` (or an already built `init=(model, processor)`,
    e.g. the base model for `grpo.init: base`) on `rl_rows`; resumes from out_dir/checkpoints."""
    out_dir, g = Path(out_dir), recipe.grpo
    set_seed(recipe.seed)
    model, processor = init if init is not None else load_trained(Path(init_model_dir))
    model.train()
    tokenizer = tokenizer_of(processor)
    dataset = grpo_dataset(rl_rows, recipe.model, tokenizer, g.max_train_rows)
    funcs, weights, warmups, dropped = _build_rewards(recipe, tokenizer)
    per_batch = updates_per_batch(g)
    book, clock = RolloutBook([f.__name__ for f in funcs], g.trl_value("num_generations")), StepClock()
    terms = [Term(f, w, wu, per_batch, book, clock) for f, w, wu in zip(funcs, weights, warmups, strict=True)]
    if dropped:
        log.warning("GRPO runs without reward terms %s (weights unavailable)", dropped)
    log.info("GRPO on %d prompts, rewards %s", len(dataset), [f.__name__ for f in funcs])

    ckpt_dir = out_dir / "checkpoints"
    resume = last_complete_checkpoint(ckpt_dir)
    resumed_step = checkpoint_step(resume)
    budget = TimeBudgetCallback(g.time_budget_s)
    tables = TrainTables("grpo", out_dir, resumed_step, {"rollouts": lambda: book.rows}, columns=clock.take)
    trainer = RLRFTrainer(
        model=model,
        reward_funcs=terms,
        args=grpo_args(recipe, ckpt_dir, list(weights)),
        train_dataset=dataset,
        processing_class=processor if recipe.model.task == "img2svg" else tokenizer,
        # tables are flushed before any caller's on_save sees the checkpoint
        callbacks=[clock, tables, budget, *(callbacks or [])],
        length_margin=g.max_length_margin,
        length_cap=g.trl_value("max_completion_length"),
        lr_decay_factor=g.lr_decay_factor,
        lr_decay_steps=g.lr_decay_steps * per_batch,
    )

    if resume:
        log.info("resuming GRPO from %s", resume)
    t0 = time.perf_counter()
    trainer.train(resume_from_checkpoint=resume)
    seconds = time.perf_counter() - t0
    tables.flush()
    model_dir = out_dir / "model"
    trainer.save_model(str(model_dir))
    processor.save_pretrained(str(model_dir))
    return _summary(
        pq.read_table(out_dir / "train_log.parquet"), trainer, per_batch, len(book.rows), seconds, dropped,
        resume, budget,
    )


def _summary(train_log: pa.Table, trainer, per_batch, rollouts, seconds, dropped, resume,
             budget: TimeBudgetCallback) -> dict:
    rows = [r for r in train_log.to_pylist() if r.get("reward") is not None]
    rewards = [r["reward"] for r in rows]
    tenth = max(1, len(rewards) // 10)
    mean = lambda xs: float(np.mean(xs)) if xs else None  # noqa: E731
    return {
        "steps": int(trainer.state.global_step),  # optimiser updates
        "rollout_batches": int(trainer.state.global_step) // per_batch,
        "seconds": seconds,
        "reward_first_10pct": mean(rewards[:tenth]),
        "reward_last_10pct": mean(rewards[-tenth:]),
        "frac_reward_zero_std_mean": mean(
            [
                r.get("frac_reward_zero_std")
                for r in rows
                if r.get("frac_reward_zero_std") is not None
            ]
        ),
        "dropped_rewards": list(dropped),
        "resumed_from": resume,
        "stopped_by_time_budget": budget.hit,
        "notes": budget.note("grpo"),
        "rollouts": rollouts,
    }
