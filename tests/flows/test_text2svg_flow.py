"""Text2SVG through the same flow: caption -> SVG; CLIP / VLM-judge without weights are
dropped from the reward and NULL in the metrics, said in the manifests, never faked."""

from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from rlrf.artifacts import Manifest, Store, connect

pytestmark = pytest.mark.slow

MICRO = Path(__file__).with_name("micro.yaml")


def test_text2svg_micro_run(tmp_path):
    from flows.rlrf_flow import rlrf

    recipe = tmp_path / "micro.yaml"
    recipe.write_text(MICRO.read_text() + f"artifacts_dir: {tmp_path / 'artifacts'}\n")
    overrides = {
        "model.task": "text2svg",
        "curate.require_caption": True,
        "rewards": [{"name": "clip", "weight": 1.0, "model": "openai/clip-vit-large-patch14"},
                    {"name": "l2", "weight": 0.5}, {"name": "length", "weight": 0.2}],
        "eval.models": ["sft", "rlrf"],
    }
    with prefect_test_harness(server_startup_timeout=120):
        dirs = {k: Path(v) for k, v in rlrf(recipe=str(recipe), overrides=overrides).items()}
    assert any("REWARD DROPPED: clip" in n for n in Manifest.read(dirs["grpo"]).notes)
    assert any("clip is NULL" in n for n in Manifest.read(dirs["eval"]).notes)
    store = Store(tmp_path / "artifacts", "micro")
    con = connect(store.root / "rlrf.duckdb", store=store)
    statuses = {r[0] for r in con.execute("SELECT DISTINCT clip_status FROM metrics").fetchall()}
    assert statuses == {"weights_unavailable"}
    assert con.execute("SELECT count(*) FROM metrics WHERE clip IS NOT NULL").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM samples WHERE caption IS NULL OR caption = ''").fetchone()[0] == 0
