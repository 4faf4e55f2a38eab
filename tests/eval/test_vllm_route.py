"""Eval decodes with vLLM when asked (the Qwen families) and with HF generate on the
recipe's device otherwise; vLLM itself is replaced by a fake here (GPU test: tests/train/test_gpu.py)."""

import copy

import pyarrow as pa
import pytest

from rlrf.eval import stage
from rlrf.models import vllm_generate
from rlrf.models.families import get_family
from tests.models.micro import ICONS, MICRO_MODEL, icon_rows, micro_recipe


@pytest.fixture(scope="module")
def tok():
    from rlrf.config import TokenizerConfig
    from rlrf.models.tokenizer import train_tokenizer

    return train_tokenizer(ICONS * 4, TokenizerConfig(vocab_size=300))


def _saved(family, task, tok, path):
    from rlrf.config import ModelConfig

    tok = copy.deepcopy(tok)
    cfg = ModelConfig(**MICRO_MODEL, family=family, task=task)
    fam = get_family(family)
    proc = fam.build_processor(tok, cfg)
    fam.build_model(cfg, tok).save_pretrained(path / "model")
    proc.save_pretrained(path / "model")
    return path


def test_vllm_for_qwen_hf_for_starvector(tok, tmp_path, monkeypatch):
    calls = []

    def fake_generate(llm, processor, images, captions, decoding, **kw):
        calls.append((llm, decoding.task, kw["input_side"]))
        return [("<svg/>", 1, 0.0)] * len(captions)

    monkeypatch.setattr(vllm_generate, "load_vllm", lambda path, util, seed, task: f"llm:{path.name}")
    monkeypatch.setattr(vllm_generate, "generate_svgs_vllm", fake_generate)
    rows = icon_rows(2).drop(["split"]).append_column("split", pa.array(["test"] * 2))

    recipe = micro_recipe(model={"family": "qwen3", "task": "text2svg"}, eval={"use_vllm": True})
    predict = stage._predictor("sft", recipe, {"sft": _saved("qwen3", "text2svg", tok, tmp_path / "q")})
    assert [t for t, _, _ in predict(rows)] == ["<svg/>"] * 2
    assert calls == [("llm:model", "text2svg", None)]

    recipe = micro_recipe(model={"family": "starvector"}, grpo={"use_vllm": True}, eval={"max_new_tokens": 4})
    predict = stage._predictor("sft", recipe, {"sft": _saved("starvector", "img2svg", tok, tmp_path / "s")})
    assert len(predict(rows)) == 2 and len(calls) == 1  # HF generate, not the fake
