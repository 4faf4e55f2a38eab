"""Body of the subprocesses the reliability tests kill: one training stage on the micro
recipe, optionally SIGKILLing itself right after checkpoint N is on disk.

    python -m tests.reliability.worker sft|grpo <out_dir> <tokenizer_dir|sft_model_dir> [kill_after_step]
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from transformers import TrainerCallback

from tests.models.micro import icon_rows, micro_recipe

SFT = {"max_steps": 4, "batch_size": 2, "logging_steps": 1, "save_steps": 2, "learning_rate": 5e-3}
GRPO = {"max_steps": 4, "prompts_per_step": 2, "num_generations": 2, "save_steps": 2, "logging_steps": 1,
        "learning_rate": 1e-3, "max_length_margin": 2, "max_completion_length": 40}
REWARDS = [{"name": "l2", "weight": 1.0}, {"name": "length", "weight": 0.2}]


def sft_recipe():
    return micro_recipe(sft=SFT)


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


def run(stage: str, out: Path, src: Path, callbacks=()) -> dict:
    if stage == "sft":
        from rlrf.train.sft import run_sft

        return run_sft(sft_recipe(), icon_rows(), src, out, callbacks=list(callbacks))
    from rlrf.train.grpo import run_grpo

    return run_grpo(grpo_recipe(), icon_rows(), src, out, callbacks=list(callbacks))


def main(argv: list[str]) -> int:
    stage, out, src = argv[0], Path(argv[1]), Path(argv[2])
    callbacks = [KillAfterSave(int(argv[3]))] if len(argv) > 3 else []
    run(stage, out, src, callbacks)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
