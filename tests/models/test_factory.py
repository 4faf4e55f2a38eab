import pytest
from PIL import Image

from rlrf.config import ModelConfig
from rlrf.models.factory import build_processor, image_tokens, tiny_config
from rlrf.models.families import get_family, load_trained
from rlrf.models.generate import generate_svgs
from rlrf.models.prompts import Decoding
from rlrf.weights import WeightsUnavailable

build_model = get_family("qwen2_5_vl").build_model


def test_mrope_sections_sum_to_half_head_dim(micro_tokenizer):
    for hidden, heads in [(32, 2), (128, 4), (256, 4), (192, 6)]:
        cfg = ModelConfig(hidden_size=hidden, num_attention_heads=heads, num_key_value_heads=1)
        sec = tiny_config(cfg, micro_tokenizer).text_config.rope_parameters["mrope_section"]
        assert sum(sec) == hidden // heads // 2


def test_processor_pins_image_size(micro_tokenizer, micro_model_cfg):
    proc = build_processor(micro_tokenizer, micro_model_cfg)
    for size in [(56, 56)]:  # inputs are rendered at image_size
        out = proc(
            images=[Image.new("RGB", size, "white")], text=["<|image_pad|>"], return_tensors="pt"
        )
        n_pad = int(
            (out["input_ids"] == micro_tokenizer.convert_tokens_to_ids("<|image_pad|>")).sum()
        )
        assert n_pad == image_tokens(micro_model_cfg) == 4


def test_image_size_must_fit_patches(micro_tokenizer):
    with pytest.raises(ValueError, match="multiple"):
        build_processor(micro_tokenizer, ModelConfig(image_size=100))


def test_save_load_generate_roundtrip(micro_tokenizer, micro_model_cfg, tmp_path):
    """A locally assembled processor survives save_pretrained and reloads with the model."""
    proc = build_processor(micro_tokenizer, micro_model_cfg)
    model = build_model(micro_model_cfg, micro_tokenizer)
    images = [
        Image.new("RGB", s, c)
        for s, c in (((56, 56), "white"), ((300, 300), "black"), ((16, 16), "red"))
    ]
    before = generate_svgs(model, proc, images, None, Decoding(max_new_tokens=6, batch_size=2))
    model.save_pretrained(tmp_path)
    proc.save_pretrained(tmp_path)
    model2, proc2 = load_trained(tmp_path)
    after = generate_svgs(model2, proc2, images, None, Decoding(max_new_tokens=6, batch_size=2))
    assert [(t, n) for t, n, _ in before] == [(t, n) for t, n, _ in after]
    assert all(1 <= n <= 6 and s >= 0 for _, n, s in after)
    assert proc2.image_processor.size == proc.image_processor.size


def test_text2svg_generation(micro_tokenizer, micro_model_cfg):
    proc = build_processor(micro_tokenizer, micro_model_cfg)
    model = build_model(micro_model_cfg, micro_tokenizer)
    out = generate_svgs(model, proc, None, ["a red circle", "x"], Decoding(max_new_tokens=4, task="text2svg"))
    assert len(out) == 2


def test_missing_weights_fail_fast(tmp_path, micro_tokenizer):
    with pytest.raises(WeightsUnavailable):
        load_trained(tmp_path)
    with pytest.raises(WeightsUnavailable):
        build_model(ModelConfig(name_or_path=str(tmp_path / "nope")), micro_tokenizer)
