"""Resuming from a checkpoint that is complete, and loading every tensor of it.

Two ways a resume went wrong before this module:

- transformers saves Qwen2.5-VL under its original key names (`model.embed_tokens…`,
  `visual.*`) and renames them only inside `from_pretrained`; the Trainer's own
  `_load_from_checkpoint` feeds the file to `load_state_dict(strict=False)`, so not one
  tensor loaded and training "resumed" from random weights with a warning. `StrictResume`
  loads through `from_pretrained` (the renaming path) and fails on any missing,
  unexpected or mismatched key.
- a checkpoint torn by a kill or a full disk was picked as "the last checkpoint" and
  failed the stage on every retry. `last_complete_checkpoint` resumes only from one
  whose trainer state and weights are whole, removing torn ones on the way.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import struct
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


class CheckpointMismatch(RuntimeError):
    """A checkpoint's tensors do not match the model being resumed."""


def _safetensors_problem(path: Path) -> str | None:
    """Header readable and the file as long as the header says (a cut file is shorter)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if n > size:
                return f"{path.name}: header length {n} beyond the file's {size} bytes"
            header = json.loads(f.read(n))
    except (OSError, struct.error, ValueError) as exc:
        return f"{path.name}: unreadable ({type(exc).__name__}: {exc})"
    end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
    if size != 8 + n + end:
        return f"{path.name}: {size} bytes, header says {8 + n + end}"
    return None


def checkpoint_problem(ckpt: Path) -> str | None:
    """Why `ckpt` cannot be resumed from, or None when trainer state and weights are whole.

    The Trainer writes trainer_state.json last, so a checkpoint cut short by a kill has
    none; weights and optimizer files are checked for truncation without loading them."""
    ckpt = Path(ckpt)
    try:
        state = json.loads((ckpt / "trainer_state.json").read_text())
        int(state["global_step"])
    except FileNotFoundError:
        return "no trainer_state.json (the checkpoint write did not finish)"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"unreadable trainer_state.json ({type(exc).__name__})"
    index = ckpt / "model.safetensors.index.json"
    if index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (OSError, ValueError, KeyError) as exc:
            return f"unreadable {index.name} ({type(exc).__name__})"
    elif (ckpt / "model.safetensors").is_file():
        shards = ["model.safetensors"]
    elif any(ckpt.glob("global_step*")):  # DeepSpeed keeps its own weights
        shards = []
    else:
        return "no model weights"
    for shard in shards:
        if not (ckpt / shard).is_file():
            return f"missing weight shard {shard}"
        if problem := _safetensors_problem(ckpt / shard):
            return problem
    for name in ("optimizer.pt", "scheduler.pt", "rng_state.pth"):
        p = ckpt / name
        if p.exists() and not zipfile.is_zipfile(p):  # torch.save writes a zip; a cut one has no directory
            return f"{name} is truncated"
    return None


def checkpoints(ckpt_dir: Path) -> list[Path]:
    """`checkpoint-N` folders, highest N first."""
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in ckpt_dir.iterdir() if p.is_dir() and (m := _CHECKPOINT.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def last_complete_checkpoint(ckpt_dir: Path) -> str | None:
    """The newest checkpoint that can be resumed from; torn ones above it are removed
    (they would otherwise be picked again, and the Trainer rewrites that step anyway)."""
    for ckpt in checkpoints(ckpt_dir):
        problem = checkpoint_problem(ckpt)
        if problem is None:
            return str(ckpt)
        log.warning("skipping torn checkpoint %s: %s; removing it", ckpt, problem)
        shutil.rmtree(ckpt, ignore_errors=True)
    return None


def checkpoint_step(ckpt: str | Path | None) -> int | None:
    return int(_CHECKPOINT.match(Path(ckpt).name).group(1)) if ckpt else None


def load_strict(model, ckpt: str | Path) -> None:
    """Copy every tensor of the checkpoint into `model`, or raise `CheckpointMismatch`.

    `from_pretrained` applies the model class's key renaming (the saved names differ
    from the module names); `load_state_dict(strict=True)` then checks the other way."""
    loaded, info = type(model).from_pretrained(str(ckpt), dtype=model.dtype, output_loading_info=True)
    problems = {k: sorted(v)[:8] for k in ("missing_keys", "unexpected_keys", "mismatched_keys") if (v := info.get(k))}
    if problems:
        raise CheckpointMismatch(f"{ckpt}: checkpoint does not match the model: {problems}")
    try:
        model.load_state_dict(loaded.state_dict(), strict=True)
    except RuntimeError as exc:
        raise CheckpointMismatch(f"{ckpt}: {exc}") from exc
    log.info("resumed every tensor (%d) from %s", len(loaded.state_dict()), ckpt)


class StrictResume:
    """Trainer mixin: resume loads every tensor of the checkpoint or fails loudly."""

    def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
        if self.is_deepspeed_enabled or self.is_fsdp_enabled:  # their loaders are strict already
            return super()._load_from_checkpoint(resume_from_checkpoint, model)
        load_strict(model if model is not None else self.model, resume_from_checkpoint)
