"""Bad rows and late errors: a bad row leaves through a named funnel filter instead of
aborting curation, ids are unique, active content never reaches a stored SVG, and every
name in a recipe is checked when it loads, before any stage runs."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rlrf.config import CurateConfig, DataConfig, RecipeError
from rlrf.data.curate import prepare
from rlrf.data.funnel import Funnel
from rlrf.data.sources import load_rows
from rlrf.recipe import parse_recipe

CIRCLE = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><circle cx="4" cy="4" r="3"/></svg>'
RECT = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="4" height="4"/></svg>'


def funnel_reasons(funnel: Funnel, step: str) -> dict:
    t = funnel.table().to_pylist()
    return {r["sample_id"]: r["reason"] for r in t if r["filter"] == step}


def local_rows(tmp_path, ids, svgs, svg_type=None) -> pa.Table:
    svg_type = svg_type or pa.binary()
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({"Filename": pa.array(ids, pa.string()), "Svg": pa.array(svgs, svg_type)}), path)
    return load_rows(DataConfig(source="local", path=str(path)))


def test_an_invalid_utf8_row_is_a_funnel_drop(tmp_path, fault, caplog):
    fault["fault"] = "one row of the input is not UTF-8"
    raw = local_rows(tmp_path, ["ok", "bad"], [CIRCLE.encode(), CIRCLE.encode()[:30] + b"\xff\xfe" + b"/>"])
    assert "data.parquet: row 1, column Svg: invalid UTF-8" in caplog.text
    funnel = Funnel()
    kept = prepare(raw, CurateConfig(), funnel)
    assert kept["sample_id"].to_pylist() == ["ok"]
    assert funnel_reasons(funnel, "row_check") == {"ok": "pass", "bad": "invalid_utf8"}


def test_invalid_utf8_inside_a_string_column(tmp_path):
    offsets = pa.py_buffer(pa.array([0, 3, 3 + len(RECT)], pa.int32()).buffers()[1])
    data = pa.py_buffer(b"a\xffb" + RECT.encode())
    svgs = pa.Array.from_buffers(pa.string(), 2, [None, offsets, data])
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({"Filename": ["bad", "ok"], "Svg": svgs}), path)
    raw = load_rows(DataConfig(source="local", path=str(path)))
    funnel = Funnel()
    assert prepare(raw, CurateConfig(), funnel)["sample_id"].to_pylist() == ["ok"]
    assert funnel_reasons(funnel, "row_check")["bad"] == "invalid_utf8"


def test_invalid_utf8_inside_a_json_lines_file(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_bytes(b'{"Filename": "ok", "Svg": "<svg/>"}\n{"Filename": "bad", "Svg": "<svg>\xff</svg>"}\n')
    raw = load_rows(DataConfig(source="local", path=str(path)))
    assert raw["error"].to_pylist() == [None, "invalid_utf8"]


def test_duplicate_and_null_sample_ids(tmp_path, fault):
    fault["fault"] = "two different SVGs share a sample_id; one has none"
    raw = local_rows(tmp_path, ["a", "a", None, "b"], [CIRCLE, RECT, RECT + " ", RECT.replace("4", "5")], pa.string())
    funnel = Funnel()
    kept = prepare(raw, CurateConfig(), funnel)
    ids = kept["sample_id"].to_pylist()
    assert len(ids) == len(set(ids)) == 3 and "b" in ids
    rekeyed = sorted(i for i in ids if i.startswith("a~"))
    assert len(rekeyed) == 2  # each keeps its own content, and so its own features later
    by_id = dict(zip(ids, kept["svg"].to_pylist(), strict=True))
    assert {by_id[i] for i in rekeyed} == {CIRCLE, RECT}
    reasons = funnel.table().to_pylist()
    assert [r["reason"] for r in reasons if r["filter"] == "row_check" and r["sample_id"] is None] == [
        "null_sample_id"]


def test_scripts_and_handlers_never_reach_a_stored_svg(fault):
    fault["fault"] = "<script>, on* handlers and javascript: links in input SVGs"
    hostile = [
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8" onload="alert(1)"><script>alert(2)</script>'
        '<circle r="3" onclick="x()"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><a href="javascript:alert(3)"><rect width="2"'
        ' height="2"/></a><animate attributeName="href" to="javascript:alert(4)"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><script>unclosed<rect/></svg>',
    ]
    raw = pa.table({"sample_id": ["s1", "s2", "s3", "ok"], "source": ["t"] * 4, "kind": ["x"] * 4,
                    "svg": [*hostile, CIRCLE], "caption": [None] * 4, "license": [None] * 4})
    funnel = Funnel()
    kept = prepare(raw, CurateConfig(), funnel)
    stored = dict(zip(kept["sample_id"].to_pylist(), kept["svg"].to_pylist(), strict=True))
    for text in stored.values():
        low = text.lower()
        assert "<script" not in low and "onload" not in low and "onclick" not in low and "javascript:" not in low
    assert "<circle" in stored["s1"] and stored["ok"] == CIRCLE
    reasons = funnel_reasons(funnel, "active_content")
    assert reasons["s1"] == "stripped" and reasons["ok"] == "pass"
    assert reasons["s3"].startswith("active_content:")  # not well-formed: it leaves, named


@pytest.mark.parametrize(("patch", "message"), [
    ({"data": {"sources": []}}, "data.sources: List should have at least 1 item"),
    ({"rewards": [{"name": "l2_cany"}]}, "rewards.0.name: unknown reward 'l2_cany'; valid:"),
    ({"rewards": [{"name": "mypkg.nothere.reward"}]}, "rewards.0.name: reward 'mypkg.nothere.reward': cannot import"),
    ({"rewards": [{"name": "l2"}, {"name": "l2"}]}, "rewards: names repeat ['l2']"),
    ({"eval": {"models": ["sft", "rlfr"]}}, "eval.models.1: unknown model label 'rlfr'; valid: sft, rlrf, sft_greedy, rlrf_greedy, vtracer"),
])
def test_bad_names_fail_at_recipe_load(patch, message, fault):
    fault["fault"] = f"bad recipe, caught at load: {message.split(';')[0]}"
    with pytest.raises(RecipeError) as err:
        parse_recipe({"name": "r", **patch}, origin="r.yaml")
    assert message in str(err.value) and str(err.value).startswith("r.yaml: invalid recipe")


def test_every_eval_label_a_recipe_accepts_the_eval_stage_can_run():
    """Recipe validation and the eval stage read one label registry (`rlrf.eval.labels`):
    each label a recipe accepts gets a predictor, or (a trained model) asks for its stage."""
    from rlrf.eval.labels import GREEDY, MODEL_STAGES, valid_labels
    from rlrf.eval.stage import _predictor

    assert {"sft", "rlrf", "sft_greedy", "rlrf_greedy", "blank", "vtracer"} <= set(valid_labels())
    for label in valid_labels():
        recipe = parse_recipe({"name": "r", "eval": {"models": [label]}})
        try:
            assert callable(_predictor(label, recipe, {}))
        except FileNotFoundError as exc:
            assert label.removesuffix(GREEDY) in MODEL_STAGES and MODEL_STAGES[label.removesuffix(GREEDY)] in str(exc)


def test_a_renderer_that_cannot_load_stops_curate_with_the_reason(tmp_path, fault):
    """libcairo missing (as on a bare machine): curate stops at its first render with
    `RendererUnavailable` and the loader's reason, and writes no tables, instead of
    failing every render as a worker crash and curating an empty Hard set. The fault is a
    `cairocffi` first on PYTHONPATH that fails as cairocffi does without the C library, so
    every process of the run (render workers too) sees it."""
    import json
    import os
    import subprocess
    import sys

    from tests.data.test_stage import recipe_for

    fault["fault"] = "the Cairo C library cannot load (curate)"
    fake = tmp_path / "nocairo" / "cairocffi"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise OSError('no library called \"cairo-2\" was found')\n")
    (tmp_path / "recipe.json").write_text(json.dumps(recipe_for(tmp_path).model_dump(mode="json")))
    code = ("import json; from pathlib import Path; from rlrf.recipe import parse_recipe; "
            "from rlrf.data.stage import run_curate; "
            f"run_curate(parse_recipe(json.loads(Path({str(tmp_path / 'recipe.json')!r}).read_text())), {{}}, "
            f"Path({str(tmp_path / 'out')!r}))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake.parent), *sys.path])}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode != 0, run.stderr[-2000:]
    assert 'RendererUnavailable: CairoSVG cannot render here: OSError: no library called "cairo-2"' in run.stderr
    assert "libcairo2" in run.stderr
    assert not (tmp_path / "out" / "samples.parquet").exists() and not (tmp_path / "out" / "funnel.parquet").exists()
