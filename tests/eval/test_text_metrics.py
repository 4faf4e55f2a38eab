"""Text2SVG metrics score through the same CLIP / VLM judge as the rewards; unavailable weights are NULL."""

import pyarrow as pa
import pytest

from rlrf.config import EvalConfig, RenderConfig, TokenizerConfig
from rlrf.eval.metrics import load_metric_models
from rlrf.eval.run import evaluate_split
from rlrf.scores import learned
from tests.tiny_models import tiny_clip

CFG = EvalConfig(render_size=64, clip_model="/not/here/clip", vlm_judge_model="/not/here/judge")
LIMITS = RenderConfig(timeout_s=5.0, workers=2)
CAPTION = "a red square and a blue circle"
SVG = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><rect x="5" y="5" width="40" '
       'height="40" fill="red"/><circle cx="70" cy="70" r="20" fill="blue"/></svg>')


@pytest.fixture(scope="module")
def tiny_tokenizer():
    from rlrf.models.tokenizer import train_tokenizer

    return train_tokenizer([f"Yes No {CAPTION} <svg> </svg>"] * 20, TokenizerConfig(vocab_size=300))


def _rows():
    return pa.table({"sample_id": ["a", "b"], "split": ["test_hard"] * 2, "svg": [SVG, SVG],
                     "n_tokens": [60, 60], "caption": [CAPTION, CAPTION]})


def test_img2svg_marks_text_metrics_not_applicable():
    models = load_metric_models(CFG, task="img2svg")
    _, mets = evaluate_split("m", _rows(), lambda r: [(SVG, 5, 0.0)] * 2, CFG, LIMITS, metric_models=models)
    assert set(mets.column("clip_status").to_pylist()) == {"not_applicable"}
    assert mets.column("clip").null_count == 2


def test_text2svg_without_weights_is_null_with_status():
    models = load_metric_models(CFG, task="text2svg")
    assert "clip" not in models.scorers and "weights unavailable" in models.reasons["clip"]
    assert "vlm_judge" not in models.scorers
    _, mets = evaluate_split("m", _rows(), lambda r: [(SVG, 5, 0.0)] * 2, CFG, LIMITS,
                             metric_models=models, task="text2svg")
    m = mets.to_pylist()
    assert all(r["clip"] is None and r["clip_status"] == "weights_unavailable" for r in m)
    assert all(r["vlm_judge_status"] == "weights_unavailable" for r in m)
    assert all(r["mse"] == 0.0 for r in m)


def test_text2svg_tiny_clip_code_path(monkeypatch, tiny_tokenizer):
    """Random-init CLIP through the reward's loader: a code path, never a result."""

    def tiny(name, model, cache_dir, device):
        return tiny_clip(tiny_tokenizer)

    monkeypatch.setattr(learned, "load_clip", tiny)
    models = load_metric_models(CFG, task="text2svg")
    assert "clip" in models.scorers and "vlm_judge" not in models.scorers
    _, mets = evaluate_split("m", _rows(), lambda r: [(SVG, 5, 0.0), ("no svg", 2, 0.0)], CFG, LIMITS,
                             metric_models=models, task="text2svg")
    m = mets.to_pylist()
    assert all(r["clip_status"] == "ok" and 0.0 <= r["clip"] <= 100.0 for r in m)
    assert m[1]["status"] == "render_failed"  # scored as a blank image, still counted
    assert m[0]["vlm_judge"] is None and m[0]["vlm_judge_status"] == "weights_unavailable"
