"""Skipping a stage trusts the data, not the names: an input file edited in place reruns
curation, and a finished stage whose files were damaged is not reused."""

from __future__ import annotations

import pyarrow as pa

from rlrf.artifacts import Store, begin_stage, finish_stage, write_table
from rlrf.pipeline import plan_stage
from rlrf.recipe import parse_recipe


def local_recipe(tmp_path):
    return parse_recipe({"name": "r", "artifacts_dir": str(tmp_path / "art"),
                         "data": {"source": "local", "path": str(tmp_path / "data.parquet")}})


def write_data(tmp_path, svgs: list[str]) -> None:
    write_table(pa.table({"Filename": [f"f{i}" for i in range(len(svgs))], "Svg": svgs}), tmp_path / "data.parquet")


def finish(plan, rows: int = 3):
    m = begin_stage(plan.stage_dir, plan.stage, "r", plan.recipe_hash, plan.upstream)
    write_table(pa.table({"sample_id": [str(i) for i in range(rows)]}), plan.stage_dir / "samples.parquet")
    finish_stage(plan.stage_dir, m)


def test_editing_the_data_file_in_place_reruns_curation(tmp_path, fault):
    fault["fault"] = "local data file edited in place (same path)"
    cfg = local_recipe(tmp_path)
    store = Store(cfg.artifacts_dir, cfg.name)
    write_data(tmp_path, ["<svg/>", "<svg><g/></svg>"])
    finish(plan_stage(store, cfg, "curate", "run1", False))
    assert plan_stage(store, cfg, "curate", "run2", False).skip  # same bytes: reused
    write_data(tmp_path, ["<svg/>", "<svg><rect/></svg>"])
    assert not plan_stage(store, cfg, "curate", "run2", False).skip


def test_a_truncated_parquet_forces_a_rerun(tmp_path, fault):
    fault["fault"] = "a finished stage's Parquet file truncated"
    cfg = local_recipe(tmp_path)
    store = Store(cfg.artifacts_dir, cfg.name)
    write_data(tmp_path, ["<svg/>"])
    first = plan_stage(store, cfg, "curate", "run1", False)
    finish(first)
    f = first.stage_dir / "samples.parquet"
    f.write_bytes(f.read_bytes()[:-20])
    again = plan_stage(store, cfg, "curate", "run2", False)
    assert not again.skip and again.stage_dir != first.stage_dir
    assert store.latest("curate") is None  # nor read by a downstream stage


def test_a_replaced_parquet_with_other_rows_forces_a_rerun(tmp_path):
    cfg = local_recipe(tmp_path)
    store = Store(cfg.artifacts_dir, cfg.name)
    write_data(tmp_path, ["<svg/>"])
    first = plan_stage(store, cfg, "curate", "run1", False)
    finish(first, rows=3)
    write_table(pa.table({"sample_id": ["a"]}), first.stage_dir / "samples.parquet")
    assert not plan_stage(store, cfg, "curate", "run2", False).skip
