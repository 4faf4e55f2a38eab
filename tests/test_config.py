from pathlib import Path

import pytest

from rlrf.config import RecipeError, repo_root
from rlrf.recipe import load_recipe, parse_recipe


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "r.yaml"
    p.write_text(text)
    return p


def test_every_recipe_parses():
    recipes = sorted((repo_root() / "recipes").glob("*.yaml"))
    assert recipes, "no recipes found"
    for p in recipes:
        r = load_recipe(p)
        assert r.name


def test_misspelled_key_names_file_and_key(tmp_path):
    p = write(tmp_path, "name: x\ngrpo:\n  num_generatons: 8\n")
    with pytest.raises(RecipeError) as e:
        load_recipe(p)
    msg = str(e.value)
    assert str(p) in msg and "grpo.num_generatons" in msg and "unknown key" in msg


def test_bad_value_says_what_was_expected(tmp_path):
    p = write(tmp_path, "name: x\ngrpo:\n  prompts_per_step: -1\n")
    with pytest.raises(RecipeError) as e:
        load_recipe(p)
    assert "grpo.prompts_per_step" in str(e.value) and "greater than 0" in str(e.value)


def test_wrong_type_and_missing_name(tmp_path):
    with pytest.raises(RecipeError, match="name: required key is missing"):
        parse_recipe({"seed": 1}, origin="x.yaml")
    with pytest.raises(RecipeError, match="sft.max_train_rows"):
        parse_recipe({"name": "x", "sft": {"max_train_rows": "many"}}, origin="x.yaml")


def test_unknown_recipe_lists_available():
    with pytest.raises(RecipeError, match="tiny"):
        load_recipe("does-not-exist")


def test_section_hash_is_stable_and_local(tmp_path):
    a = parse_recipe({"name": "x"})
    b = parse_recipe({"name": "x", "grpo": {"max_steps": 7}})
    assert a.section_hash("curate") == b.section_hash("curate")
    assert a.section_hash("grpo") != b.section_hash("grpo")
    assert a.section_hash("grpo") == parse_recipe({"name": "x"}).section_hash("grpo")


def test_overrides(tmp_path):
    r = load_recipe("tiny", overrides={"grpo.max_steps": 3})
    assert r.grpo.max_steps == 3


def test_saved_recipe_round_trips(tmp_path):
    from rlrf.config import save_recipe

    r = load_recipe("tiny", overrides={"grpo.max_steps": 5})
    save_recipe(r, tmp_path / "recipe.yaml")
    again = load_recipe(tmp_path / "recipe.yaml")
    assert again == r and again.section_hash("grpo") == r.section_hash("grpo")


def test_paper_scale_grpo_follows_the_paper_and_easyr1():
    """lr × 0.7 every 100 steps (a multiplier, not a share cut) and several updates per
    roll-out batch, so the clip range acts (EasyR1: rollout 512 / global batch 128)."""
    for name in ("qwen2.5-vl-3b", "qwen2.5-vl-7b"):
        g = load_recipe(name).grpo
        assert (g.lr_decay_factor, g.lr_decay_steps, g.trl_value("learning_rate")) == (0.7, 100, 1e-5)
        assert g.updates_per_generation > 1


def test_old_lr_decay_key_is_refused_with_its_meaning():
    with pytest.raises(RecipeError, match="lr_decay_factor"):
        parse_recipe({"name": "x", "grpo": {"lr_decay": 0.7}}, origin="x.yaml")


@pytest.mark.parametrize("name, nodes", [("qwen2.5-vl-3b", 4), ("qwen2.5-vl-7b", 8)])
def test_paper_scale_sft_is_the_papers(name, nodes):
    """3 epochs, lr 1e-5, 32K tokens, effective batch 1024 on nodes x 8 H100."""
    import yaml

    r = load_recipe(name)
    s = r.sft.trl_value
    assert (s("num_train_epochs"), s("learning_rate"), s("max_length")) == (3, 1e-5, 32768)
    accel = yaml.safe_load((repo_root() / r.launch.config_for("sft")).read_text())
    assert accel["num_machines"] == nodes and accel["num_processes"] == nodes * 8
    assert s("per_device_train_batch_size") * s("gradient_accumulation_steps") * accel["num_processes"] == 1024
    assert r.launch.config_for("grpo") == r.launch.accelerate_config
    # no silent truncation: every SFT row fits the context with room for the prompt
    assert r.curate.train_max_tokens < s("max_length")
    assert r.curate.rl_max_tokens + r.grpo.max_length_margin <= r.grpo.trl_value("max_completion_length")


def test_sft_rows_longer_than_the_context_are_refused():
    with pytest.raises(RecipeError, match="truncate long SVGs silently"):
        parse_recipe({"name": "x", "curate": {"train_max_tokens": 8192}, "sft": {"max_length": 8192}})


def test_extends_merges_a_base_recipe(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("name: base\nseed: 3\nsft: {epochs: 2, learning_rate: 0.5}\nrewards: [{name: l2}]\n")
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nname: child\nsft: {epochs: 5}\n")
    r = load_recipe(child)
    assert (r.name, r.seed, r.sft.trl_value("num_train_epochs"), r.sft.trl_value("learning_rate")) == ("child", 3, 5, 0.5)
    assert [s.name for s in r.rewards] == ["l2"]
    base.write_text("extends: child.yaml\nname: base\n")
    with pytest.raises(RecipeError, match="loops back"):
        load_recipe(child)


def test_the_7b_recipe_states_only_what_differs_from_the_3b():
    a, b = load_recipe("qwen2.5-vl-3b"), load_recipe("qwen2.5-vl-7b")
    assert b.model.name_or_path.endswith("7B-Instruct") and b.sft.trl_value("gradient_accumulation_steps") == 16
    assert (a.grpo, a.rewards, a.eval, a.curate) == (b.grpo, b.rewards, b.eval, b.curate)


def test_text_rewards_default_to_the_metric_weights():
    r = parse_recipe({"name": "t", "eval": {"clip_model": "/w/clip"},
                      "rewards": [{"name": "clip"}, {"name": "vlm_judge", "model": "/w/judge"}, {"name": "l2"}]})
    assert [s.model for s in r.rewards] == ["/w/clip", "/w/judge", None]


def test_tiny_starts_sft_from_the_committed_pretrained_base():
    """`make run` fine-tunes models/tiny-base (scripts/pretrain_base.py): a committed folder
    with weights, the tokenizer they were trained with, the data manifest and loss curve."""
    import json

    r = load_recipe("tiny")
    base = repo_root() / r.model.name_or_path
    assert r.tokenizer.name_or_path == r.model.name_or_path
    for name in ("config.json", "model.safetensors", "tokenizer.json", "MANIFEST.json", "loss_curve.csv"):
        assert (base / name).is_file(), name
    assert sum(f.stat().st_size for f in base.iterdir()) < 50 * 2**20
    manifest = json.loads((base / "MANIFEST.json").read_text())
    assert manifest["corpus"]["rows"] > 5000
    assert all(p["in_bundled_corpus"] == 0 or p["rows"] > 0 for p in manifest["corpus"]["packages"])
    config = json.loads((base / "config.json").read_text())
    assert config["text_config"]["hidden_size"] == r.model.hidden_size
    assert config["vision_config"]["hidden_size"] == r.model.vision_hidden_size


def test_trl_fields_have_one_source_the_trl_mapping():
    """The paper's names fold into `trl` under TRL's; the effective value is the recipe's,
    else RLRF's default, else TRL's own; writing a field both ways fails."""
    r = parse_recipe({"name": "x", "sft": {"epochs": 3, "batch_size": 2}, "grpo": {"trl": {"top_p": 0.9}}})
    assert r.sft.trl == {"num_train_epochs": 3, "per_device_train_batch_size": 2}
    assert r.sft.trl_value("lr_scheduler_type") == "cosine"  # RLRF's default
    assert r.grpo.trl_value("temperature") == 1.1 and r.grpo.trl_value("top_p") == 0.9
    assert r.grpo.trl_value("num_iterations") == 1  # TRL's own default, from its GRPOConfig
    with pytest.raises(RecipeError, match="epochs is TRL's num_train_epochs, which `trl` sets too"):
        parse_recipe({"name": "x", "sft": {"epochs": 3, "trl": {"num_train_epochs": 2}}})


def test_dino_weights_are_one_knob():
    r = parse_recipe({"name": "x", "eval": {"dino_model": "/w/dino"}, "curate": {"cluster": {"features": "dino"}}})
    assert r.curate.cluster.dino_model == "/w/dino"  # curate's clusters use eval's DINOv2
    plain = parse_recipe({"name": "x", "eval": {"dino_model": "/w/other"}})  # the default cluster section too
    assert plain.curate.cluster.dino_model == "/w/other" and r.curate.cluster.dino_model == "/w/dino"
    assert r.section_hash("curate") != parse_recipe({"name": "x"}).section_hash("curate")
    with pytest.raises(RecipeError, match="set once, as eval.dino_model"):
        parse_recipe({"name": "x", "curate": {"cluster": {"dino_model": "/other"}}})


def test_starvector_states_only_what_differs_from_the_3b():
    """starvector-1b extends the 3B recipe: same data, curation rules, paper GRPO step and rewards."""
    a, s = load_recipe("qwen2.5-vl-3b"), load_recipe("starvector-1b")
    assert (a.data, a.render) == (s.data, s.render)
    assert [(r.name, r.weight, r.warmup) for r in a.rewards] == [(r.name, r.weight, r.warmup) for r in s.rewards]
    assert a.curate.model_copy(update={"train_max_tokens": 7800, "rl_max_tokens": None}) == s.curate
    for key in ("learning_rate", "temperature", "num_generations", "epsilon", "beta"):
        assert a.grpo.trl_value(key) == s.grpo.trl_value(key), key
    assert (s.grpo.updates_per_generation, s.grpo.trl_value("use_vllm"), s.model.family) == (1, False, "starvector")
    assert s.launch.config_for("sft") == s.launch.config_for("grpo") == "recipes/accelerate/zero2.yaml"
