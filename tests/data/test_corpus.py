"""The committed bundled corpus (data/corpus) loads, is well-formed and renders."""

from __future__ import annotations

import io
import random
import re
from collections import Counter
from pathlib import Path

import cairosvg
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from rlrf.data.clean import clean_svg
from rlrf.data.corpus import CORPUS_SCHEMA, KINDS, CorpusError, load_bundled

CORPUS = Path(__file__).resolve().parents[2] / "data" / "corpus" / "corpus.parquet"


@pytest.fixture(scope="module")
def corpus() -> pa.Table:
    return load_bundled(CORPUS)


def test_corpus_size_and_kinds(corpus):
    assert corpus.num_rows >= 2000
    kinds = Counter(corpus.column("kind").to_pylist())
    assert set(kinds) == set(KINDS)
    assert all(n >= 100 for n in kinds.values()), kinds


def test_every_row_has_licence_origin_caption(corpus):
    for col in ("license", "origin", "caption", "source", "svg"):
        values = corpus.column(col).to_pylist()
        assert all(isinstance(v, str) and v.strip() for v in values), col
    # origin is package@version:path with an exact version (starts with a digit, no ranges)
    pattern = re.compile(r"^@?[a-z0-9][\w./-]*@[0-9][\w.:+~-]*:\S")
    for origin in corpus.column("origin").to_pylist():
        assert pattern.match(origin), origin


def test_sample_ids_unique_and_prefixed_by_source(corpus):
    ids = corpus.column("sample_id").to_pylist()
    assert len(ids) == len(set(ids))
    for sid, src in zip(ids, corpus.column("source").to_pylist(), strict=True):
        assert sid.startswith(src + "/")


def test_enough_short_icons_for_tiny_recipe(corpus):
    rows = corpus.select(["kind", "svg"]).to_pylist()
    short = [r for r in rows if r["kind"] == "icon" and len(r["svg"]) <= 700]
    assert len(short) >= 1000


def test_rows_are_already_clean(corpus):
    rng = random.Random(7)
    svgs = corpus.column("svg").to_pylist()
    for svg in rng.sample(svgs, 200):
        assert clean_svg(svg) == svg  # cleaning is idempotent on the shipped rows


def test_random_rows_render(corpus):
    rng = random.Random(0)
    rows = corpus.select(["sample_id", "svg"]).to_pylist()
    for row in rng.sample(rows, 30):
        png = cairosvg.svg2png(bytestring=row["svg"].encode(), output_width=64, output_height=64)
        img = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
        assert img.shape == (64, 64, 4)
        assert img[..., 3].max() > 0, row["sample_id"]


def test_sources_md_lists_every_source(corpus):
    text = (CORPUS.parent / "SOURCES.md").read_text()
    for source in set(corpus.column("source").to_pylist()):
        assert f"| {source} |" in text


def test_missing_column_named_in_error(tmp_path):
    table = pa.table({name: ["x"] for name in CORPUS_SCHEMA.names if name != "license"})
    path = tmp_path / "broken.parquet"
    pq.write_table(table, path)
    with pytest.raises(CorpusError, match=r"'license'") as info:
        load_bundled(path)
    assert str(path) in str(info.value)


def test_missing_file_named_in_error(tmp_path):
    with pytest.raises(CorpusError, match="not found"):
        load_bundled(tmp_path / "nope.parquet")


def test_wrong_type_named_in_error(tmp_path):
    data = {name: ["x"] for name in CORPUS_SCHEMA.names}
    data["svg"] = [1]
    path = tmp_path / "typed.parquet"
    pq.write_table(pa.table(data), path)
    with pytest.raises(CorpusError, match=r"'svg' is int64"):
        load_bundled(path)
