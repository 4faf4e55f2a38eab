#!/usr/bin/env python
"""Pretrain the embedded default's tiny base model on a larger, disjoint icon corpus.

The tiny recipe's own train split (~570 curated rows) is too small for a random-init model
to learn to read its input image: SFT from scratch drew scattered fragments and did not
beat a blank canvas (README, issue #9). The paper starts from a pretrained VLM; the
embedded stand-in is this base, trained image → SVG on ~9k icons that share no package
with `data/corpus/` and then fine-tuned by `make run`'s SFT like any pretrained model.

Steps (all seeded, lengths in optimiser steps, so a rerun reproduces the weights):

1. `npm pack` the pinned Iconify sets below (each icon set's own package,
   `@iconify-json/<prefix>`, the same data as `@iconify/json`) and write every icon as an
   SVG into a corpus Parquet (`rlrf.data.corpus` schema), dropping any SVG that is also
   in `data/corpus/` (sha256 of the cleaned text).
2. Curate the tiny recipe (`tokenizer.name_or_path: null`) to get the tokenizer `make run`
   trains on the embedded train split; the base keeps exactly that vocabulary.
3. Curate the icon corpus with the tiny recipe's rules (64-grid redraw, length limits) and
   run the ordinary SFT stage on it with the tiny model's architecture.
4. Copy the model, processor and tokenizer to `--out` (default `models/tiny-base`) with
   `MANIFEST.json` (packages, versions, sha256, rows, steps, losses) and `loss_curve.csv`.

Run:  .venv/bin/python scripts/pretrain_base.py [--cache-dir DIR] [--steps N]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from build_corpus import Source, fetch, sha256  # noqa: E402

from rlrf.data.clean import clean_svg  # noqa: E402
from rlrf.data.corpus import CORPUS_SCHEMA  # noqa: E402

log = logging.getLogger("pretrain_base")

# Icon sets with no package in common with data/corpus/SOURCES.md (no bootstrap, simple
# icons, tabler, lucide, twemoji, openmoji, flags): filled black icons like most test rows,
# and flat colour icons / emoji for the colourful ones.
ICONIFY: list[Source] = [
    Source("iconify_mdi", "icon", "npm", "@iconify-json/mdi", "1.2.3", "Apache-2.0",
           "Material Design Icons, (c) Pictogrammers, Apache 2.0, https://pictogrammers.com", 0, "iconify"),
    Source("iconify_fa6_solid", "icon", "npm", "@iconify-json/fa6-solid", "1.2.4", "CC-BY-4.0",
           "Font Awesome Free 6 solid, (c) Fonticons, Inc., CC BY 4.0, https://fontawesome.com", 0, "iconify"),
    Source("iconify_flat_color_icons", "icon", "npm", "@iconify-json/flat-color-icons", "1.2.3", "MIT",
           "Flat Color Icons, (c) Icons8, MIT, https://github.com/icons8/flat-color-icons", 0, "iconify"),
    Source("iconify_fluent_emoji_flat", "emoji", "npm", "@iconify-json/fluent-emoji-flat", "1.2.6", "MIT",
           "Fluent Emoji (flat), (c) Microsoft Corporation, MIT, https://github.com/microsoft/fluentui-emoji", 0,
           "iconify"),
]


def iconify_svgs(icons_json: Path) -> list[tuple[str, str]]:
    """(name, svg) of every non-hidden icon of an Iconify JSON set, sorted by name."""
    data = json.loads(icons_json.read_text())
    out = []
    for name, icon in sorted(data["icons"].items()):
        if icon.get("hidden"):
            continue
        left, top = icon.get("left", data.get("left", 0)), icon.get("top", data.get("top", 0))
        w, h = icon.get("width", data.get("width", 16)), icon.get("height", data.get("height", 16))
        out.append((name, f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
                          f'viewBox="{left} {top} {w} {h}">{icon["body"]}</svg>'))
    return out


def build_corpus(cache: Path, out: Path) -> dict:
    """Write the pretraining corpus Parquet; return its manifest entry."""
    bundled = pq.read_table(REPO / "data/corpus/corpus.parquet", columns=["svg"]).column("svg").to_pylist()
    seen = {hashlib.sha256(s.encode()).hexdigest() for s in bundled}
    rows, packages = [], []
    for src in ICONIFY:
        archive, root = fetch(src, cache)
        kept = dropped = overlap = 0
        for name, raw in iconify_svgs(root / "icons.json"):
            svg = clean_svg(raw)
            if svg is None:
                dropped += 1
                continue
            if hashlib.sha256(svg.encode()).hexdigest() in seen:
                overlap += 1
                continue
            rows.append({"sample_id": f"{src.name}/{name}", "source": src.name, "kind": src.kind,
                         "license": src.license, "origin": f"{src.package}@{src.version}:{name}",
                         "caption": name.replace("-", " "), "svg": svg})
            kept += 1
        packages.append({"source": src.name, "package": src.package, "version": src.version,
                         "license": src.license, "attribution": src.attribution, "sha256": sha256(archive),
                         "rows": kept, "clean_failed": dropped, "in_bundled_corpus": overlap})
        log.info("%s: %d icons (%d failed cleaning, %d also in data/corpus)", src.name, kept, dropped, overlap)
    table = pa.Table.from_pylist(rows, schema=CORPUS_SCHEMA)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out, compression="zstd")
    return {"rows": len(rows), "packages": packages}


def run_stages(recipe: dict, path: Path, stages: str) -> dict[str, Path]:
    """Run `rlrf run` on a recipe dict; return each stage's newest finished folder (a stage
    whose inputs did not change is reused from an earlier run folder)."""
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    subprocess.run([sys.executable, "-m", "flows.cli", "run", "--recipe", str(path), "--stages", stages],
                   cwd=REPO, check=True)
    root = Path(recipe["artifacts_dir"]) / recipe["name"]
    return {stage: sorted(root.glob(f"2*/{stage}/_manifest.json"))[-1].parent for stage in stages.split(",")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipe", default="tiny", help="recipe whose tokenizer, curation rules and model shape the base takes")
    ap.add_argument("--out", type=Path, default=REPO / "models/tiny-base")
    ap.add_argument("--work", type=Path, default=REPO / "artifacts/pretrain", help="corpus and stage folders")
    ap.add_argument("--cache-dir", type=Path, default=None, help="keep and reuse the downloaded packages")
    ap.add_argument("--steps", type=int, default=2000, help="optimiser steps of pretraining")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--learning-rate", type=float, default=2e-3)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)

    tmp = tempfile.TemporaryDirectory(prefix="rlrf-iconify-") if args.cache_dir is None else None
    cache = Path(tmp.name) if tmp else args.cache_dir
    try:
        corpus = build_corpus(cache, work / "corpus.parquet")
    finally:
        if tmp:
            tmp.cleanup()

    base = yaml.safe_load((REPO / "recipes" / f"{args.recipe}.yaml").read_text())
    # 2. the embedded train split's tokenizer, trained the way `make run` would without a base
    tok_recipe = {**base, "artifacts_dir": str(work / "tokenizer"),
                  "tokenizer": {**base.get("tokenizer", {}), "name_or_path": None},
                  "model": {**base["model"], "name_or_path": None}}
    tok_dir = run_stages(tok_recipe, work / "tokenizer.yaml", "curate")["curate"] / "tokenizer"

    # 3. curate the icons with the same rules, then the ordinary SFT stage on them
    sources = [s.name for s in ICONIFY]
    pre = {**tok_recipe, "name": "pretrain", "artifacts_dir": str(work / "runs"),
           "data": {**base["data"], "bundled_path": str(work / "corpus.parquet"), "sources": sources,
                    "ood_sources": {"ood_emoji": [], "ood_fonts": [], "ood_icons": []}},
           "curate": {**base["curate"], "rl_size": 16, "test_size": 16, "test_hard_size": 16,
                      "test_fraction": 0.01, "test_plain_fraction": 0.01},
           "tokenizer": {**base.get("tokenizer", {}), "name_or_path": str(tok_dir)},
           "sft": {**base["sft"], "max_steps": args.steps, "batch_size": args.batch_size,
                   "learning_rate": args.learning_rate, "save_steps": 400, "time_budget_s": None}}
    stage = run_stages(pre, work / "pretrain.yaml", "curate,sft")

    # 4. the base: model + processor + tokenizer, manifest, loss curve
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    for f in sorted((stage["sft"] / "model").iterdir()):
        if f.name != "training_args.bin":
            shutil.copy2(f, args.out / f.name)
    log_rows = pq.read_table(stage["sft"] / "train_log.parquet").to_pylist()
    losses = [(r["step"], r["loss"]) for r in log_rows if r.get("loss") is not None]
    with (args.out / "loss_curve.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "loss"])
        w.writerows((s, round(v, 4)) for s, v in losses)
    samples = pq.read_table(stage["curate"] / "samples.parquet", columns=["source", "split"]).to_pylist()
    summary = json.loads((stage["sft"] / "summary.json").read_text()) if (stage["sft"] / "summary.json").exists() else {}
    manifest = {
        "built_by": "scripts/pretrain_base.py",
        "recipe": args.recipe,
        "corpus": corpus,
        "curated_rows": {split: sum(1 for r in samples if r["split"] == split) for split in sorted({r["split"] for r in samples})},
        "sft": {"steps": args.steps, "batch_size": args.batch_size, "learning_rate": args.learning_rate,
                "seed": base.get("seed", 0), "loss_first": losses[0][1] if losses else None,
                "loss_last": losses[-1][1] if losses else None, "seconds": summary.get("seconds")},
        "model_sha256": sha256(args.out / "model.safetensors"),
    }
    (args.out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    log.info("wrote %s (%s)", args.out, json.dumps(manifest["sft"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
