"""`rlrf/ablate` end to end on the micro recipe: a 2-cell grid over grpo.init (RLRF after
SFT, and from the base model) computes curation and SFT once, GRPO and eval per cell, and
writes one `ablations` row per cell x eval split with metrics, plus the report."""

import json
from pathlib import Path

import pytest
import yaml

from rlrf.artifacts import Store, connect

pytestmark = pytest.mark.slow

MICRO = Path(__file__).with_name("micro.yaml")


@pytest.fixture(scope="module")
def ablation(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ablate")
    recipe = root / "micro.yaml"
    recipe.write_text(MICRO.read_text() + f"artifacts_dir: {root / 'artifacts'}\n")
    path = root / "init.yaml"
    path.write_text(yaml.safe_dump({
        "description": "micro: GRPO from SFT vs from the base model",
        "recipe": str(recipe),
        # beta > 0: TRL builds a KL reference model from the policy's path, also for the base model
        "overrides": {"grpo.max_steps": 1, "grpo.beta": 0.05, "eval.models": ["sft", "rlrf"]},
        "eval_splits": ["test", "ood_emoji"],
        "grid": {"grpo.init": ["sft", "base"]},
    }))
    return path


@pytest.fixture(scope="module")
def result(harness, ablation):
    """`rlrf ablate <file>`: the command line runs the same flow as the deployment."""
    from flows.cli import main

    assert main(["ablate", str(ablation)]) == 0
    (out_dir,) = (ablation.parent / "artifacts" / "micro" / "ablations" / "init").iterdir()
    return {"report": out_dir / "report.html", "table": out_dir / "ablation_cells.parquet"}


def test_upstream_computed_once_and_one_row_per_cell_and_split(result, ablation):
    store = Store(ablation.parent / "artifacts", "micro")
    counts = {s: len(store.finished(s)) for s in ("curate", "sft", "grpo", "eval")}
    assert counts == {"curate": 1, "sft": 1, "grpo": 2, "eval": 2}

    con = connect(store.root / "rlrf.duckdb", store=store)
    rows = con.sql("SELECT * FROM ablations ORDER BY cell_index, split").to_arrow_table().to_pylist()
    con.close()
    assert [(r["cell_id"], r["split"]) for r in rows] == [
        ("init=sft", "ood_emoji"), ("init=sft", "test"), ("init=base", "ood_emoji"), ("init=base", "test")]
    assert {r["ablation"] for r in rows} == {"init"} and {r["status"] for r in rows} == {"done"}
    by_cell = {r["cell_id"]: r for r in rows}
    # the policy trained from the base model is labelled as such, never as RLRF after SFT
    assert by_cell["init=sft"]["model_label"] == "rlrf"
    assert by_cell["init=base"]["model_label"] == "rlrf_no_sft"
    assert by_cell["init=base"]["grpo_init"] == "base"  # typed column of the swept key
    assert json.loads(by_cell["init=base"]["overrides"]) == {"grpo.init": "base"}
    for r in rows:
        assert r["n"] == 2 and r["mse"] is not None and r["ssim"] is not None
        assert r["sft_mse"] is not None and r["mse_vs_sft"] == pytest.approx(r["mse"] - r["sft_mse"])
        dirs = json.loads(r["stage_dirs"])
        assert set(dirs) == {"curate", "sft", "grpo", "eval"} and Path(dirs["eval"]).parent.name == r["run_id"]
    # the first cell computed everything; the second reused curation and SFT
    assert set(by_cell["init=sft"]["computed_stages"]) == {"curate", "sft", "grpo", "eval"}
    assert set(by_cell["init=base"]["computed_stages"]) == {"grpo", "eval"}
    base_grpo = json.loads(by_cell["init=base"]["stage_dirs"])["grpo"]
    assert json.loads((Path(base_grpo) / "summary.json").read_text())["init"] == "base"
    assert (Path(base_grpo) / "base_model" / "config.json").exists()


def test_report_has_one_plot_per_swept_key(result):
    html = Path(result["report"]).read_text()
    assert html.count("<img alt='grpo.init'") == 1
    assert "rlrf_no_sft" in html and "grpo: 2 of 2 cells" in html and "curate: 1 of 2 cells" in html
