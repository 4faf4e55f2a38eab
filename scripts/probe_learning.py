"""Probe: does RLRF beat SFT on held-out icons with the tiny CPU model?

Trains a tokenizer, runs SFT and GRPO under time budgets, then decodes the held-out rows
greedily with both models and compares pixel MSE / SSIM (failed renders count as a white
canvas). Usage:

    .venv/bin/python scripts/probe_learning.py --svg-dir /tmp/bi/package/icons --seed 0
    .venv/bin/python scripts/probe_learning.py --corpus data/corpus/corpus.parquet

Or judge a finished pipeline run (curate + sft + grpo under one run folder) the way the
eval stage does (same rows, greedy, StarVector MSE / SSIM, failed render = white):

    .venv/bin/python scripts/probe_learning.py --run-dir artifacts/tiny/<run> --recipe-file recipes/tiny.yaml

Prints one JSON line with the numbers; writes everything under --out.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from skimage.metrics import structural_similarity

from rlrf.models.factory import load_trained
from rlrf.models.generate import generate_svgs
from rlrf.models.tokenizer import train_tokenizer
from rlrf.recipe import parse_recipe
from rlrf.svg.extract import extract_svg
from rlrf.train.data import render_input
from rlrf.train.grpo import run_grpo
from rlrf.train.sft import run_sft


def load_rows(args) -> list[dict]:
    if args.corpus:
        t = pq.read_table(
            args.corpus, columns=["sample_id", "source", "caption", "svg"]
        ).to_pylist()
    else:
        t = [
            {
                "sample_id": p.stem,
                "source": "dir",
                "caption": p.stem.replace("-", " "),
                "svg": p.read_text(),
            }
            for p in sorted(Path(args.svg_dir).glob("*.svg"))
        ]
    rows = []
    for r in t:
        svg = re.sub(r'\s*class="[^"]*"', "", r["svg"])
        svg = re.sub(r"\s+", " ", svg).strip()
        if len(svg) <= args.max_chars and "fill" in svg:
            rows.append(
                {
                    **r,
                    "svg": svg,
                    "split": "train",
                    "n_tokens": 0,
                    "width": 0,
                    "height": 0,
                    "color_entropy": 0.0,
                }
            )
    return rows


def score(svgs: list[str | None], gts: list[str], size: int) -> dict:
    mse, ssim, valid = [], [], 0
    for pred, gt in zip(svgs, gts, strict=True):
        g = np.asarray(render_input(gt, size), dtype=np.float64) / 255
        im = render_input(pred, size) if pred else None
        valid += im is not None
        p = np.asarray(im, dtype=np.float64) / 255 if im is not None else np.ones_like(g)
        mse.append(float(((p - g) ** 2).mean()))
        ssim.append(float(structural_similarity(p, g, channel_axis=2, data_range=1.0)))
    return {"mse": float(np.mean(mse)), "ssim": float(np.mean(ssim)), "valid": valid, "n": len(gts)}


def judge_run(run_dir: Path, recipe_file: str, splits: list[str]) -> dict:
    """SFT vs RLRF on a pipeline run's curated splits with the eval stage's own code."""
    from rlrf.eval.metrics import MetricModels
    from rlrf.eval.run import evaluate_split, model_predictor
    from rlrf.eval.stage import eval_rows
    from rlrf.recipe import load_recipe

    recipe = load_recipe(recipe_file)
    samples = pq.read_table(run_dir / "curate" / "samples.parquet")
    result: dict = {"run": str(run_dir)}
    for stage in ("sft", "grpo"):
        summary = run_dir / stage / "_manifest.json"
        if summary.exists():
            result[f"{stage}_manifest"] = json.loads(summary.read_text()).get("summary")
    for label, stage in (("sft", "sft"), ("rlrf", "grpo")):
        model, proc = load_trained(run_dir / stage / "model")
        predict = model_predictor(
            model, proc, recipe.eval, recipe.render, image_size=recipe.model.image_size
        )
        for split in splits:
            rows = eval_rows(samples, split, recipe.eval.max_samples_per_split, recipe.seed)
            t1 = time.perf_counter()
            _, m = evaluate_split(
                label, rows, predict, recipe.eval, recipe.render, metric_models=MetricModels()
            )
            ok = m.column("render_ok").to_pylist()
            result[f"{label}/{split}"] = {
                "n": m.num_rows,
                "valid": int(sum(ok)),
                "mse": float(np.mean(m.column("mse").to_pylist())),
                "ssim": float(np.mean(m.column("ssim").to_pylist())),
                "seconds": time.perf_counter() - t1,
            }
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run-dir", default=None, help="judge a finished pipeline run instead")
    ap.add_argument("--recipe-file", default="recipes/tiny.yaml")
    ap.add_argument("--splits", default="test")
    ap.add_argument("--svg-dir", default="/tmp/bi/package/icons")
    ap.add_argument("--corpus", default=None)
    ap.add_argument("--max-chars", type=int, default=400)
    ap.add_argument("--n-test", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sft-s", type=float, default=300)
    ap.add_argument("--grpo-s", type=float, default=300)
    ap.add_argument("--out", default="artifacts/probe_learning")
    ap.add_argument("--recipe", default="{}", help="JSON overrides merged into the probe recipe")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    if args.run_dir:
        res = judge_run(Path(args.run_dir), args.recipe_file, args.splits.split(","))
        print(json.dumps(res, default=str))
        return

    rows = load_rows(args)
    random.Random(args.seed).shuffle(rows)
    test, train = rows[: args.n_test], rows[args.n_test :]
    recipe = {
        "name": "probe",
        "seed": args.seed,
        "device": "cpu",
        "tokenizer": {"vocab_size": 1024},
        "model": {
            "image_size": 112,
            "hidden_size": 256,
            "num_hidden_layers": 4,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "intermediate_size": 768,
            "vision_hidden_size": 96,
            "vision_num_heads": 4,
            "vision_depth": 2,
        },
        "sft": {
            "epochs": 100,
            "learning_rate": 2e-3,
            "batch_size": 16,
            "max_length": 512,
            "logging_steps": 10,
            "save_steps": 100000,
            "time_budget_s": args.sft_s,
            "lr_scheduler": "constant",
        },
        "rewards": [{"name": "l2", "weight": 1.0}, {"name": "l2_canny", "weight": 1.0}],
        "grpo": {
            "max_steps": 100000,
            "learning_rate": 5e-5,
            "prompts_per_step": 4,
            "num_generations": 8,
            "temperature": 1.0,
            "epsilon": 0.2,
            "max_length_margin": 16,
            "max_completion_length": 256,
            "save_steps": 100000,
            "time_budget_s": args.grpo_s,
            "lr_decay_steps": 100,
        },
    }
    for section, values in json.loads(args.recipe).items():
        recipe[section] = (
            {**recipe.get(section, {}), **values} if isinstance(values, dict) else values
        )
    r = parse_recipe(recipe)
    out = Path(args.out) / f"seed{args.seed}"
    shutil.rmtree(out, ignore_errors=True)
    table = pa.Table.from_pylist(train)
    tok = train_tokenizer([x["svg"] for x in train], r.tokenizer)
    tok.save_pretrained(out / "tokenizer")

    t0 = time.perf_counter()
    sft = run_sft(r, table, out / "tokenizer", out / "sft")
    grpo = run_grpo(r, table, out / "sft" / "model", out / "grpo")
    train_s = time.perf_counter() - t0

    images = [render_input(x["svg"], r.model.image_size) for x in test]
    gts = [x["svg"] for x in test]
    result = {
        "seed": args.seed,
        "n_train": len(train),
        "train_s": train_s,
        "sft": sft,
        "grpo": grpo,
    }
    for label, d in (("sft_eval", out / "sft" / "model"), ("rlrf_eval", out / "grpo" / "model")):
        model, proc = load_trained(d)
        t1 = time.perf_counter()
        gen = generate_svgs(
            model,
            proc,
            images,
            None,
            max_new_tokens=r.grpo.max_completion_length,
            do_sample=False,
            batch_size=16,
        )
        result[label] = {
            **score([extract_svg(t) for t, _, _ in gen], gts, r.model.image_size),
            "seconds": time.perf_counter() - t1,
        }
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
