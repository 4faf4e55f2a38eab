"""The eval stage: every system (SFT, RLRF, classical baselines) on every eval split,
with the same rows, the same decoding and the same metrics (paper §4, Tables 1–3).

Writes `predictions.parquet`, `metrics.parquet`, `report.html` and returns a summary
whose `notes` say loudly which metrics had no weights.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from transformers import set_seed

from rlrf.artifacts import atomic_write_bytes, connect_stages, write_table
from rlrf.config import Recipe
from rlrf.data.splits import random_sample
from rlrf.eval.baselines import BASELINES
from rlrf.eval.labels import BLANK, BLANK_SVG, GREEDY, MODEL_STAGES, model_label, valid_labels
from rlrf.eval.metrics import MetricModels, load_metric_models
from rlrf.eval.report import write_report
from rlrf.eval.run import baseline_predictor, evaluate_split, model_predictor
from rlrf.models.device import free_accelerator_memory, resolve_device

log = logging.getLogger(__name__)

def blank_predictor(rows: pa.Table):
    return [(BLANK_SVG, 0, 0.0)] * rows.num_rows


def eval_rows(samples: pa.Table, split: str, max_samples: int | None, seed: int) -> pa.Table:
    """The split's rows in a fixed order; a seeded sample when capped (same for all models)."""
    rows = samples.filter(pc.equal(samples["split"], split)).sort_by("sample_id")
    if max_samples is not None and rows.num_rows > max_samples:
        rows = rows.take(pa.array(random_sample(rows.num_rows, max_samples, seed)))
    return rows


def _predictor(label: str, recipe: Recipe, upstream: dict[str, Path]):
    if label in BASELINES:
        return baseline_predictor(label, recipe.eval, recipe.render)
    if label == BLANK:
        return blank_predictor
    base = label.removesuffix(GREEDY)
    if base not in MODEL_STAGES:
        raise ValueError(f"eval.models: unknown model label {label!r}; valid: {', '.join(valid_labels())}")
    from rlrf.models.families import family_of_dir, load_trained

    stage = MODEL_STAGES[base]
    if stage not in upstream:
        raise FileNotFoundError(f"eval.models lists {label!r} but no finished '{stage}' stage was given")
    # *_greedy labels: the same model decoded greedily, whatever eval.do_sample says
    cfg = recipe.eval.model_copy(update={"do_sample": False}) if label.endswith(GREEDY) else recipe.eval
    model_dir = upstream[stage] / "model"
    use_vllm = recipe.grpo.trl_value("use_vllm") if recipe.eval.use_vllm is None else recipe.eval.use_vllm
    if use_vllm:
        from rlrf.models.vllm_generate import VLLM_FAMILIES

        family = family_of_dir(model_dir)
        if family.name in VLLM_FAMILIES:
            return _vllm_predictor(recipe, cfg, model_dir, family)
        log.warning("eval: family %s has no vLLM architecture; decoding with HF generate on %s",
                    family.name, resolve_device(recipe.device))
    model, processor = load_trained(model_dir)
    model.to(resolve_device(recipe.device)).eval()
    return model_predictor(model, processor, cfg, recipe.render,
                           image_size=recipe.model.image_size, task=recipe.model.task)


def _vllm_predictor(recipe: Recipe, cfg, model_dir: Path, family):
    from functools import partial

    from rlrf.models.vllm_generate import generate_svgs_vllm, load_vllm

    processor = family.load_processor(model_dir)
    llm = load_vllm(model_dir, recipe.eval.vllm_gpu_memory_utilization, recipe.seed, recipe.model.task)
    generate = partial(generate_svgs_vllm, input_side=family.input_side(processor))
    return model_predictor(llm, processor, cfg, recipe.render, image_size=recipe.model.image_size,
                           task=recipe.model.task, generate=generate)


@dataclass(frozen=True)
class EvalPart:
    """One system on one split: the unit eval runs, records and (when interrupted) resumes."""

    label: str
    split: str

    @property
    def name(self) -> str:
        return f"{self.label}.{self.split}"


def eval_parts(recipe: Recipe, upstream: dict[str, Path]) -> tuple[list[EvalPart], list[str]]:
    """Every (model, split) the recipe asks for, in report order, and notes on skipped splits."""
    present = set(pq.read_table(upstream["curate"] / "samples.parquet", columns=["split"])["split"].to_pylist())
    splits = [s for s in recipe.eval.splits if s in present]
    notes = [f"eval split '{s}' has no rows in this curation; skipped" for s in recipe.eval.splits
             if s not in present]
    parts = []
    for label in recipe.eval.models:
        only = recipe.eval.greedy_splits if label.endswith(GREEDY) else None
        parts += [EvalPart(label, s) for s in splits if only is None or s in only]
    return parts, notes


class _Loaded:
    """What eval parts of one process share: one model at a time (the previous one leaves
    the accelerator before the next loads), the learned metrics, the tokenizer."""

    key: tuple | None = None
    predict = None
    metric_key: tuple | None = None
    metric_models: MetricModels | None = None

    def predictor(self, label: str, recipe: Recipe, upstream: dict[str, Path]):
        key = (label, recipe.section_hash("eval", "model", "render", "grpo"), tuple(sorted(map(str, upstream.values()))))
        if key != self.key:
            self.key, self.predict = None, None
            free_accelerator_memory()
            self.predict = _predictor(label, recipe, upstream)
            self.key = key
        return self.predict

    def metrics(self, recipe: Recipe) -> MetricModels:
        key = (recipe.section_hash("eval", "model"), recipe.device)
        if key != self.metric_key:
            self.metric_models = load_metric_models(recipe.eval, device=str(resolve_device(recipe.device)),
                                                    task=recipe.model.task)
            self.metric_key = key
        return self.metric_models


_LOADED = _Loaded()


def _part_files(out_dir: Path, part: EvalPart) -> tuple[Path, Path, Path]:
    d = Path(out_dir) / "parts"
    return d / f"{part.name}.predictions.parquet", d / f"{part.name}.metrics.parquet", d / f"{part.name}.json"


def run_eval_part(recipe: Recipe, upstream: dict[str, Path], out_dir: Path, part: EvalPart) -> dict:
    """Score one system on one split into `out_dir/parts/`; a part already recorded there
    (an interrupted eval, resumed) is kept, not recomputed."""
    from rlrf.models.tokenizer import load_tokenizer

    pred_file, metrics_file, done = _part_files(out_dir, part)
    if done.exists():
        return json.loads(done.read_text())
    t = time.time()
    samples = pq.read_table(upstream["curate"] / "samples.parquet")
    rows = eval_rows(samples, part.split, recipe.eval.max_samples_per_split, recipe.seed)
    predict = _LOADED.predictor(part.label, recipe, upstream)
    metric_models = _LOADED.metrics(recipe)
    tokenizer = load_tokenizer(recipe.tokenizer, upstream["curate"] / "tokenizer")
    set_seed(recipe.seed)  # sampled decoding draws the same random stream for every model
    label = model_label(part.label, recipe)
    p, m = evaluate_split(label, rows, predict, recipe.eval, recipe.render, tokenizer,
                          metric_models=metric_models, task=recipe.model.task)
    write_table(p, pred_file)
    write_table(m, metrics_file)
    out = {"model_label": label, "split": part.split, "n": rows.num_rows, "seconds": time.time() - t,
           "notes": metric_models.notes()}
    atomic_write_bytes(done, json.dumps(out).encode())
    log.info("eval %s on %s: %d samples in %.1f s", label, part.split, rows.num_rows, out["seconds"])
    return out


def finish_eval(recipe: Recipe, upstream: dict[str, Path], out_dir: Path, parts: list[EvalPart],
                notes: list[str] | None = None, seconds: float | None = None) -> dict:
    """Gather the parts into `predictions` / `metrics`, write the report, summarise."""
    notes = list(notes or [])
    for part in parts:
        for note in json.loads(_part_files(out_dir, part)[2].read_text()).get("notes", []):
            if note not in notes:
                notes.append(note)
    write_table(pa.concat_tables([pq.read_table(_part_files(out_dir, p)[0]) for p in parts]),
                out_dir / "predictions.parquet")
    write_table(pa.concat_tables([pq.read_table(_part_files(out_dir, p)[1]) for p in parts]),
                out_dir / "metrics.parquet")
    con = connect_stages({**upstream, "eval": out_dir})
    try:
        report = write_report(con, out_dir, title=f"RLRF evaluation report: {recipe.name}",
                              render_limits=recipe.render, gallery_size=recipe.eval.gallery_size)
        means = con.execute(
            "SELECT model_label, dataset, count(*) AS n, avg(mse) AS mse, avg(ssim) AS ssim,"
            " avg(CASE WHEN render_ok THEN 0 ELSE 1 END) AS fail_rate"
            " FROM metrics GROUP BY ALL ORDER BY dataset, model_label"
        ).fetchall()
    finally:
        con.close()
    table = {f"{m}/{d}": {"n": n, "mse": mse, "ssim": ssim, "render_fail_rate": fr}
             for m, d, n, mse, ssim, fr in means}
    out = {"report": str(report), "means": table, "notes": notes}
    if seconds is not None:
        out["seconds"] = seconds
    return out


def run_eval(recipe: Recipe, upstream: dict[str, Path], out_dir: Path) -> dict:
    """The eval stage in one call: every part in turn, then `finish_eval` (the flow runs the
    same parts as one Prefect task each)."""
    t0 = time.time()
    parts, notes = eval_parts(recipe, upstream)
    for part in parts:
        run_eval_part(recipe, upstream, out_dir, part)
    return finish_eval(recipe, upstream, out_dir, parts, notes, seconds=time.time() - t0)
