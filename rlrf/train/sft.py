"""Supervised fine-tuning: image (or caption) → SVG code, loss on the SVG only (RLRF §3.1).

Reads top to bottom like open-r1's `sft.py`: recipe → tokenizer/processor/model → data →
TRL `SFTTrainer` → train (resuming from the newest checkpoint) → save → train_log.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from transformers import set_seed
from trl import SFTConfig as TrlSFTConfig
from trl import SFTTrainer

from rlrf.config import Recipe
from rlrf.models.device import is_cpu
from rlrf.models.families import family_for, tokenizer_of
from rlrf.models.tokenizer import load_tokenizer
from rlrf.train.callbacks import TimeBudgetCallback, TrainTables
from rlrf.train.checkpoints import StrictResume, checkpoint_step, last_complete_checkpoint
from rlrf.train.data import sft_dataset

log = logging.getLogger(__name__)


class RLRFSFTTrainer(StrictResume, SFTTrainer):
    """TRL's `SFTTrainer` whose resume loads every tensor of the checkpoint (or fails)."""


def use_cpu(recipe: Recipe) -> bool:
    return is_cpu(recipe.device)


def trl_config(cls, recipe: Recipe, stage: str, fields: dict):
    """TRL's config class `cls` over the stage's `trl` mapping (RLRF's defaults under it) and
    the `fields` RLRF sets itself: device and precision (CPU: fp32 and no gradient
    checkpointing), checkpoint retention, logging, and the stage's own (`fields`). TRL's class
    checks every name and value; `trl` may not set what RLRF sets. DeepSpeed is the accelerate
    config's (`launch.accelerate_config`), which accelerate hands the trainer."""
    section = getattr(recipe, stage)
    cpu = use_cpu(recipe)
    fields = {**fields, "seed": recipe.seed, "use_cpu": cpu, "bf16": not cpu and recipe.model.dtype == "bfloat16",
              "save_total_limit": 2, "report_to": "none", "disable_tqdm": True}
    clash = sorted(set(section.trl) & set(fields))
    if clash:
        raise ValueError(f"{stage}.trl sets {clash}, which RLRF sets from the recipe's {stage} section")
    trl = section.trl_fields()
    if cpu:
        trl["gradient_checkpointing"] = False
    try:
        return cls(**trl, **fields)
    except TypeError as exc:  # an unknown name: TRL's own message, with where it came from
        raise ValueError(f"{stage}.trl: {exc}") from None


def sft_args(recipe: Recipe, output_dir: Path) -> TrlSFTConfig:
    """TRL arguments from the recipe's sft section; completion-only loss: the prompt is
    masked out."""
    fields = {"output_dir": str(output_dir), "completion_only_loss": True, "dataloader_num_workers": 0}
    return trl_config(TrlSFTConfig, recipe, "sft", fields)


def initial_model(recipe: Recipe, tokenizer_dir: Path):
    """(model, processor) SFT starts from: seed, the curation's tokenizer, the recipe's family
    (random init for a tiny model, pretrained weights for a hub model). `grpo.init: base`
    starts RLRF from exactly these (rlrf.train.stage.base_model)."""
    set_seed(recipe.seed)
    tokenizer = load_tokenizer(recipe.tokenizer, tokenizer_dir)
    family = family_for(recipe.model)
    processor = family.build_processor(tokenizer, recipe.model)
    return family.build_model(recipe.model, tokenizer), processor


def train_sft(recipe: Recipe, train_rows: pa.Table, tokenizer_dir: Path, out_dir: Path, *, callbacks=None) -> dict:
    """Fine-tune the recipe's model on `train_rows`; write model/, checkpoints/, train_log.parquet."""
    out_dir = Path(out_dir)
    model, processor = initial_model(recipe, tokenizer_dir)
    dataset = sft_dataset(train_rows, recipe.model, recipe.sft.max_train_rows)
    log.info("SFT on %d rows (%s)", len(dataset), recipe.model.task)

    ckpt_dir = out_dir / "checkpoints"
    resume = last_complete_checkpoint(ckpt_dir)
    tables, budget = TrainTables("sft", out_dir, checkpoint_step(resume)), TimeBudgetCallback(recipe.sft.time_budget_s)
    trainer = RLRFSFTTrainer(
        model=model,
        args=sft_args(recipe, ckpt_dir),
        train_dataset=dataset,
        processing_class=processor if recipe.model.task == "img2svg" else tokenizer_of(processor),
        # tables are flushed before any caller's on_save sees the checkpoint
        callbacks=[tables, budget, *(callbacks or [])],
    )

    if resume:
        log.info("resuming SFT from %s", resume)
    t0 = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume)
    seconds = time.perf_counter() - t0

    model_dir = out_dir / "model"
    trainer.save_model(str(model_dir))
    processor.save_pretrained(str(model_dir))
    tables.flush()
    rows = pq.read_table(out_dir / "train_log.parquet").to_pylist()
    losses = [r["loss"] for r in rows if r.get("loss") is not None]
    return {
        "steps": int(trainer.state.global_step),
        "rows": len(dataset),
        "seconds": seconds,
        # a resumed run's own average covers only the steps after the checkpoint
        "train_loss": float(sum(losses) / len(losses)) if resume and losses else float(result.training_loss),
        "loss_first": losses[0] if losses else None,
        "loss_last": losses[-1] if losses else None,
        "stopped_by_time_budget": budget.hit,
        "notes": budget.note("sft"),
        "resumed_from": resume,
        "n_params": sum(p.numel() for p in model.parameters()),
    }
