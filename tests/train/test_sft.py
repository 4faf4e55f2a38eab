import pyarrow.parquet as pq

from rlrf.models.families import load_trained
from rlrf.models.generate import generate_svgs
from rlrf.models.inputs import render_inputs
from rlrf.models.prompts import Decoding
from rlrf.train.data import sft_dataset
from rlrf.train.sft import train_sft
from tests.models.micro import icon_rows, micro_recipe


def test_sft_dataset_masks_prompt_only(micro_model_cfg):
    ds = sft_dataset(icon_rows(3), micro_model_cfg)
    assert set(ds.column_names) == {"prompt", "completion", "image"}
    assert ds[0]["completion"][0]["content"].startswith("<svg")


def test_sft_few_steps_writes_loadable_model(micro_tokenizer, tmp_path):
    micro_tokenizer.save_pretrained(tmp_path / "tok")
    recipe = micro_recipe(
        sft={
            "max_steps": 3,
            "batch_size": 2,
            "logging_steps": 1,
            "save_steps": 2,
            "learning_rate": 5e-3,
        }
    )
    summary = train_sft(recipe, icon_rows(), tmp_path / "tok", tmp_path / "sft")
    assert summary["steps"] == 3
    assert summary["loss_last"] < summary["loss_first"]
    log = pq.read_table(tmp_path / "sft" / "train_log.parquet").to_pylist()
    assert [r["step"] for r in log] == [1, 2, 3]
    assert all(
        r["stage"] == "sft" and r["loss"] > 0 and r["lr"] > 0 and r["seconds"] >= 0 for r in log
    )
    assert (tmp_path / "sft" / "checkpoints" / "checkpoint-2").is_dir()
    model, proc = load_trained(tmp_path / "sft" / "model")
    (image,) = render_inputs([icon_rows(1).column("svg")[0].as_py()], 56)
    [(text, n, _)] = generate_svgs(model, proc, [image], None, Decoding(max_new_tokens=5))
    assert 1 <= n <= 5


def test_sft_text2svg(micro_tokenizer, tmp_path):
    micro_tokenizer.save_pretrained(tmp_path / "tok")
    recipe = micro_recipe(
        model={"task": "text2svg"}, sft={"max_steps": 2, "batch_size": 2, "logging_steps": 1}
    )
    summary = train_sft(recipe, icon_rows(), tmp_path / "tok", tmp_path / "sft")
    assert summary["steps"] == 2
    model, proc = load_trained(tmp_path / "sft" / "model")
    assert (
        len(generate_svgs(model, proc, None, ["a circle"], Decoding(max_new_tokens=3, task="text2svg"))) == 1
    )
