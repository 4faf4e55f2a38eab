"""Reliability suite: real faults (kill -9, two writers, a full disk, torn and bad files).

Each test names the fault it injects through the `fault` fixture; at the end of the
session the outcomes go to artifacts/reliability/results.jsonl (or
$RLRF_RELIABILITY_RESULTS), which `scripts/reliability_report.py` turns into the README's
figures: faults tried, survived, rows lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlrf.config import repo_root
from tests.models.micro import micro_model_cfg, micro_tokenizer  # noqa: F401

_RECORDS: list[dict] = []


def results_path() -> Path:
    return Path(os.environ.get("RLRF_RELIABILITY_RESULTS", repo_root() / "artifacts" / "reliability" / "results.jsonl"))


@pytest.fixture
def fault(request):
    """A dict the test fills: `fault` (what was done to the run) and, where a run resumed,
    `rows_lost` (train_log rows of finished steps that the resumed run did not get back)."""
    record = {"test": request.node.nodeid.split("::")[-1], "fault": None, "rows_lost": None}
    request.node._fault_record = record
    return record


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    record = getattr(item, "_fault_record", None)
    if record is None or report.when != "call" or not record.get("fault"):
        return
    _RECORDS.append({**record, "survived": report.passed})


def pytest_sessionfinish(session, exitstatus):
    if not _RECORDS:
        return
    path = results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in _RECORDS))


@pytest.fixture(scope="session")
def tok_dir(micro_tokenizer, tmp_path_factory) -> Path:  # noqa: F811 - the fixture imported above
    d = tmp_path_factory.mktemp("tok")
    micro_tokenizer.save_pretrained(d)
    return d


@pytest.fixture(scope="session")
def straight_sft(tok_dir, tmp_path_factory) -> Path:
    """The micro SFT run, never interrupted: what every resumed run must reproduce."""
    from tests.reliability.worker import run

    out = tmp_path_factory.mktemp("straight") / "sft"
    run("sft", out, tok_dir)
    return out


def run_worker(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m tests.reliability.worker ...` from the repo root, output captured."""
    return subprocess.run([sys.executable, "-m", "tests.reliability.worker", *map(str, args)],
                          cwd=repo_root(), capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(repo_root())})
