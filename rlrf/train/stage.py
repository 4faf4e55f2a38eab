"""The sft and grpo stages: `run_sft` / `run_grpo(recipe, upstream, out_dir) -> summary`,
the same shape as every stage (`rlrf.eval.stage.run_eval`).

In process by default; with `launch.accelerate_config` (SFT: `launch.sft_accelerate_config`,
e.g. multi-node) the stage runs the same trainer under `accelerate launch` (multi-GPU,
DeepSpeed) and reads back the main process's summary. This module is also the entry point
of every process of such a job:

    accelerate launch --config_file recipes/accelerate/zero3.yaml -m rlrf.train.stage \\
        --recipe qwen2.5-vl-7b --stage grpo --out <stage dir> --curate <dir> [--sft <dir>]

Every rank trains; TRL/accelerate make only the main process write files.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rlrf.config import Recipe, repo_root
from rlrf.recipe import load_recipe

log = logging.getLogger(__name__)


def split_rows(curate_dir: Path, split: str):
    samples = pq.read_table(Path(curate_dir) / "samples.parquet")
    return samples.filter(pc.equal(samples["split"], split))


def rl_rows(recipe: Recipe, curate_dir: Path) -> pa.Table:
    """The curated `rl` split, then the recipe's caption-only prompt sets (`grpo.prompt_sets`:
    sample_id, caption, svg None), as the columns GRPO reads."""
    from rlrf.data.sources import load_text2svg_set

    cols = ["sample_id", "caption", "svg"]
    rows = split_rows(curate_dir, "rl")
    parts = [rows.select(cols).cast(pa.schema([(c, pa.string()) for c in cols]))]
    for ps in recipe.grpo.prompt_sets:
        extra = load_text2svg_set(ps.name, ps.path, ps.split, ps.max_rows).select(cols)
        parts.append(extra.cast(parts[0].schema))
        log.info("grpo: %d caption-only prompts from %s", extra.num_rows, ps.name)
    return pa.concat_tables(parts)


def run_sft(recipe: Recipe, upstream: dict[str, Path], out_dir: Path) -> dict:
    """The sft stage: SVG-SFT on the curated `train` split (upstream: curate)."""
    return _run("sft", recipe, upstream, out_dir)


def run_grpo(recipe: Recipe, upstream: dict[str, Path], out_dir: Path) -> dict:
    """The grpo stage: RLRF on the curated `rl` split from the SFT model, or from the base
    model with `grpo.init: base` (upstream: curate, sft)."""
    return _run("grpo", recipe, upstream, out_dir)


def _run(stage: str, recipe: Recipe, upstream: dict[str, Path], out_dir: Path) -> dict:
    if recipe.launch.config_for(stage) is None:
        return train_stage(recipe, stage, out_dir, upstream["curate"], upstream.get("sft"))
    cmd = launch_command(recipe, stage, out_dir, upstream)
    log.info("%s: %s", stage, " ".join(cmd))
    subprocess.run(cmd, check=True)
    return json.loads((Path(out_dir) / "launch.json").read_text())


def train_stage(recipe: Recipe, stage: str, out_dir: Path, curate_dir: Path, sft_dir: Path | None) -> dict:
    """One training stage in this process (every rank of a launched job runs this)."""
    if stage == "sft":
        from rlrf.train.sft import train_sft

        return train_sft(recipe, split_rows(curate_dir, "train"), curate_dir / "tokenizer", out_dir)
    if stage == "grpo":
        from rlrf.train.grpo import train_grpo

        if recipe.grpo.init == "base":
            model, processor = base_model(recipe, Path(curate_dir) / "tokenizer")
            if model.name_or_path:  # pretrained: TRL loads a KL reference model (beta > 0) from the same id
                summary = train_grpo(recipe, rl_rows(recipe, curate_dir), None, out_dir, init=(model, processor))
            else:  # random init has no id: saved, so the trainer and its reference model load the same weights
                init_dir = save_base_model(model, processor, Path(out_dir) / "base_model")
                summary = train_grpo(recipe, rl_rows(recipe, curate_dir), init_dir, out_dir)
            return {**summary, "init": "base"}
        if sft_dir is None:
            raise ValueError("--sft is required for the grpo stage")
        return train_grpo(recipe, rl_rows(recipe, curate_dir), sft_dir / "model", out_dir)
    raise ValueError(f"unknown training stage {stage!r} (sft or grpo)")


def base_model(recipe: Recipe, tokenizer_dir: Path):
    """(model, processor) that SFT starts from, for `grpo.init: base` (RLRF without SVG-SFT):
    the very weights, tokenizer and processor of `rlrf.train.sft.initial_model`, whatever the
    model family."""
    from rlrf.train.sft import initial_model

    return initial_model(recipe, tokenizer_dir)


def save_base_model(model, processor, target: Path) -> Path:
    """Save once: every process of a multi-process launch writes its own temporary folder and
    the first rename wins (the contents are identical)."""
    import shutil
    import tempfile

    target = Path(target)
    if not (target / "config.json").exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
        model.save_pretrained(str(tmp))
        processor.save_pretrained(str(tmp))
        try:
            shutil.rmtree(target, ignore_errors=True)  # a half-written folder of an interrupted run
            tmp.rename(target)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def launch_command(recipe: Recipe, stage: str, out_dir: Path, upstream: dict[str, Path],
                   python: str = sys.executable) -> list[str]:
    """The `accelerate launch` command line for `stage`. It reads the resolved recipe the
    flow saved as out_dir/recipe.yaml (overrides included); its summary lands in
    out_dir/launch.json."""
    cfg = recipe.launch
    config = cfg.config_for(stage)
    if config is None:
        raise ValueError(f"launch: no accelerate config for the {stage} stage")
    cmd = [python, "-m", "accelerate.commands.launch", "--config_file", str(repo_root() / config)]
    if cfg.num_processes:
        cmd += ["--num_processes", str(cfg.num_processes)]
    cmd += [*cfg.extra_args, "-m", "rlrf.train.stage", "--recipe", str(out_dir / "recipe.yaml"), "--stage", stage,
            "--out", str(out_dir), "--curate", str(upstream["curate"])]
    if "sft" in upstream:
        cmd += ["--sft", str(upstream["sft"])]
    return cmd


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", required=True)
    ap.add_argument("--stage", required=True, choices=("sft", "grpo"))
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--curate", required=True, type=Path)
    ap.add_argument("--sft", type=Path)
    args = ap.parse_args(argv)
    summary = train_stage(load_recipe(args.recipe), args.stage, args.out, args.curate, args.sft)
    from accelerate import PartialState

    if PartialState().is_main_process:
        (args.out / "launch.json").write_text(json.dumps(summary, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
