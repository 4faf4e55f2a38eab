"""The SFT stage as the pipeline runs it, in real processes: kill -9 after a checkpoint
and rerun (the same folder resumes, the same model comes out), and a second writer
while the first is alive (it stops, naming the first)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rlrf.artifacts import Manifest, Store, begin_stage, finish_stage, write_table
from rlrf.config import repo_root
from tests.models.micro import icon_rows
from tests.reliability.conftest import run_worker
from tests.reliability.test_resume import assert_same_model, log_rows

pytestmark = pytest.mark.slow


@pytest.fixture
def artifacts(tmp_path, micro_tokenizer):
    """A finished curate stage whose train split is the micro icons."""
    store = Store(tmp_path / "art", "micro")
    d = store.stage_dir("run0", "curate")
    m = begin_stage(d, "curate", "micro", "h", {})
    write_table(icon_rows(), d / "samples.parquet")
    micro_tokenizer.save_pretrained(d / "tokenizer")
    finish_stage(d, m)
    return tmp_path / "art"


def test_kill_9_mid_stage_then_rerun_resumes_the_same_folder(artifacts, straight_sft, fault):
    fault["fault"] = "kill -9 of the SFT stage (pipeline, lock, manifest) after checkpoint 2 of 4"
    killed = run_worker("pipeline", artifacts, "run1", "--kill-after", 2)
    assert killed.returncode == -9, killed.stderr[-2000:]
    stage_dir = artifacts / "micro" / "run1" / "sft"
    m = Manifest.read(stage_dir)
    assert m.status == "running" and m.owner["pid"] != 0  # a kill -9 records nothing more
    rerun = run_worker("pipeline", artifacts, "run2")
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    out = json.loads(rerun.stdout.splitlines()[-1])
    assert out["stage_dir"] == str(stage_dir)  # resumed where it stopped, not started over
    assert out["summary"]["resumed_from"].endswith("checkpoint-2")
    assert Manifest.read(stage_dir).status == "done"
    assert_same_model(stage_dir / "model", straight_sft / "model")
    straight, resumed = log_rows(straight_sft), log_rows(stage_dir)
    fault["rows_lost"] = len(set(straight) - set(resumed))
    assert resumed == pytest.approx(straight, rel=1e-5)


def test_a_second_run_of_a_live_stage_stops_naming_the_first(artifacts, fault):
    fault["fault"] = "two `run --stages sft` processes at once"
    first = subprocess.Popen([sys.executable, "-m", "tests.reliability.worker", "pipeline", str(artifacts), "run1",
                              "--hold"], cwd=repo_root(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(repo_root())})
    try:
        stage_dir = artifacts / "micro" / "run1" / "sft"
        deadline = time.monotonic() + 180
        while (m := Manifest.read(stage_dir)) is None or m.owner.get("pid") != first.pid:
            assert first.poll() is None and time.monotonic() < deadline, "the first writer did not get going"
            time.sleep(0.5)
        second = run_worker("pipeline", artifacts, "run2")
        assert second.returncode == 2
        assert f"is being written by pid {first.pid}" in second.stderr
        assert "one writer per stage folder" in second.stderr
        assert not (artifacts / "micro" / "run2").exists()
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
