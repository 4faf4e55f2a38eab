"""Plumbing of the model-backed rewards with tiny random-init networks.

These scores prove that renders reach the model and come back in [-1, 1] in the right
order; they are not results and are never reported.
"""

import numpy as np
import pytest
import torch

from rlrf.config import ModelConfig, RewardSpec, TokenizerConfig
from rlrf.rewards.registry import build_reward
from rlrf.scores import learned
from rlrf.weights import WeightsUnavailable
from tests.rewards.samples import BLANK, GT, RENDER, SHIFTED
from tests.tiny_models import tiny_clip

torch.set_num_threads(1)


class TinyDistance(torch.nn.Module):
    """A random conv embedding; distance = 1 − cosine, like DreamSim's output."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 8, 5, stride=4)

    def forward(self, a, b):
        fa, fb = self.conv(a).flatten(1), self.conv(b).flatten(1)
        return 1 - torch.nn.functional.cosine_similarity(fa, fb)


def _tiny_dreamsim(name, cache_dir, dreamsim_type, device):
    import torchvision.transforms as T

    t = T.Compose([T.Resize((32, 32)), T.ToTensor()])
    return TinyDistance().eval(), lambda img: t(img.convert("RGB")).unsqueeze(0)


@pytest.mark.parametrize("name", ["dreamsim", "canny_dreamsim"])
def test_dreamsim_plumbing(monkeypatch, name):
    monkeypatch.setattr(learned, "load_dreamsim", _tiny_dreamsim)
    reward = build_reward(RewardSpec(name=name, model="/any"), RENDER, 64)
    scores = reward([GT, SHIFTED, BLANK], gt_svg=[GT] * 3)
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    assert -1.0 <= scores[1] < scores[0]
    assert scores[2] == -1.0


def test_lpips_plumbing(monkeypatch):
    import lpips

    def tiny_lpips(name, net, weights, device):
        torch.manual_seed(0)
        model = lpips.LPIPS(net="alex", pretrained=False, pnet_rand=True, verbose=False)
        for lin in model.lins:  # calibration weights are non-negative in the real model
            lin.model[-1].weight.data.abs_()
        return model.eval()

    monkeypatch.setattr(learned, "load_lpips_net", tiny_lpips)
    reward = build_reward(RewardSpec(name="lpips"), RENDER, 64)
    scores = reward([GT, SHIFTED, BLANK], gt_svg=[GT] * 3)
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    assert -1.0 <= scores[1] < 1.0 and scores[2] == -1.0


@pytest.fixture(scope="module")
def tiny_tokenizer():
    from rlrf.models.tokenizer import train_tokenizer

    texts = ["Yes No a red square and a blue circle <svg> </svg> Does the drawing resemble"] * 20
    return train_tokenizer(texts, TokenizerConfig(vocab_size=300))


def test_clip_plumbing(monkeypatch, tiny_tokenizer):
    def tiny(name, model, cache_dir, device):
        return tiny_clip(tiny_tokenizer)

    monkeypatch.setattr(learned, "load_clip", tiny)
    reward = build_reward(RewardSpec(name="clip", model="/any"), RENDER, 64, task="text2svg")
    caption = "a red square and a blue circle"
    text_only = f'<svg viewBox="0 0 100 100"><text x="5" y="50">{caption}</text></svg>'
    scores = reward([GT, SHIFTED, text_only], caption=[caption] * 3)
    assert all(-1.0 <= s <= 1.0 for s in scores[:2])
    assert scores[2] == -1.0  # the <text> hack renders blank once text is stripped


def test_vlm_judge_plumbing(monkeypatch, tiny_tokenizer):
    from rlrf.models.factory import build_processor
    from rlrf.models.families import get_family

    build_model = get_family("qwen2_5_vl").build_model

    cfg = ModelConfig(image_size=56, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                      num_key_value_heads=1, intermediate_size=64, vision_depth=1,
                      vision_hidden_size=32, vision_num_heads=2)  # fmt: skip

    def tiny_judge(name, model, cache_dir, device):
        torch.manual_seed(0)
        return build_model(cfg, tiny_tokenizer).eval(), build_processor(tiny_tokenizer, cfg)

    monkeypatch.setattr(learned, "load_judge", tiny_judge)
    reward = build_reward(RewardSpec(name="vlm_judge", model="/any"), RENDER, 56)
    caption = "a red square and a blue circle"
    scores = reward([GT, SHIFTED, BLANK], caption=[caption] * 3)
    assert all(-1.0 < s < 1.0 for s in scores[:2]) and scores[2] == -1.0
    # Reproduce 2·P(Yes) − 1 by hand for the first completion.
    net, processor = reward._model.net, reward._model.processor
    yes, no = learned.JudgeScorer.answer_ids(processor.tokenizer)
    from PIL import Image

    from rlrf.svg.render import render_unbounded as render

    messages = [{"role": "user", "content": [{"type": "image"},
                 {"type": "text", "text": learned.JUDGE_PROMPT.format(caption)}]}]  # fmt: skip
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = processor(text=[prompt], images=[Image.fromarray(render(GT, 56))], return_tensors="pt")
    with torch.no_grad():
        logits = net(**inputs).logits[0, -1]
    p = torch.softmax(logits[[yes, no]], 0)[0].item()
    assert scores[0] == pytest.approx(2 * p - 1, abs=1e-5)
    assert np.isfinite(scores).all()


def _lpips_with_bundled_calibration():
    """lpips' own AlexNet LPIPS: the linear calibration weights shipped in the package, a
    random-init trunk (torchvision's ImageNet AlexNet cannot be downloaded here)."""
    import lpips

    torch.manual_seed(0)
    return lpips.LPIPS(net="alex", pretrained=True, pnet_rand=True, verbose=False).eval()


def test_lpips_reward_is_the_reference_computation(monkeypatch):
    """rlrf-rewarder RewardLpips: alex, both images resized to 256×256 (cv2 bilinear), RGB in
    [0, 1] passed to LPIPS unchanged (normalize=False), reward = clamp(1 − 2·d, −1, 1)."""
    import cv2

    from rlrf.svg.render import render_unbounded as render

    net = _lpips_with_bundled_calibration()
    seen = []

    def spy(a, b):
        seen.append((tuple(a.shape), float(a.min()), float(a.max())))
        return net(a, b)

    monkeypatch.setattr(learned, "load_lpips_net", lambda name, net_, weights, device: spy)
    size = 200  # renders are resized to 256 like the reference's 512 px renders
    reward = build_reward(RewardSpec(name="lpips"), RENDER, size)
    scores = reward([GT, SHIFTED], gt_svg=[GT, GT])
    assert seen[0][0] == (2, 3, 256, 256) and seen[0][1] >= 0.0 and seen[0][2] <= 1.0

    def reference(target, pred):  # written from the reference's definition
        def x(img):
            img = cv2.resize(img, (256, 256))
            return torch.from_numpy(img.copy()).permute(2, 0, 1).float().div(255.0).unsqueeze(0)

        with torch.no_grad():
            d = net(x(target), x(pred))
        return (1.0 - 2.0 * d).clamp(-1.0, 1.0).item()

    gt_img = render(GT, size)
    assert scores[0] == pytest.approx(reference(gt_img, gt_img), abs=1e-6) == pytest.approx(1.0)
    assert scores[1] == pytest.approx(reference(gt_img, render(SHIFTED, size)), abs=1e-5)
    assert scores[1] < 1.0


def test_lpips_reward_without_backbone_weights_is_dropped_loudly(monkeypatch, tmp_path):
    from rlrf.rewards.registry import build_rewards

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # no torchvision checkpoint
    monkeypatch.delenv("RLRF_ALLOW_DOWNLOADS", raising=False)
    built = build_rewards([RewardSpec(name="lpips"), RewardSpec(name="l2")], RENDER, 64)
    assert built.dropped == ["lpips"] and [f.__name__ for f in built.funcs] == ["l2"]
    with pytest.raises(WeightsUnavailable):
        build_rewards([RewardSpec(name="lpips", required=True)], RENDER, 64)
