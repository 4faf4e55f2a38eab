"""The eval stage's model labels, in one place: the trained stages' models, their greedy
twins, the classical baselines and the blank canvas. Light (no transformers, no torch), so
recipe validation, the stage planner and the ablation table read it without importing the
eval stage."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rlrf.eval.baselines import BASELINES

if TYPE_CHECKING:
    from rlrf.config import Recipe

# model label -> the upstream stage whose `model/` folder holds it
MODEL_STAGES = {"sft": "sft", "rlrf": "grpo"}
# `<model>_greedy`: the same model decoded greedily, whatever eval.do_sample says, so one run
# reports both seeded sampling and greedy decoding
GREEDY = "_greedy"
# `blank`: a white canvas for every sample. A reference row, not a system: on mostly-white
# targets MSE/SSIM reward drawing nothing, so a model is only useful where it beats this.
BLANK = "blank"
BLANK_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>'


def valid_labels() -> tuple[str, ...]:
    """Every label `eval.models` may list, in the order error messages show them."""
    return (*MODEL_STAGES, *(m + GREEDY for m in MODEL_STAGES), *BASELINES, BLANK)


def model_label(label: str, recipe: Recipe) -> str:
    """The label rows are stored under: `rlrf` trained from the base model (`grpo.init: base`,
    no SVG-SFT first) is `rlrf_no_sft`, so it is never read as RLRF after SFT."""
    if label == "rlrf" and recipe.grpo.init == "base":
        return "rlrf_no_sft"
    return label
