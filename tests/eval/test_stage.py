import numpy as np
import pyarrow as pa
import pytest

from rlrf.config import EvalConfig, RenderConfig
from rlrf.eval.metrics import MetricModels
from rlrf.eval.run import evaluate_split
from rlrf.eval.stage import blank_predictor, eval_rows

SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect x="{}" width="5" height="10"/></svg>'


def test_blank_reference_scores_a_white_canvas():
    rows = pa.table({"sample_id": ["a", "b"], "split": ["test", "test"], "svg": [SVG.format(0), SVG.format(5)],
                     "n_tokens": [20, 20]})
    _, m = evaluate_split("blank", rows, blank_predictor, EvalConfig(render_size=32), RenderConfig(),
                          metric_models=MetricModels())
    mse = m["mse"].to_pylist()
    assert np.allclose(mse, 0.5, atol=0.02)  # half the canvas is ink
    assert all(m["render_ok"].to_pylist())
    assert m["ink_iou"].to_pylist() == [0.0, 0.0]  # the floor: no ink where the target has it


def test_greedy_labels_decode_greedily(monkeypatch, tmp_path):
    """`<model>_greedy` is the same model with do_sample off, whatever eval.do_sample says."""
    import rlrf.models.families as families
    from rlrf.eval import stage
    from rlrf.recipe import parse_recipe

    seen = {}
    model = type("M", (), {"eval": lambda self: self, "to": lambda self, device: self})()
    monkeypatch.setattr(families, "load_trained", lambda d: (model, None))
    monkeypatch.setattr(stage, "model_predictor", lambda m, p, cfg, *a, **k: seen.setdefault(len(seen), cfg))
    recipe = parse_recipe({"name": "x", "eval": {"do_sample": True}})
    stage._predictor("sft", recipe, {"sft": tmp_path})
    stage._predictor("rlrf_greedy", recipe, {"grpo": tmp_path})
    assert seen[0].do_sample is True and seen[1].do_sample is False
    with pytest.raises(ValueError, match="sft_greedy"):
        stage._predictor("sft_beam", recipe, {})


def test_eval_rows_are_the_same_seeded_sample_for_every_model():
    t = pa.table({"sample_id": [f"s{i:02d}" for i in range(30)], "split": ["test"] * 20 + ["train"] * 10})
    a, b = eval_rows(t, "test", 8, seed=0), eval_rows(t, "test", 8, seed=0)
    assert a["sample_id"].to_pylist() == b["sample_id"].to_pylist() and a.num_rows == 8
    assert set(a["sample_id"].to_pylist()) <= {f"s{i:02d}" for i in range(20)}


def test_eval_runs_one_part_per_model_and_split_and_keeps_finished_parts(tmp_path, monkeypatch):
    """A rerun after a failed split recomputes that split alone."""
    import pyarrow.parquet as pq

    from rlrf.eval import stage
    from rlrf.recipe import parse_recipe

    curate = tmp_path / "curate"
    curate.mkdir()
    pq.write_table(pa.table({"sample_id": ["a", "b", "c"], "split": ["test", "test", "ood_emoji"],
                             "svg": [SVG.format(0), SVG.format(5), SVG.format(2)], "n_tokens": [20] * 3}),
                   curate / "samples.parquet")
    monkeypatch.setattr("rlrf.models.tokenizer.load_tokenizer", lambda cfg, path: None)
    monkeypatch.setattr(stage._LOADED, "metrics", lambda recipe: MetricModels())
    recipe = parse_recipe({"name": "x", "eval": {"models": ["blank"], "splits": ["test", "ood_emoji", "test_hard"],
                                                 "render_size": 32, "gallery_size": 0}})
    parts, notes = stage.eval_parts(recipe, {"curate": curate})
    assert [(p.label, p.split) for p in parts] == [("blank", "test"), ("blank", "ood_emoji")]
    assert notes == ["eval split 'test_hard' has no rows in this curation; skipped"]
    out = tmp_path / "eval"
    calls = []
    real = stage.evaluate_split

    def failing_on_ood(label, rows, *a, **k):
        calls.append(rows["split"][0].as_py())
        if calls[-1] == "ood_emoji" and len(calls) == 2:
            raise RuntimeError("split failed")
        return real(label, rows, *a, **k)

    monkeypatch.setattr(stage, "evaluate_split", failing_on_ood)
    with pytest.raises(RuntimeError):
        stage.run_eval(recipe, {"curate": curate}, out)
    summary = stage.run_eval(recipe, {"curate": curate}, out)
    assert calls == ["test", "ood_emoji", "ood_emoji"]  # the finished split was kept
    assert set(summary["means"]) == {"blank/test", "blank/ood_emoji"}
    assert pq.read_table(out / "metrics.parquet").num_rows == 3
