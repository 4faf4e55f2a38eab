"""Score one model (or classical baseline) on one evaluation split.

RLRF §4 evaluates every system -- SFT, RLRF, VTracer, Potrace -- on the same rows
with the same metrics. `evaluate_split` takes any predictor `rows -> [(text, n_tokens,
seconds)]`, renders GT and predictions through the shared render pool at the metric
size, and returns two Arrow tables: `predictions` and `metrics` (grain: one row per
model_label x dataset x sample_id). Per-sample failures are values in those rows.

Predictions go through StarVector's own post-processing, not the reward gate: a
truncated SVG is closed (`extract_svg(text)`) and still scored, a failed render is
scored as a white canvas. GRPO rewards score such roll-outs −1 instead
(`rlrf.rewards.rendering`); README "Rewards vs evaluation" puts the rules side by side.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from rlrf.config import EvalConfig, RenderConfig
from rlrf.eval import baselines
from rlrf.eval.metrics import (
    METRICS_SCHEMA,
    MetricModels,
    code_efficiency,
    load_metric_models,
    score_images,
)
from rlrf.models.inputs import render_inputs
from rlrf.scores.pixels import blank_image
from rlrf.svg.extract import extract_svg
from rlrf.svg.pool import shared_pool

log = logging.getLogger(__name__)

Prediction = tuple[str, int | None, float]
Predictor = Callable[[pa.Table], list[Prediction]]

PREDICTIONS_SCHEMA = pa.schema([
    ("model_label", pa.string()),
    ("dataset", pa.string()),
    ("sample_id", pa.string()),
    ("svg_pred", pa.string()),
    ("render_ok", pa.bool_()),
    ("error", pa.string()),
    ("n_tokens", pa.int64()),
    ("seconds", pa.float64()),
])

def _render_many(svgs: Sequence[str], size: int, limits: RenderConfig):
    return shared_pool(limits).render_many(list(svgs), size)


def _count(tokenizer: Any, texts: list[str]) -> list[int | None]:
    if tokenizer is None:
        return [None] * len(texts)
    from rlrf.models.tokenizer import count_tokens

    return list(count_tokens(tokenizer, texts))


def _column(rows: pa.Table, name: str, default: Any = None) -> list[Any]:
    if name in rows.column_names:
        return rows.column(name).to_pylist()
    return [default] * rows.num_rows


def _failure_text(r: Any) -> str:
    return f"{r.reason}: {r.detail}" if getattr(r, "detail", "") else str(getattr(r, "reason", r))


def evaluate_split(
    model_label: str,
    rows: pa.Table,
    predict: Predictor,
    cfg: EvalConfig,
    render_limits: RenderConfig,
    tokenizer: Any = None,
    *,
    metric_models: MetricModels | None = None,
    task: str = "img2svg",
) -> tuple[pa.Table, pa.Table]:
    """Predict, render and score `rows` (a `samples` slice: sample_id, split, svg, n_tokens).

    `tokenizer` counts GT and predicted SVG tokens for code efficiency (the same
    tokenizer for both, as StarVector does); without it the rows' `n_tokens` and the
    predictor's token counts are used. Pass `metric_models` to load DINO/LPIPS once
    for many splits. For `task="text2svg"` the renders are also scored against the
    rows' `caption` (CLIP score, VLM judge).
    """
    n = rows.num_rows
    sample_ids = [str(s) for s in _column(rows, "sample_id")]
    datasets = _column(rows, "split") if "split" in rows.column_names else _column(rows, "dataset", "")
    gt_svgs = [s or "" for s in _column(rows, "svg", "")]
    outputs = predict(rows)
    if len(outputs) != n:
        raise ValueError(f"{model_label}: predictor returned {len(outputs)} outputs for {n} rows")
    texts = [t or "" for t, _, _ in outputs]
    svg_preds = [extract_svg(t) for t in texts]  # closes truncated SVGs, as StarVector does

    size = cfg.render_size
    gt_renders = _render_many(gt_svgs, size, render_limits)
    to_render = [i for i, s in enumerate(svg_preds) if s is not None]
    rendered = _render_many([svg_preds[i] for i in to_render], size, render_limits)
    pred_renders: list[Any] = [None] * n
    for i, r in zip(to_render, rendered, strict=True):
        pred_renders[i] = r

    gt_imgs: list[np.ndarray | None] = []
    pred_imgs: list[np.ndarray | None] = []
    errors: list[str | None] = []
    for i in range(n):
        g, p = gt_renders[i], pred_renders[i]
        gt_imgs.append(g if isinstance(g, np.ndarray) else None)
        pred_imgs.append(p if isinstance(p, np.ndarray) else None)
        if svg_preds[i] is None:
            errors.append("no_svg: completion contains no <svg> element")
        elif not isinstance(p, np.ndarray):
            errors.append(_failure_text(p))
        elif not isinstance(g, np.ndarray):
            errors.append(f"gt {_failure_text(g)}")
        else:
            errors.append(None)
    n_failed = sum(p is None for p in pred_imgs)
    if n_failed:
        log.info("%s: %d/%d predictions failed to render (scored as blank, status render_failed)",
                 model_label, n_failed, n)
    n_gt_failed = sum(g is None for g in gt_imgs)
    if n_gt_failed:
        log.warning("%s: %d/%d GT SVGs failed to render; those samples are unscored (gt_render_failed)",
                    model_label, n_gt_failed, n)

    if metric_models is None:
        metric_models = load_metric_models(cfg, task=task)
    scores = score_images(gt_imgs, pred_imgs, metric_models, cfg,
                          captions=[c or "" for c in _column(rows, "caption", "")])

    pred_texts = [s if s is not None else t for s, t in zip(svg_preds, texts, strict=True)]
    pred_tokens = _count(tokenizer, pred_texts) if tokenizer is not None else [o[1] for o in outputs]
    gt_tokens = _count(tokenizer, gt_svgs) if tokenizer is not None else _column(rows, "n_tokens")

    predictions = []
    metrics = []
    for i in range(n):
        gen_tokens = outputs[i][1] if outputs[i][1] is not None else pred_tokens[i]
        predictions.append({
            "model_label": model_label, "dataset": datasets[i], "sample_id": sample_ids[i],
            "svg_pred": svg_preds[i] if svg_preds[i] is not None else texts[i],
            "render_ok": pred_imgs[i] is not None, "error": errors[i],
            "n_tokens": gen_tokens, "seconds": float(outputs[i][2]),
        })
        metrics.append({
            "model_label": model_label, "dataset": datasets[i], "sample_id": sample_ids[i],
            **scores[i],
            "code_eff": code_efficiency(gt_tokens[i], pred_tokens[i]),
            "gt_tokens": gt_tokens[i], "pred_tokens": pred_tokens[i],
            "error": errors[i], "seconds": float(outputs[i][2]),
        })
    return (pa.Table.from_pylist(predictions, schema=PREDICTIONS_SCHEMA),
            pa.Table.from_pylist(metrics, schema=METRICS_SCHEMA))


def baseline_predictor(name: str, cfg: EvalConfig, render_limits: RenderConfig | None = None) -> Predictor:
    """A predictor that renders each GT SVG at the eval input size and traces it.

    The raster is what a model would see (`cfg.input_size`, default the metric size);
    a GT that does not render, or a tracer error, yields an empty completion, which
    `evaluate_split` counts as a render failure.
    """
    if name not in baselines.BASELINES:
        raise ValueError(f"unknown baseline {name!r}; valid: {', '.join(baselines.BASELINES)}")
    settings = dict(getattr(cfg.baselines, name))
    limits = render_limits or RenderConfig()
    size = cfg.input_size or cfg.render_size

    def predict(rows: pa.Table) -> list[Prediction]:
        targets = _render_many([s or "" for s in _column(rows, "svg", "")], size, limits)
        out: list[Prediction] = []
        for sid, img in zip(_column(rows, "sample_id"), targets, strict=True):
            if not isinstance(img, np.ndarray):
                out.append(("", None, 0.0))
                continue
            try:
                svg, seconds = baselines.trace(name, img, settings)
            except Exception as exc:  # noqa: BLE001  (a tracer bug must not sink the split)
                log.warning("%s failed on sample %s: %s", name, sid, exc)
                svg, seconds = "", 0.0
            out.append((svg, None, seconds))
        return out

    return predict


def model_predictor(
    model: Any,
    processor: Any,
    cfg: EvalConfig,
    render_limits: RenderConfig,
    image_size: int,
    task: str = "img2svg",
    generate: Callable | None = None,
) -> Predictor:
    """A predictor around `rlrf.models.generate.generate_svgs` (or `generate`, the same
    signature, e.g. vLLM's) with the eval decoding setup.

    Img2SVG inputs are the GT rendered at the model's `image_size`; a GT that does not
    render is shown as a white image (the sample is unscored anyway: gt_render_failed).
    """
    from PIL import Image

    from rlrf.models.generate import generate_svgs
    from rlrf.models.prompts import Decoding

    generate = generate or generate_svgs
    decoding = Decoding(cfg.max_new_tokens, cfg.do_sample, cfg.temperature, cfg.batch_size, task)
    white = Image.fromarray(blank_image(image_size))

    def predict(rows: pa.Table) -> list[Prediction]:
        images = None
        if task == "img2svg":
            inputs = render_inputs([s or "" for s in _column(rows, "svg", "")], image_size, render_limits)
            images = [img if img is not None else white for img in inputs]
        captions = [c or "" for c in _column(rows, "caption", "")]
        return generate(model, processor, images, captions, decoding)

    return predict
