"""Resuming SFT and GRPO after a kill: every tensor loads, and the resumed run reaches the
same model and train_log as a run that was never interrupted (same seed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch
from safetensors.torch import load_file, save_file

from rlrf.train.checkpoints import CheckpointMismatch, last_complete_checkpoint, load_strict
from tests.reliability.conftest import run_worker
from tests.reliability.worker import StopAfterSave, run

pytestmark = pytest.mark.slow


def tensors(model_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(str(Path(model_dir) / "model.safetensors"))


def assert_same_model(a: Path, b: Path) -> None:
    ta, tb = tensors(a), tensors(b)
    assert ta.keys() == tb.keys()
    differ = [k for k in ta if not torch.equal(ta[k], tb[k])]
    assert not differ, f"{len(differ)} of {len(ta)} tensors differ, e.g. {differ[:3]}"


def log_rows(stage_dir: Path) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in pq.read_table(stage_dir / "train_log.parquet").to_pylist()}


@pytest.mark.parametrize("kill_after", [4])
def test_sft_killed_after_a_checkpoint_resumes_to_the_same_model(kill_after, straight_sft, tok_dir, tmp_path, fault):
    fault["fault"] = f"kill -9 of SFT right after checkpoint {kill_after} of 4"
    out = tmp_path / "sft"
    proc = run_worker("sft", out, tok_dir, kill_after)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert not (out / "model").exists()
    # the train_log is written at each checkpoint: rows up to the kill survive it
    assert sorted(log_rows(out)) == list(range(1, kill_after + 1))

    summary = run("sft", out, tok_dir)
    assert summary["resumed_from"].endswith(f"checkpoint-{kill_after}")
    assert summary["steps"] == 4 and summary["train_loss"] > 0
    assert_same_model(out / "model", straight_sft / "model")
    straight, resumed = log_rows(straight_sft), log_rows(out)
    fault["rows_lost"] = len(set(straight) - set(resumed))
    assert sorted(resumed) == sorted(straight)
    assert resumed == pytest.approx(straight, rel=1e-5)


def test_grpo_interrupted_after_a_checkpoint_resumes_to_the_same_model(straight_sft, tmp_path, fault):
    fault["fault"] = "GRPO interrupted right after checkpoint 2 of 4"
    sft_model = straight_sft / "model"
    run("grpo", tmp_path / "straight", sft_model)
    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        run("grpo", out, sft_model, [StopAfterSave(2)])
    summary = run("grpo", out, sft_model)
    assert summary["resumed_from"].endswith("checkpoint-2") and summary["steps"] == 4
    assert_same_model(out / "model", tmp_path / "straight" / "model")
    straight, resumed = log_rows(tmp_path / "straight"), log_rows(out)
    fault["rows_lost"] = len(set(straight) - set(resumed))
    assert resumed == pytest.approx(straight, rel=1e-5)
    rollouts = pq.read_table(out / "rollouts.parquet").column("step").to_pylist()
    assert sorted(set(rollouts)) == [1, 2, 3, 4]


def test_a_checkpoint_that_does_not_match_fails_loudly(straight_sft, tmp_path, fault):
    fault["fault"] = "resume from a checkpoint with a missing tensor"
    from rlrf.models.families import load_trained

    ckpt = tmp_path / "checkpoint-4"
    shutil.copytree(straight_sft / "checkpoints" / "checkpoint-4", ckpt)
    weights = tensors(ckpt)
    weights.pop(sorted(weights)[-1])
    save_file(weights, str(ckpt / "model.safetensors"), metadata={"format": "pt"})
    model, _ = load_trained(straight_sft / "model")
    with pytest.raises(CheckpointMismatch, match="missing"):
        load_strict(model, ckpt)


def test_a_torn_checkpoint_is_skipped_for_the_previous_one(straight_sft, tmp_path, tok_dir, fault):
    fault["fault"] = "checkpoint torn mid-write (weights cut short, no trainer state)"
    out = tmp_path / "sft"
    shutil.copytree(straight_sft / "checkpoints", out / "checkpoints")
    torn = out / "checkpoints" / "checkpoint-4"
    data = (torn / "model.safetensors").read_bytes()
    (torn / "model.safetensors").write_bytes(data[: len(data) // 2])
    assert last_complete_checkpoint(out / "checkpoints").endswith("checkpoint-2")
    assert not torn.exists()  # removed, so nothing picks it again
    # a checkpoint the kill caught before trainer_state.json
    shutil.copytree(straight_sft / "checkpoints" / "checkpoint-4", torn)
    (torn / "trainer_state.json").unlink()
    summary = run("sft", out, tok_dir)
    assert summary["resumed_from"].endswith("checkpoint-2")
    assert_same_model(out / "model", straight_sft / "model")
