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
    assert rows.column_names == ["sample_id", "source", "kind", "svg", "caption", "license", "source_split"]
    assert rows["source_split"].null_count == 2  # no split column named: split-less
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


def test_local_split_column_tags_train_and_test_rows(tmp_path):
    t = pa.table({"Filename": ["a", "b", "c"], "Svg": ["<svg/>"] * 3, "part": ["train", "test", None]})
    pq.write_table(t, tmp_path / "s.parquet")
    rows = load_rows(DataConfig(source="local", path=str(tmp_path / "s.parquet"), split_column="part"))
    assert rows["source_split"].to_pylist() == ["train", "test", "train"]
    with pytest.raises(ValueError, match="split_column 'nope'"):
        load_rows(DataConfig(source="local", path=str(tmp_path / "s.parquet"), split_column="nope"))


def test_hub_loads_the_train_and_the_test_split(monkeypatch):
    """SVG-Stack-Hard comes from SVG-Stack's test split (paper §4): both are loaded, tagged,
    and a row cap applies per split so a capped run still has test rows."""
    import datasets

    calls = []

    def fake(hf_id, split):
        calls.append(split)
        n = 5 if split == "train" else 2
        return datasets.Dataset.from_dict({"Filename": [f"{split}{i}" for i in range(n)], "Svg": ["<svg/>"] * n})

    monkeypatch.setattr(datasets, "load_dataset", fake)
    rows = load_rows(DataConfig(source="hf", max_rows=3))
    assert calls == ["train", "test"]
    assert rows["sample_id"].to_pylist() == ["train0", "train1", "train2", "test0", "test1"]
    assert rows["source_split"].to_pylist() == ["train"] * 3 + ["test"] * 2
    calls.clear()
    assert set(load_rows(DataConfig(source="hf", hf_test_split=None))["source_split"].to_pylist()) == {"train"}
    assert calls == ["train"]
