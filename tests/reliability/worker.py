"""Body of the subprocesses the reliability tests kill: one training stage on the micro
recipe, optionally SIGKILLing itself right after checkpoint N is on disk.

    python -m tests.reliability.worker sft|grpo <out_dir> <tokenizer_dir|sft_model_dir> [kill_after_step]
    python -m tests.reliability.worker pipeline <artifacts_dir> <run_id> [--force] [--kill-after N] [--hold]

`pipeline` runs the SFT stage the way the flow does (`plan_stage`, then `running`: stage
lock, manifest, train, complete) without Prefect, whose server start-up would dominate the
test's time.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from transformers import TrainerCallback

from tests.models.micro import icon_rows, micro_recipe

SFT = {"max_steps": 4, "batch_size": 2, "logging_steps": 1, "save_steps": 2, "learning_rate": 5e-3}
GRPO = {"max_steps": 4, "prompts_per_step": 2, "num_generations": 2, "save_steps": 2, "logging_steps": 1,
        "learning_rate": 1e-3, "max_length_margin": 2, "max_completion_length": 40}
REWARDS = [{"name": "l2", "weight": 1.0}, {"name": "length", "weight": 0.2}]


def sft_recipe(**extra):
    return micro_recipe(sft=SFT, **extra)


def grpo_recipe():
    return micro_recipe(grpo=GRPO, rewards=REWARDS)


class KillAfterSave(TrainerCallback):
    """kill -9 of our own process once checkpoint `step` is written: nothing after it runs."""

    def __init__(self, step: int):
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


class StopAfterSave(TrainerCallback):
    """The in-process stand-in for a kill: raise once checkpoint `step` is written."""

    def __init__(self, step: int):
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt(f"interrupted after checkpoint {self.step}")


class Hold(TrainerCallback):
    """Keep the stage (and its lock) busy from the start of training, for the two-writer test."""

    def on_train_begin(self, args, state, control, **kwargs):
        time.sleep(120)


def same_arithmetic() -> None:
    """One intra-op thread in every process, so runs compare bit for bit (float sums in
    another order differ in the last bits; another test module also sets this)."""
    import torch

    torch.set_num_threads(1)


def run_pipeline(artifacts: Path, run_id: str, force: bool, callbacks=()) -> dict:
    from rlrf.artifacts import Store
    from rlrf.pipeline import plan_stage, running

    cfg = sft_recipe(artifacts_dir=str(artifacts))
    store = Store(cfg.artifacts_dir, cfg.name)
    plan = plan_stage(store, cfg, "sft", run_id, force)
    with running(plan, cfg, store) as run:
        same_arithmetic()
        from rlrf.train.sft import train_sft
        from rlrf.train.stage import split_rows

        curate = run.upstream["curate"]
        run.summary = train_sft(cfg, split_rows(curate, "train"), curate / "tokenizer", run.stage_dir,
                                callbacks=list(callbacks))
    return {"stage_dir": str(plan.stage_dir), "summary": run.summary}


def run(stage: str, out: Path, src: Path, callbacks=()) -> dict:
    same_arithmetic()
    if stage == "sft":
        from rlrf.train.sft import train_sft

        return train_sft(sft_recipe(), icon_rows(), src, out, callbacks=list(callbacks))
    from rlrf.train.grpo import train_grpo

    return train_grpo(grpo_recipe(), icon_rows(), src, out, callbacks=list(callbacks))


def main(argv: list[str]) -> int:
    if argv[0] == "pipeline":
        from rlrf.artifacts import StageBusy

        callbacks = []
        if "--kill-after" in argv:
            callbacks.append(KillAfterSave(int(argv[argv.index("--kill-after") + 1])))
        if "--hold" in argv:
            callbacks.append(Hold())
        try:
            out = run_pipeline(Path(argv[1]), argv[2], "--force" in argv, callbacks)
        except StageBusy as exc:
            print(f"rlrf: {exc}", file=sys.stderr)
            return 2
        print(json.dumps(out, default=str))
        return 0
    stage, out, src = argv[0], Path(argv[1]), Path(argv[2])
    callbacks = [KillAfterSave(int(argv[3]))] if len(argv) > 3 else []
    run(stage, out, src, callbacks)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
