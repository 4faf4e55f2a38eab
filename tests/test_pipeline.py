"""Which upstream stages a stage reads: eval reads a training stage only for the models it
scores, so an SFT-only evaluation needs no GRPO run."""

from __future__ import annotations

import pyarrow as pa
import pytest

from rlrf.artifacts import Store, begin_stage, finish_stage, write_table
from rlrf.pipeline import plan_stage, upstream_of
from rlrf.recipe import parse_recipe


def recipe(tmp_path, models):
    return parse_recipe({"name": "r", "artifacts_dir": str(tmp_path / "art"),
                         "data": {"source": "local", "path": str(tmp_path / "data.parquet")},
                         "eval": {"models": models}})


@pytest.mark.parametrize("models, expected", [
    (["sft", "rlrf", "potrace"], ("curate", "sft", "grpo")),
    (["sft", "sft_greedy", "blank"], ("curate", "sft")),
    (["rlrf_greedy"], ("curate", "grpo")),
    (["blank", "potrace"], ("curate",)),
])
def test_eval_reads_the_training_stages_of_the_models_it_scores(tmp_path, models, expected):
    assert upstream_of("eval", recipe(tmp_path, models)) == expected
    assert upstream_of("grpo", recipe(tmp_path, models)) == ("curate", "sft")


def test_an_sft_only_eval_plans_without_a_grpo_run(tmp_path):
    """Before: `--stages curate,sft,eval` with `models: [sft, blank]` failed with "no
    finished 'grpo' stage"."""
    cfg = recipe(tmp_path, ["sft", "blank"])
    store = Store(cfg.artifacts_dir, cfg.name)
    for stage in ("curate", "sft"):
        plan = plan_stage(store, cfg, stage, "run1", False)
        m = begin_stage(plan.stage_dir, stage, "r", plan.recipe_hash, plan.upstream)
        write_table(pa.table({"x": [1]}), plan.stage_dir / "t.parquet")
        finish_stage(plan.stage_dir, m)
    plan = plan_stage(store, cfg, "eval", "run1", False)
    assert set(plan.upstream) == {"curate", "sft"}
    with pytest.raises(FileNotFoundError, match="grpo"):
        plan_stage(store, recipe(tmp_path, ["sft", "rlrf"]), "eval", "run1", False)
