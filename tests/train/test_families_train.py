"""SFT -> GRPO -> eval on the tiny random-init variant of every model family, on CPU:
TRL's trainers drive each family through the same stage code (the plumbing, not a result)."""

import pyarrow as pa
import pytest

from rlrf.config import EvalConfig, RenderConfig
from rlrf.eval.metrics import MetricModels
from rlrf.eval.run import evaluate_split, model_predictor
from rlrf.models.families import family_of_dir, load_trained
from rlrf.train.grpo import train_grpo
from rlrf.train.sft import train_sft
from tests.models.micro import icon_rows, micro_recipe

pytestmark = pytest.mark.slow

FAMILIES = [("qwen2_5_vl", "img2svg"), ("qwen3", "text2svg"), ("starvector", "img2svg")]


@pytest.mark.parametrize(("family", "task"), FAMILIES)
def test_sft_grpo_eval(family, task, micro_tokenizer, tmp_path):
    micro_tokenizer.save_pretrained(tmp_path / "tok")
    recipe = micro_recipe(
        model={"family": family, "task": task},
        sft={"max_steps": 2, "batch_size": 2, "logging_steps": 1},
        grpo={"max_steps": 1, "prompts_per_step": 2, "num_generations": 2, "max_completion_length": 12},
        rewards=[{"name": "l2", "weight": 1.0}, {"name": "length", "weight": 0.2}],
    )
    assert train_sft(recipe, icon_rows(), tmp_path / "tok", tmp_path / "sft")["steps"] == 2
    summary = train_grpo(recipe, icon_rows(4), tmp_path / "sft" / "model", tmp_path / "grpo")
    assert summary["steps"] == 1 and summary["rollouts"] == 4
    assert family_of_dir(tmp_path / "grpo" / "model").name == family

    model, processor = load_trained(tmp_path / "grpo" / "model")
    cfg, limits = EvalConfig(render_size=32, max_new_tokens=6, batch_size=2), RenderConfig(workers=2)
    rows = icon_rows(2).drop(["split"]).append_column("split", pa.array(["test"] * 2))
    predict = model_predictor(model, processor, cfg, limits, recipe.model.image_size, task=task)
    preds, metrics = evaluate_split("rlrf", rows, predict, cfg, limits, micro_tokenizer, task=task,
                                    metric_models=MetricModels(task=task))
    assert preds.num_rows == metrics.num_rows == 2
    assert all(0 < n <= 6 for n in preds.column("n_tokens").to_pylist())
