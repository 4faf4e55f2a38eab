import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rlrf.config import DataConfig
from rlrf.data.sources import load_rows


def test_local_svg_stack_parquet_and_json(tmp_path):
    t = pa.table({"Filename": ["a.svg", "b.svg"], "Svg": ["<svg/>", "<svg></svg>"]})
    pq.write_table(t, tmp_path / "stack.parquet")
    rows = load_rows(DataConfig(source="local", path=str(tmp_path / "stack.parquet")))
    assert rows.column_names == ["sample_id", "source", "kind", "svg", "caption", "license"]
    assert rows["sample_id"].to_pylist() == ["a.svg", "b.svg"]
    (tmp_path / "stack.jsonl").write_text("\n".join(json.dumps(r) for r in t.to_pylist()))
    assert load_rows(DataConfig(source="local", path=str(tmp_path / "stack.jsonl"))).num_rows == 2


def test_local_missing_column_is_named(tmp_path):
    pq.write_table(pa.table({"name": ["a"], "Svg": ["<svg/>"]}), tmp_path / "x.parquet")
    with pytest.raises(ValueError, match="Filename"):
        load_rows(DataConfig(source="local", path=str(tmp_path / "x.parquet")))


def test_include_bundled_adds_ood_sources(tmp_path):
    pq.write_table(pa.table({"Filename": ["a"], "Svg": ["<svg/>"]}), tmp_path / "s.parquet")
    rows = load_rows(DataConfig(source="local", path=str(tmp_path / "s.parquet"), include_bundled=True))
    assert rows.num_rows > 1000 and "twemoji" in set(rows["source"].to_pylist())


def test_hub_failure_is_explained(monkeypatch):
    import datasets

    def offline(*a, **k):
        raise ConnectionError("offline")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(RuntimeError, match="starvector/svg-stack.*data.source=local"):
        load_rows(DataConfig(source="hf"))


def test_sources_filter_keeps_only_listed_sources():
    rows = load_rows(DataConfig(source="bundled", sources=["bootstrap", "openmoji"]))
    assert set(rows["source"].to_pylist()) == {"bootstrap", "openmoji"}
