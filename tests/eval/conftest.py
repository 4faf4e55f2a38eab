import pyarrow.parquet as pq
import pytest

from rlrf.config import repo_root


@pytest.fixture(scope="session")
def corpus_svgs() -> dict[str, str]:
    """A few real SVGs from the bundled corpus, one per kind of source."""
    t = pq.read_table(repo_root() / "data/corpus/corpus.parquet", columns=["source", "svg"])
    out: dict[str, str] = {}
    for source, svg in zip(t.column("source").to_pylist(), t.column("svg").to_pylist(), strict=True):
        if source in ("twemoji", "openclipart", "tabler", "glyph_dejavu") and source not in out and len(svg) < 6000:
            out[source] = svg
    assert len(out) == 4, out.keys()
    return out
