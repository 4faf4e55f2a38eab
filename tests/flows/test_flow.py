"""The real `rlrf` flow end to end on a micro recipe: every stage, skip, force, resume."""

import json
from pathlib import Path

import pytest

from rlrf.artifacts import Manifest, Store, connect

pytestmark = pytest.mark.slow

MICRO = Path(__file__).with_name("micro.yaml")


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    path = root / "micro.yaml"
    path.write_text(MICRO.read_text() + f"artifacts_dir: {root / 'artifacts'}\n")
    return path


def manifests(store: Store, stage: str) -> list[Manifest]:
    return [m for _, m in store.finished(stage)]


@pytest.fixture(scope="module")
def first_run(harness, recipe):
    from flows.rlrf_flow import rlrf

    dirs = rlrf(recipe=str(recipe), stages="all")
    return {k: Path(v) for k, v in dirs.items()}


def test_full_run_writes_every_table(first_run, recipe):
    assert set(first_run) == {"curate", "sft", "grpo", "eval"}
    store = Store(recipe.parent / "artifacts", "micro")
    con = connect(store.root / "rlrf.duckdb", store=store)
    splits = dict(con.execute("SELECT split, count(*) FROM samples GROUP BY split").fetchall())
    assert {"train", "rl", "test", "ood_emoji"} <= set(splits)
    assert con.execute("SELECT count(*) FROM funnel").fetchone()[0] > 0
    assert con.execute("SELECT count(DISTINCT stage) FROM train_log").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM rollouts").fetchone()[0] > 0
    models = {r[0] for r in con.execute("SELECT DISTINCT model_label FROM metrics").fetchall()}
    assert models == {"sft", "rlrf", "vtracer", "potrace"}
    n = con.execute("SELECT count(*) FROM leaderboard").fetchone()[0]
    assert n == len(models) * 2  # one row per model x split
    report = first_run["eval"] / "report.html"
    assert report.exists()
    for stage, d in first_run.items():
        m = Manifest.read(d)
        assert m.status == "done" and m.outputs_hash, stage
        json.dumps(m.rows)


def test_rerun_skips_unchanged_stages(first_run, recipe):
    from flows.rlrf_flow import rlrf

    again = {k: Path(v) for k, v in rlrf(recipe=str(recipe), stages="all").items()}
    assert again == first_run  # every stage reused from the first run


def test_changed_grpo_section_reruns_grpo_and_eval_only(first_run, recipe):
    from flows.rlrf_flow import rlrf

    out = {k: Path(v) for k, v in rlrf(recipe=str(recipe), overrides={"grpo.learning_rate": 2e-4}).items()}
    assert out["curate"] == first_run["curate"] and out["sft"] == first_run["sft"]
    assert out["grpo"] != first_run["grpo"] and out["eval"] != first_run["eval"]


def test_force_reruns_one_stage(first_run, recipe):
    from flows.rlrf_flow import rlrf

    store = Store(recipe.parent / "artifacts", "micro")
    before = len(manifests(store, "curate"))
    out = rlrf(recipe=str(recipe), stages="curate", force=True)
    assert Path(out["curate"]) != first_run["curate"]
    assert len(manifests(store, "curate")) == before + 1


def test_unknown_stage_fails_before_running(harness, recipe):
    from flows.rlrf_flow import rlrf

    with pytest.raises(ValueError, match="unknown stage"):
        rlrf(recipe=str(recipe), stages="curate,tune")
