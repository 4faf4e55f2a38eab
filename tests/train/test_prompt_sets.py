"""Caption-only RL prompts (`grpo.prompt_sets`, the paper's Flickr30k captions for Text2SVG):
added to the curated rl split, scored by caption-only rewards, given the whole length budget."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rlrf.config import RecipeError
from rlrf.recipe import parse_recipe
from rlrf.scores import learned
from rlrf.train.grpo import train_grpo
from rlrf.train.sft import train_sft
from rlrf.train.stage import rl_rows
from tests.models.micro import icon_rows, micro_recipe
from tests.tiny_models import tiny_clip

FLICKR = {"name": "flickr30k", "path": "flickr.parquet"}


@pytest.mark.parametrize(("change", "message"), [
    ({"model": {"task": "img2svg"}}, "need model.task text2svg"),
    ({"rewards": [{"name": "clip"}, {"name": "length"}]}, r"rewards \['length'\] need a target SVG"),
    ({"grpo": {"prompt_sets": [{"name": "mm_icons"}]}}, "'mm_icons' is not a caption-only set"),
])
def test_prompt_sets_are_refused_where_they_cannot_be_scored(change, message):
    data = {"name": "t", "model": {"task": "text2svg"}, "rewards": [{"name": "clip"}],
            "grpo": {"prompt_sets": [FLICKR]}, **change}
    with pytest.raises(RecipeError, match=message):
        parse_recipe(data)


def test_caption_only_prompts_train_with_clip(micro_tokenizer, tmp_path, monkeypatch):
    monkeypatch.setattr(learned, "load_clip", lambda *a, **k: tiny_clip(micro_tokenizer))
    pq.write_table(pa.table({"img_id": [7, 8], "caption": [["a red dog", "a dog"], ["a blue cat"]]}),
                   tmp_path / "flickr.parquet")
    curated = icon_rows(2).set_column(2, "split", pa.array(["rl", "rl"]))
    (tmp_path / "curate").mkdir()
    pq.write_table(curated, tmp_path / "curate" / "samples.parquet")
    recipe = micro_recipe(
        model={"family": "qwen3", "task": "text2svg"},
        sft={"max_steps": 1, "batch_size": 2},
        grpo={"max_steps": 1, "prompts_per_step": 5, "num_generations": 2, "max_completion_length": 10,
              "prompt_sets": [{"name": "flickr30k", "path": str(tmp_path / "flickr.parquet")}]},
        rewards=[{"name": "clip", "weight": 1.0, "model": "/tiny"}],
    )
    rows = rl_rows(recipe, tmp_path / "curate")
    assert rows["sample_id"].to_pylist() == ["icon0", "icon1", "7_0", "7_1", "8"]
    assert rows["svg"].null_count == 3

    micro_tokenizer.save_pretrained(tmp_path / "tok")
    train_sft(recipe, icon_rows(), tmp_path / "tok", tmp_path / "sft")
    summary = train_grpo(recipe, rows, tmp_path / "sft" / "model", tmp_path / "grpo")
    assert summary["rollouts"] == 10
    out = pq.read_table(tmp_path / "grpo" / "rollouts.parquet").to_pylist()
    by_id = {r["sample_id"]: r for r in out}
    assert by_id["8"]["gt_n_tokens"] is None and by_id["icon0"]["gt_n_tokens"] > 0
    log = pq.read_table(tmp_path / "grpo" / "train_log.parquet").to_pylist()
    assert any(r.get("dynamic_max_length") == 10 for r in log)  # a caption-only prompt: the whole budget
