from pathlib import Path

import pytest

from rlrf.recipe import load_recipe
from rlrf.train.stage import launch_command
from tests.models.micro import micro_recipe


def test_accelerate_command_runs_the_same_stage_code(tmp_path):
    recipe = load_recipe("qwen2.5-vl-7b", overrides={"launch.accelerate_config": "recipes/accelerate/zero3.yaml",
                                                     "launch.num_processes": 4})
    up = {"curate": Path("/a/curate"), "sft": Path("/a/sft")}
    cmd = launch_command(recipe, "grpo", tmp_path, up, python="python")
    assert cmd[:3] == ["python", "-m", "accelerate.commands.launch"]
    assert cmd[cmd.index("--config_file") + 1].endswith("recipes/accelerate/zero3.yaml")
    assert cmd[cmd.index("--num_processes") + 1] == "4"
    tail = cmd[cmd.index("-m", 3):]
    assert tail[:2] == ["-m", "rlrf.train.stage"]
    assert tail[tail.index("--recipe") + 1] == str(tmp_path / "recipe.yaml")
    assert tail[tail.index("--sft") + 1] == "/a/sft"


def test_sft_runs_under_its_own_multi_node_config(tmp_path):
    recipe = load_recipe("qwen2.5-vl-3b")
    up = {"curate": Path("/a/curate")}
    sft = launch_command(recipe, "sft", tmp_path, up, python="python")
    grpo = launch_command(recipe, "grpo", tmp_path, {**up, "sft": Path("/a/sft")}, python="python")
    assert sft[sft.index("--config_file") + 1].endswith("recipes/accelerate/zero2-4x8.yaml")
    assert grpo[grpo.index("--config_file") + 1].endswith("recipes/accelerate/zero2.yaml")


def test_base_init_is_the_model_sft_starts_from(micro_tokenizer, tmp_path):
    """grpo.init: base: the seeded random init (or pretrained weights) SFT would start from,
    with the curation's tokenizer; the same weights every time."""
    import torch
    from transformers import set_seed

    from rlrf.models.families import get_family

    build_model = get_family("qwen2_5_vl").build_model
    from rlrf.train.stage import base_model
    from tests.models.micro import micro_recipe

    micro_tokenizer.save_pretrained(tmp_path / "tok")
    recipe = micro_recipe(grpo={"init": "base"})
    model, processor = base_model(recipe, tmp_path / "tok")
    set_seed(recipe.seed)
    expected = build_model(recipe.model, micro_tokenizer).state_dict()
    assert processor.tokenizer.get_vocab() == micro_tokenizer.get_vocab()
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, expected[name]), name


def test_trl_mapping_passes_through_trl_config_classes(tmp_path):
    from rlrf.dryrun import trl_problems
    from rlrf.train.grpo import grpo_args
    from rlrf.train.sft import sft_args

    recipe = micro_recipe(sft={"trl": {"optim": "adafactor"}}, grpo={"trl": {"mask_truncated_completions": True}})
    assert sft_args(recipe, tmp_path).optim == "adafactor"
    assert grpo_args(recipe, tmp_path, [1.0]).mask_truncated_completions is True
    assert trl_problems(recipe) == []
    typo = micro_recipe(sft={"trl": {"optimm": "adafactor"}})
    with pytest.raises(ValueError, match=r"sft\.trl: .*optimm"):
        sft_args(typo, tmp_path)
    assert trl_problems(typo) == ["sft.trl: ['optimm'] are not fields of TRL's SFTConfig"]
    assert grpo_args(micro_recipe(grpo={"trl": {"temperature": 0.5}}), tmp_path, [1.0]).temperature == 0.5
    with pytest.raises(ValueError, match=r"grpo\.trl sets \['max_steps'\], which RLRF sets"):
        grpo_args(micro_recipe(grpo={"trl": {"max_steps": 5}}), tmp_path, [1.0])
