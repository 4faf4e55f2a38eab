"""Metric definitions (StarVector's harness) and the weights-unavailable path."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from skimage.metrics import structural_similarity

from rlrf.config import EvalConfig
from rlrf.eval import metrics as M
from rlrf.scores import learned as L
from rlrf.scores import pixels as P
from rlrf.svg.render import render_unbounded as render
from tests.tiny_models import tiny_dino as shared_tiny_dino


def _scene(size: int = 128) -> np.ndarray:
    img = np.full((size, size, 3), 255, np.uint8)
    img[20:70, 30:90] = (200, 30, 30)
    img[60:110, 50:100] = (20, 40, 160)
    return img


@pytest.fixture
def no_models() -> M.MetricModels:
    return M.MetricModels()


def test_identical_images_score_perfectly():
    img = _scene()
    assert P.mse(img, img) == 0.0
    assert P.ssim(img, img) == pytest.approx(1.0)


def test_mse_is_on_unit_rgb():
    white, black = P.blank_image(16), np.zeros((16, 16, 3), np.uint8)
    assert P.mse(white, black) == pytest.approx(1.0)
    half = np.full((16, 16, 3), 255, np.uint8)
    half[:8] = 0
    assert P.mse(white, half) == pytest.approx(0.5)


def test_ssim_matches_starvector_call_on_uint8():
    """StarVector calls skimage on uint8 arrays (data_range 255, uniform window)."""
    a = _scene()
    b = np.roll(a, 3, axis=1)
    theirs = structural_similarity(a, b, win_size=11, channel_axis=-1, sigma=1.5, full=True)[0]
    assert P.ssim(a, b) == pytest.approx(theirs, abs=1e-6)
    gaussian = structural_similarity(a / 255.0, b / 255.0, win_size=11, sigma=1.5, gaussian_weights=True,
                                     channel_axis=-1, data_range=1.0)
    assert P.ssim(a, b, gaussian_weights=True) == pytest.approx(gaussian, abs=1e-9)


@pytest.mark.parametrize("perturb", ["shift", "blur", "recolour", "noise"])
def test_perturbations_move_metrics_the_right_way(perturb):
    rng = np.random.default_rng(0)
    gt = _scene()

    def apply(strength: float) -> np.ndarray:
        f = gt.astype(np.float64)
        if perturb == "shift":
            return np.roll(gt, int(strength * 10), axis=1)
        if perturb == "blur":
            return np.clip(gaussian_filter(f, sigma=(strength * 3, strength * 3, 0)), 0, 255).astype(np.uint8)
        if perturb == "recolour":
            out = gt.copy()
            out[20:70, 30:90] = (200, 30 + int(strength * 150), 30)
            return out
        noise = rng.normal(0, strength * 60, gt.shape)
        return np.clip(f + noise, 0, 255).astype(np.uint8)

    small, large = apply(0.3), apply(1.0)
    assert 0 < P.mse(gt, small) < P.mse(gt, large)
    assert 1 > P.ssim(gt, small) > P.ssim(gt, large)


def test_code_efficiency_sign():
    assert M.code_efficiency(500, 200) == 300
    assert M.code_efficiency(100, 150) == -50
    assert M.code_efficiency(None, 10) is None


def test_failed_render_scored_as_blank_and_counted(no_models):
    gt = _scene()
    rows = M.score_images([gt, gt, None], [gt, None, gt], no_models)
    assert [r["status"] for r in rows] == ["ok", "render_failed", "gt_render_failed"]
    assert [r["render_ok"] for r in rows] == [True, False, True]
    assert rows[0]["mse"] == 0.0
    assert rows[1]["mse"] == pytest.approx(P.mse(gt, P.blank_image(128)))
    assert rows[1]["ssim"] == pytest.approx(P.ssim(gt, P.blank_image(128)))
    assert rows[2]["mse"] is None and rows[2]["ssim"] is None


def test_weights_unavailable_offline_gives_null_and_status(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # empty hub cache: no VGG checkpoint
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    cfg = EvalConfig(dino_model="facebook/dinov2-base-not-cached-here")
    models = M.load_metric_models(cfg)
    assert "dino" not in models.scorers and "weights unavailable" in models.reasons["dino"]
    assert "lpips" not in models.scorers and "absent" in models.reasons["lpips"]
    rows = M.score_images([_scene()], [_scene()], models)
    assert rows[0]["dino"] is None and rows[0]["dino_status"] == "weights_unavailable"
    assert rows[0]["lpips"] is None and rows[0]["lpips_status"] == "weights_unavailable"
    assert rows[0]["mse"] == 0.0


def tiny_dino() -> L.DinoScorer:
    """Random-init DINOv2 from config: proves the code path; its scores are not results."""
    return shared_tiny_dino()


def tiny_lpips() -> L.LpipsScorer:
    """lpips with a random VGG trunk (its bundled linear layers): a code path, not a result."""
    import lpips
    import torch

    torch.manual_seed(0)
    return L.LpipsScorer(lpips.LPIPS(net="vgg", pnet_rand=True, verbose=False), batch_size=2)


def test_tiny_random_dino_and_lpips_code_path():
    models = M.load_metric_models(EvalConfig(), factories={"dino": tiny_dino, "lpips": tiny_lpips})
    assert set(models.scorers) == {"dino", "lpips"} and not models.reasons
    gt = _scene(64)
    other = np.roll(gt, 20, axis=0)
    rows = M.score_images([gt, gt, gt], [gt, other, None], models)
    for r in rows:
        assert 0.0 <= r["dino"] <= 1.0
        assert r["lpips"] >= 0.0
    assert rows[0]["dino"] == pytest.approx(1.0, abs=1e-5)
    assert rows[0]["lpips"] == pytest.approx(0.0, abs=1e-6)
    assert rows[1]["lpips"] > 0.0


def test_real_svg_render_pair(corpus_svgs):
    """GT vs itself and vs another corpus SVG at the metric size."""
    a = render(corpus_svgs["twemoji"], 512)
    b = render(corpus_svgs["tabler"], 512)
    assert a.shape == (512, 512, 3)
    assert P.mse(a, a) == 0.0 and P.ssim(a, a) == pytest.approx(1.0)
    assert P.mse(a, b) > 0.01 and P.ssim(a, b) < 0.95
