import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rlrf.artifacts import (
    Manifest,
    Store,
    begin_stage,
    connect,
    fail_stage,
    finish_stage,
    write_table,
)


def test_write_table_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "t.parquet"
    write_table(pa.table({"a": [1, 2]}), path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(OSError):
        write_table(pa.table({"a": [3]}), path)
    assert path.read_bytes() == before  # the old file survives a failed write
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]  # no temp litter


def test_manifest_lifecycle_and_matching(tmp_path):
    store = Store(tmp_path, "r")
    d = store.stage_dir("run1", "curate")
    m = begin_stage(d, "curate", "r", "h1", {})
    assert store.latest("curate") is None  # running is not finished
    write_table(pa.table({"a": [1, 2, 3]}), d / "samples.parquet")
    finish_stage(d, m)
    got = Manifest.read(d)
    assert got.status == "done" and got.rows == {"samples": 3} and got.outputs_hash
    assert store.find_matching("curate", "h1", {})[0] == d
    assert store.find_matching("curate", "h2", {}) is None


def test_failed_stage_is_resumable_not_reused(tmp_path):
    store = Store(tmp_path, "r")
    d = store.stage_dir("run1", "grpo")
    m = begin_stage(d, "grpo", "r", "h", {"sft": "x"})
    fail_stage(d, m, "KeyboardInterrupt")
    assert store.find_matching("grpo", "h", {"sft": "x"}) is None
    assert store.find_unfinished("grpo", "h", {"sft": "x"}) == d
    assert store.find_unfinished("grpo", "h", {"sft": "other"}) is None


def test_duckdb_views_from_parquet(tmp_path):
    store = Store(tmp_path / "art", "r")
    d = store.stage_dir("run1", "curate")
    m = begin_stage(d, "curate", "r", "h", {})
    write_table(pa.table({"sample_id": ["a", "b"], "split": ["train", "rl"], "source": ["s", "s"],
                          "n_tokens": [1, 2], "color_entropy": [0.1, 0.2]}), d / "samples.parquet")
    finish_stage(d, m)
    con = connect(tmp_path / "x.duckdb", store=store)
    rows = con.execute("SELECT split, count(*) FROM samples GROUP BY split ORDER BY split").fetchall()
    assert rows == [("rl", 1), ("train", 1)]
    assert os.path.exists(tmp_path / "x.duckdb")


def test_outputs_hash_ignores_bookkeeping(tmp_path):
    from rlrf.artifacts import dir_digest

    write_table(pa.table({"a": [1]}), tmp_path / "samples.parquet")
    before = dir_digest(tmp_path)
    (tmp_path / "summary.json").write_text('{"seconds": 1.23}')
    (tmp_path / "recipe.yaml").write_text("name: x\n")
    assert dir_digest(tmp_path) == before
    write_table(pa.table({"a": [2]}), tmp_path / "samples.parquet")
    assert dir_digest(tmp_path) != before
