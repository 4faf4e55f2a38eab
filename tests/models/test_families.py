"""Every model family: tiny random-init build, batched generation, save/load round trip,
family inference from config.json, and the registry failing loudly."""

import pytest
from PIL import Image

from rlrf.config import ModelConfig
from rlrf.models.families import (
    FAMILIES,
    family_for,
    family_of_dir,
    get_family,
    load_trained,
    register,
    tokenizer_of,
)
from rlrf.models.generate import generate_svgs
from rlrf.models.prompts import Decoding
from tests.models.micro import MICRO_MODEL

CASES = [("qwen2_5_vl", "img2svg"), ("qwen2_5_vl", "text2svg"), ("qwen3", "text2svg"), ("starvector", "img2svg")]


def _cfg(family, task):
    return ModelConfig(**MICRO_MODEL, family=family, task=task)


@pytest.mark.parametrize(("family", "task"), CASES)
def test_tiny_build_generate_roundtrip(family, task, micro_tokenizer, tmp_path):
    import copy

    tok = copy.deepcopy(micro_tokenizer)
    cfg = _cfg(family, task)
    fam = family_for(cfg)
    proc = fam.build_processor(tok, cfg)
    model = fam.build_model(cfg, tok)
    images = [Image.new("RGB", (56, 56), c) for c in ("white", "black", "red")] if task == "img2svg" else None
    caps = ["a red circle", "x", "two squares"]
    before = generate_svgs(model, proc, images, caps, Decoding(max_new_tokens=5, batch_size=2, task=task))
    model.save_pretrained(tmp_path)
    proc.save_pretrained(tmp_path)
    assert family_of_dir(tmp_path).name == family
    model2, proc2 = load_trained(tmp_path)
    after = generate_svgs(model2, proc2, images, caps, Decoding(max_new_tokens=5, batch_size=2, task=task))
    assert [(t, n) for t, n, _ in before] == [(t, n) for t, n, _ in after]
    assert all(1 <= n <= 5 for _, n, _ in after)
    assert tokenizer_of(proc2).eos_token_id == tok.eos_token_id


def test_starvector_image_tokens_are_every_patch_and_cls(micro_tokenizer):
    import copy

    tok = copy.deepcopy(micro_tokenizer)
    cfg = _cfg("starvector", "img2svg")
    fam = get_family("starvector")
    proc = fam.build_processor(tok, cfg)
    model = fam.build_model(cfg, tok)
    text = proc.apply_chat_template([{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "x"}]}],
                                    tokenize=False, add_generation_prompt=True)
    out = proc(text=[text], images=[Image.new("RGB", (56, 56))], return_tensors="pt")
    n = int((out["input_ids"] == model.config.image_token_id).sum())
    assert n == model.config.image_seq_length == (56 // 14) ** 2 + 1
    assert model(**out).logits.shape[1] == out["input_ids"].shape[1]


def test_family_inferred_from_committed_config():
    assert family_for(ModelConfig(name_or_path="Qwen/Qwen2.5-VL-7B-Instruct")).name == "qwen2_5_vl"
    assert family_for(ModelConfig(name_or_path="Qwen/Qwen3-8B", task="text2svg")).name == "qwen3"
    assert family_for(ModelConfig(name_or_path="starvector/starvector-1b-im2svg")).name == "starvector"
    assert family_for(ModelConfig()).name == "qwen2_5_vl"


def test_registry_fails_loudly():
    with pytest.raises(ValueError, match="valid: qwen2_5_vl"):
        get_family("llama")
    with pytest.raises(ValueError, match="already registered"):
        register(FAMILIES["qwen3"])
    with pytest.raises(ValueError, match="does not do task"):
        family_for(ModelConfig(family="qwen3", task="img2svg"))
    with pytest.raises(ValueError, match="no config.json"):
        family_for(ModelConfig(name_or_path="someone/unknown-model"))


def test_clip_state_dict_maps_every_openai_key():
    """The released StarVector CLIP tower (OpenAI layout, fused q/k/v) maps onto every
    weight of transformers' CLIPVisionModel except the unused post-LayerNorm."""
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModel

    from rlrf.models.families.starvector import clip_state_dict

    hf = CLIPVisionModel(CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                          num_attention_heads=2, patch_size=14, image_size=28))
    w = {k: v.clone() for k, v in hf.state_dict().items()}
    openai = {"class_embedding": w["embeddings.class_embedding"],
              "conv1.weight": w["embeddings.patch_embedding.weight"],
              "positional_embedding": w["embeddings.position_embedding.weight"],
              "ln_pre.weight": w["pre_layrnorm.weight"], "ln_pre.bias": w["pre_layrnorm.bias"]}
    for i in range(2):
        h, o = f"encoder.layers.{i}.", f"transformer.resblocks.{i}."
        for kind in ("weight", "bias"):
            openai[o + f"attn.in_proj_{kind}"] = torch.cat([w[h + f"self_attn.{p}.{kind}"] for p in ("q_proj", "k_proj", "v_proj")])
            for a, b in {"attn.out_proj": "self_attn.out_proj", "ln_1": "layer_norm1", "ln_2": "layer_norm2",
                         "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2"}.items():
                openai[o + f"{a}.{kind}"] = w[h + f"{b}.{kind}"]
    mapped = clip_state_dict(openai)
    assert set(w) - set(mapped) == {"post_layernorm.weight", "post_layernorm.bias"}
    assert all(torch.equal(mapped[k], w[k]) for k in mapped)


def test_starvector_template_is_image_then_svg(micro_tokenizer):
    """A tokenizer without a chat template (StarCoder's) gets StarVector's sequence: the image
    placeholder, then the SVG and eos; the instruction text is not part of it."""
    import copy

    from rlrf.models.prompts import prompt_messages

    tok = copy.deepcopy(micro_tokenizer)
    tok.chat_template = None
    proc = get_family("starvector").build_processor(tok, _cfg("starvector", "img2svg"))
    prompt = proc.apply_chat_template(prompt_messages("img2svg"), tokenize=False, add_generation_prompt=True)
    svg = "<svg/>"
    full = proc.apply_chat_template([*prompt_messages("img2svg"), {"role": "assistant", "content": svg}],
                                    tokenize=False)
    assert prompt == "<|image_pad|>" and full == prompt + svg + tok.eos_token


def test_qwen3_template_pinned_to_non_thinking(micro_tokenizer):
    import copy

    tok = copy.deepcopy(micro_tokenizer)
    tok.chat_template = ("{{ messages[0]['content'] }}{% if add_generation_prompt %}"
                         "{% if enable_thinking is defined and not enable_thinking %}<think></think>{% endif %}{% endif %}")
    proc = get_family("qwen3").build_processor(tok, _cfg("qwen3", "text2svg"))
    out = proc.apply_chat_template([{"role": "user", "content": "c"}], tokenize=False, add_generation_prompt=True)
    assert out == "c<think></think>"
    assert get_family("qwen3").build_processor(proc, _cfg("qwen3", "text2svg")).chat_template == proc.chat_template


def test_from_released_copies_every_part():
    """A stand-in with the released StarVector-1B module layout (StarCoder under
    svg_transformer.transformer, OpenAI-layout CLIP, ln_vision, the adapter) converts into
    our model with every weight carried over and the placeholder row appended."""
    from collections import OrderedDict

    import torch
    from torch import nn
    from transformers import GPTBigCodeConfig, GPTBigCodeForCausalLM

    from rlrf.models.families.starvector import from_released, starvector_config

    torch.manual_seed(0)
    v, d, layers, side, patch, vocab = 16, 32, 2, 28, 14, 50
    vision = {"hidden_size": v, "intermediate_size": 4 * v, "num_hidden_layers": layers, "num_attention_heads": 2,
              "patch_size": patch, "image_size": side, "hidden_act": "quick_gelu"}
    text = {"vocab_size": vocab + 1, "n_embd": d, "n_layer": 1, "n_head": 2, "multi_query": True}
    config = starvector_config(vision, text, vocab, "batch_norm", True)

    def block():
        b = nn.Module()
        b.attn, b.ln_1, b.ln_2 = nn.MultiheadAttention(v, 2), nn.LayerNorm(v), nn.LayerNorm(v)
        b.mlp = nn.Sequential(OrderedDict(c_fc=nn.Linear(v, 4 * v), c_proj=nn.Linear(4 * v, v)))
        return b

    clip = nn.Module()
    clip.conv1 = nn.Conv2d(3, v, patch, patch, bias=False)
    clip.class_embedding = nn.Parameter(torch.randn(v))
    clip.positional_embedding = nn.Parameter(torch.randn((side // patch) ** 2 + 1, v))
    clip.ln_pre = nn.LayerNorm(v)
    clip.transformer = nn.Module()
    clip.transformer.resblocks = nn.Sequential(*[block() for _ in range(layers)])
    adapter = nn.Module()
    adapter.c_fc, adapter.c_proj = nn.Linear(v, 2 * v), nn.Linear(2 * v, d)
    adapter.norm = nn.BatchNorm1d(config.image_seq_length)
    released = nn.Module()
    released.model = nn.Module()
    released.model.svg_transformer = nn.Module()
    released.model.svg_transformer.transformer = GPTBigCodeForCausalLM(
        GPTBigCodeConfig(vocab_size=vocab, n_embd=d, n_layer=1, n_head=2, multi_query=True))
    released.model.image_encoder = nn.Module()
    released.model.image_encoder.visual_encoder, released.model.image_encoder.ln_vision = clip, nn.LayerNorm(v)
    released.model.image_projection = adapter

    model = from_released(released, config, torch.float32)
    ours = model.model
    decoder = released.model.svg_transformer.transformer
    assert torch.equal(ours.language_model.wte.weight[:vocab], decoder.transformer.wte.weight[:vocab])
    assert ours.language_model.wte.weight.shape[0] == vocab + 1
    assert torch.equal(ours.multi_modal_projector.c_proj.weight, adapter.c_proj.weight)
    q = ours.vision_tower.encoder.layers[1].self_attn.q_proj.weight
    assert torch.equal(q, clip.transformer.resblocks[1].attn.in_proj_weight[:v])
    ids = torch.cat([torch.full((1, config.image_seq_length), vocab), torch.tensor([[3, 4]])], dim=1)  # image, text
    out = model(input_ids=ids, pixel_values=torch.randn(1, 3, side, side))
    assert out.logits.shape == (1, config.image_seq_length + 2, vocab + 1)
