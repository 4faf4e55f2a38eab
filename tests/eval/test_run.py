"""evaluate_split: one row per sample, failures counted, baselines end to end."""

import pyarrow as pa
import pytest

from rlrf.config import EvalConfig, RenderConfig
from rlrf.eval.metrics import MetricModels
from rlrf.eval.run import METRICS_SCHEMA, PREDICTIONS_SCHEMA, baseline_predictor, evaluate_split

CFG = EvalConfig(render_size=128, input_size=128)
LIMITS = RenderConfig(timeout_s=5.0, workers=2)
NO_MODELS = MetricModels()


@pytest.fixture
def rows(corpus_svgs):
    svgs = list(corpus_svgs.values())
    return pa.table({
        "sample_id": [f"s{i}" for i in range(len(svgs))] + ["broken"],
        "split": ["test_hard"] * len(svgs) + ["ood_emoji"],
        "svg": svgs + ["<svg><g>"],
        "n_tokens": [len(s) // 3 for s in svgs] + [3],
    })


def test_predictions_and_metrics_per_sample(rows):
    svgs = rows.column("svg").to_pylist()
    outputs = [
        (f"Here you go: {svgs[0]} done", 40, 0.5),  # exact copy wrapped in chatter
        ("no svg at all", 5, 0.5),
        ('<svg xmlns="http://www.w3.org/2000/svg"><rect width="1e309" height="5"/></svg>', 9, 0.5),
        (svgs[3], 30, 0.5),
        (svgs[0], 30, 0.5),
    ]
    preds, mets = evaluate_split("sft", rows, lambda r: outputs, CFG, LIMITS, None, metric_models=NO_MODELS)
    assert preds.schema == PREDICTIONS_SCHEMA and mets.schema == METRICS_SCHEMA
    m = mets.to_pylist()
    assert [r["sample_id"] for r in m] == ["s0", "s1", "s2", "s3", "broken"]
    assert m[0]["status"] == "ok" and m[0]["mse"] == 0.0 and m[0]["ssim"] == pytest.approx(1.0)
    assert m[1]["status"] == "render_failed" and m[1]["mse"] > 0 and "no_svg" in m[1]["error"]
    assert m[3]["status"] == "ok" and m[3]["mse"] == 0.0
    assert m[4]["status"] == "gt_render_failed" and m[4]["mse"] is None and m[4]["dataset"] == "ood_emoji"
    assert all(r["dino"] is None and r["dino_status"] == "weights_unavailable" for r in m)
    assert m[0]["code_eff"] == m[0]["gt_tokens"] - 40
    p = preds.to_pylist()
    assert p[0]["svg_pred"].startswith("<svg") and p[0]["svg_pred"].rstrip().endswith("</svg>")
    assert [r["render_ok"] for r in p][:2] == [True, False]


def test_tokenizer_counts_both_sides(rows):
    class CharTokenizer:
        def __call__(self, texts, add_special_tokens=False):
            return {"input_ids": [list(t) for t in texts]}

    svgs = rows.column("svg").to_pylist()
    outputs = [(s, None, 0.0) for s in svgs]
    _, mets = evaluate_split("copy", rows, lambda r: outputs, CFG, LIMITS, CharTokenizer(), metric_models=NO_MODELS)
    for r, s in zip(mets.to_pylist()[:4], svgs, strict=False):
        assert r["gt_tokens"] == len(s) and r["code_eff"] == 0


def test_predictor_length_mismatch_raises(rows):
    with pytest.raises(ValueError, match="returned 1 outputs for 5 rows"):
        evaluate_split("bad", rows, lambda r: [("", 0, 0.0)], CFG, LIMITS, None, metric_models=NO_MODELS)


@pytest.mark.parametrize("name", ["vtracer", "potrace"])
def test_baselines_end_to_end(rows, name):
    preds, mets = evaluate_split(name, rows, baseline_predictor(name, CFG, LIMITS), CFG, LIMITS, None,
                                 metric_models=NO_MODELS)
    m = mets.to_pylist()
    assert [r["render_ok"] for r in m[:4]] == [True] * 4
    assert all(r["status"] == "ok" and r["mse"] < 0.2 for r in m[:4])
    assert m[4]["status"] == "gt_render_failed"
    assert all(r["seconds"] >= 0 for r in m)


def test_model_predictor_with_tiny_random_qwen():
    """A tiny random-init policy through generate_svgs: the eval plumbing, not a result."""
    import torch

    from rlrf.config import ModelConfig, TokenizerConfig
    from rlrf.eval.run import model_predictor
    from rlrf.models.factory import build_processor
    from rlrf.models.families import get_family

    build_model = get_family("qwen2_5_vl").build_model
    from rlrf.models.tokenizer import train_tokenizer
    from tests.models.micro import ICONS, MICRO_MODEL, icon_rows

    torch.manual_seed(0)
    tok = train_tokenizer(ICONS * 4, TokenizerConfig(vocab_size=300))
    mcfg = ModelConfig(**MICRO_MODEL)
    model, processor = build_model(mcfg, tok), build_processor(tok, mcfg)
    cfg = EvalConfig(render_size=64, max_new_tokens=8, batch_size=2)
    rows = icon_rows(3).drop(["split"]).append_column("split", pa.array(["test_hard"] * 3))
    predict = model_predictor(model, processor, cfg, LIMITS, mcfg.image_size)
    preds, mets = evaluate_split("sft", rows, predict, cfg, LIMITS, tok, metric_models=NO_MODELS)
    assert preds.num_rows == 3 and mets.num_rows == 3
    assert all(0 < n <= 8 for n in preds.column("n_tokens").to_pylist())
    assert set(mets.column("status").to_pylist()) <= {"ok", "render_failed"}
    assert all(m is not None for m in mets.column("mse").to_pylist())
