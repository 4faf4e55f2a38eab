"""DINO clustering plumbing with a tiny random-init DINOv2 (proves the path, not a result)."""

import pyarrow as pa
import pytest

from rlrf.config import ClusterConfig, CurateConfig, RenderConfig
from rlrf.data.curate import EVAL_POOL, select
from rlrf.data.embeddings import dino_embeddings
from rlrf.data.features import render_features
from rlrf.data.funnel import Funnel
from rlrf.weights import WeightsUnavailable
from tests.tiny_models import tiny_dino

NS = 'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"'


def tiny_scorer():
    return tiny_dino(hidden_layers=1)


def svg(i):
    return f'<svg {NS}><rect x="{i % 16}" y="3" width="12" height="{5 + i % 20}" fill="#{(i * 40) % 256:02x}2050"/></svg>'


def test_embeddings_drive_test_hard_clusters():
    ids = [f"s{i}" for i in range(12)]
    svgs = [svg(i) for i in range(12)]
    limits = RenderConfig(timeout_s=5, workers=2)
    emb = dino_embeddings(ids, svgs, ClusterConfig(features="dino"), limits, scorer=tiny_scorer())
    assert set(emb) == set(ids) and len(emb["s0"]) == 32
    pool = pa.table({"sample_id": ids, "source": ["a"] * 12, "kind": ["icon"] * 12, "svg": svgs,
                     "caption": [None] * 12, "license": ["MIT"] * 12, "hash": [f"{i:016x}" for i in range(12)]})
    feats = render_features(ids, svgs, 32, limits)
    cfg = CurateConfig(hard_min_tokens=0, hard_min_color_entropy=0, test_hard_size=5, cluster={"k": 3})
    emb.pop("s11")  # a candidate without an embedding leaves through the funnel, not silently
    funnel = Funnel()
    out = select({EVAL_POOL: pool}, feats, dict.fromkeys(ids, 10), cfg, 0, funnel, embeddings=emb)
    assert out.num_rows == 5 and set(out["split"].to_pylist()) == {"test_hard"}
    assert "s11" not in out["sample_id"].to_pylist()
    assert any(r["filter"] == "no_embedding" and not r["kept"] for r in funnel.table().to_pylist())


def test_missing_dino_weights_raise(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(WeightsUnavailable):
        dino_embeddings(["a"], [svg(1)], ClusterConfig(features="dino", dino_model="facebook/dinov2-base"),
                        RenderConfig())
