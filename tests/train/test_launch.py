from pathlib import Path

from rlrf.recipe import load_recipe
from rlrf.train.stage import launch_command


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
