"""One writer per stage folder, --force never shares a folder, and a full disk still
ends in a `failed` manifest that says so."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import tempfile

import pytest

from rlrf.artifacts import Manifest, StageBusy, StageLock, Store, begin_stage, fail_stage
from rlrf.config import repo_root
from rlrf.pipeline import complete, plan_stage, writing
from rlrf.recipe import parse_recipe

HOLD = """
import sys, time
from pathlib import Path
from rlrf.artifacts import StageLock
StageLock.acquire(Path(sys.argv[1]))
print("locked", flush=True)
time.sleep(120)
"""


def hold_lock(stage_dir) -> subprocess.Popen:
    """A second process that takes the stage folder's lock and keeps it."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(stage_dir)], cwd=repo_root(), stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(repo_root())})
    assert proc.stdout.readline().strip() == "locked"
    return proc


def recipe(tmp_path, **extra):
    return parse_recipe({"name": "r", "artifacts_dir": str(tmp_path / "art"), **extra})


def test_a_second_writer_stops_with_the_owner_named(tmp_path, fault):
    fault["fault"] = "two processes write one stage folder"
    d = tmp_path / "run1" / "sft"
    holder = hold_lock(d)
    try:
        with pytest.raises(StageBusy, match=rf"pid {holder.pid} on .*one writer per stage folder"):
            StageLock.acquire(d)
        with pytest.raises(StageBusy):
            StageLock.acquire(d, wait_s=0.3)  # waiting gives up when the owner does not finish
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the owner died (kill -9): its lock went with it, nothing stale is left to clean up
    with StageLock.acquire(d):
        with pytest.raises(StageBusy, match="this process is already writing"):
            StageLock.acquire(d)
    StageLock.acquire(d).release()


def test_a_live_interrupted_folder_is_not_resumed_by_a_second_run(tmp_path, fault):
    fault["fault"] = "second `rlrf run` while the first is running the same stage"
    cfg = recipe(tmp_path)
    store = Store(cfg.artifacts_dir, cfg.name)
    first = plan_stage(store, cfg, "curate", "run1", force=False)
    holder = hold_lock(first.stage_dir)
    try:
        begin_stage(first.stage_dir, "curate", "r", first.recipe_hash, first.upstream)  # status: running
        second = plan_stage(store, cfg, "curate", "run2", force=False)
        assert second.stage_dir == first.stage_dir  # same inputs: it would resume there...
        with pytest.raises(StageBusy), writing(second, cfg):
            pytest.fail("entered a folder another process is writing")  # ...but cannot enter
        assert Manifest.read(first.stage_dir).status == "running"  # and did not touch it
        forced = plan_stage(store, cfg, "curate", "run3", force=True)
        assert forced.stage_dir == store.stage_dir("run3", "curate")  # --force: a fresh folder
        with writing(forced, cfg) as m:
            assert m.owner["pid"] == os.getpid()
    finally:
        holder.kill()
        holder.wait()


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_ends_failed_and_says_so(tmp_path, monkeypatch, fault):
    fault["fault"] = "disk full (ENOSPC) during a stage and for every new file"
    cfg = recipe(tmp_path)
    store = Store(cfg.artifacts_dir, cfg.name)
    plan = plan_stage(store, cfg, "curate", "run1", force=False)
    with pytest.raises(OSError), writing(plan, cfg):
        # from here on no new file can be created: the failure must fit in what was reserved
        monkeypatch.setattr(tempfile, "mkstemp", _enospc)
        raise OSError(errno.ENOSPC, "No space left on device", str(plan.stage_dir / "samples.parquet"))
    monkeypatch.undo()
    m = Manifest.read(plan.stage_dir)
    assert m.status == "failed"
    assert m.notes[-1].startswith("DISK FULL: no space left on the device holding")
    # the failed folder is resumed by the next plain run, and --force starts elsewhere
    assert plan_stage(store, cfg, "curate", "run2", force=False).stage_dir == plan.stage_dir
    assert plan_stage(store, cfg, "curate", "run2", force=True).stage_dir != plan.stage_dir


def test_disk_full_inside_torch_or_arrow_is_recognised(tmp_path):
    from rlrf.artifacts import failure_message

    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("PytorchStreamWriter failed writing file data/3: file write failed") from inner
    except RuntimeError as exc:
        assert failure_message(exc, tmp_path).startswith("DISK FULL")
    assert failure_message(ValueError("bad"), tmp_path) == "ValueError: bad"
    d = tmp_path / "s"
    m = begin_stage(d, "curate", "r", "h", {})
    fail_stage(d, m, "x" * 10)
    assert Manifest.read(d).status == "failed" and not (d / ".reserve").exists()


def test_a_time_budget_stop_is_recorded_in_the_manifest(tmp_path, micro_tokenizer, fault):
    fault["fault"] = "SFT stopped by its time budget"
    from rlrf.train.sft import train_sft
    from tests.models.micro import icon_rows, micro_recipe

    micro_tokenizer.save_pretrained(tmp_path / "tok")
    cfg = micro_recipe(artifacts_dir=str(tmp_path / "art"),
                       sft={"max_steps": 50, "batch_size": 2, "time_budget_s": 0.01, "save_steps": 100})
    store = Store(cfg.artifacts_dir, cfg.name)
    plan = plan_stage(store, cfg, "curate", "run1", force=False)  # any plan: the bookkeeping is shared
    with writing(plan, cfg) as manifest:
        summary = train_sft(cfg, icon_rows(), tmp_path / "tok", plan.stage_dir)
        complete(plan, manifest, summary, 1.0, store)
    assert summary["stopped_by_time_budget"] and summary["steps"] < 50
    m = Manifest.read(plan.stage_dir)
    assert m.status == "done"
    assert any(n.startswith("TIME BUDGET: sft stopped by its 0.01 s budget at step 1 of 50") for n in m.notes), m.notes
