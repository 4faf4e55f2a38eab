"""`rlrf dry-run` on every recipe: the model builds on the meta device from a committed
config, memory and batch arithmetic come out, and a recipe that cannot run says why."""

import pytest

from rlrf.cli import main
from rlrf.dryrun import all_recipes, dry_run, hardware, state_bytes
from rlrf.recipe import load_recipe

RECIPES = [p.stem for p in all_recipes()]
# every shipped recipe must fit an 80 GiB GPU and divide (a recipe that does not says what
# to change: see test_too_big_for_the_gpu_fails below)
MUST_FIT = set(RECIPES)


@pytest.mark.parametrize("name", RECIPES)
def test_every_recipe_dry_runs(name, capsys):
    recipe = load_recipe(name)
    report = dry_run(recipe)
    assert report.numbers["n_params"] > 0
    assert "sft_per_gpu_bytes" in report.numbers
    for problem in report.problems:
        assert problem.startswith(("sft:", "grpo:")) and "GiB" in problem or "divide" in problem
    if name in MUST_FIT:
        assert report.ok, report.text()
    assert main(["dry-run", "--recipe", name]) == (0 if report.ok else 1)
    assert ("CANNOT RUN" in capsys.readouterr().out) == (not report.ok)


def test_paper_model_sizes():
    """Parameter counts of the committed configs match the published model sizes."""
    sizes = {"qwen2.5-vl-3b": 3.75e9, "qwen2.5-vl-7b": 8.29e9, "qwen3-8b-text2svg": 8.19e9, "starvector-1b": 1.43e9}
    for name, n in sizes.items():
        if name in RECIPES:
            assert dry_run(load_recipe(name)).numbers["n_params"] == pytest.approx(n, rel=0.01)


def test_zero3_shards_weights_zero2_does_not():
    recipe = load_recipe("qwen2.5-vl-7b")
    z3 = hardware(recipe)
    assert (z3.gpus, z3.zero_stage) == (8, 3)
    z2 = type(z3)(gpus=8, machines=1, zero_stage=2)
    n = 8_000_000_000
    assert state_bytes(n, "bfloat16", z3)["weights"] == 2 * n / 8
    assert state_bytes(n, "bfloat16", z2)["weights"] == 2 * n
    assert state_bytes(n, "bfloat16", z2)["optimizer"] == 12 * n / 8


def test_arithmetic_that_does_not_divide_fails():
    recipe = load_recipe("tiny", overrides={"grpo.prompts_per_step": 3, "grpo.num_generations": 3,
                                            "grpo.grad_accum": 2})
    report = dry_run(recipe)
    assert not report.ok and "do not divide" in report.problems[0]


def test_too_big_for_the_gpu_fails():
    report = dry_run(load_recipe("qwen2.5-vl-7b", overrides={"launch.num_processes": 1}), gpu_memory_gib=24)
    assert any(p.startswith("sft: needs") for p in report.problems)
