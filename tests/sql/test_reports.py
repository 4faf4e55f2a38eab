"""Every sql/*.sql report runs on tiny Parquet fixtures, and its declared key is unique."""

import re

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rlrf.artifacts import refresh_views, sql_files

SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">{}</svg>'
BOX = SVG.format('<path d="M0 8H64V56H0Z"/>')
GT = SVG.format('<circle cx="50" cy="50" r="40" fill="#123456"/><rect x="5" y="5" width="20" height="20"/>' * 3)


def _metrics_rows():
    rows = []
    for model in ("sft", "rlrf", "vtracer"):
        for split, shift in (("test_hard", 0.0), ("ood_emoji", 0.05), ("ood_fonts", 0.1)):
            for i in range(4):
                failed = model == "sft" and i == 0
                gt_failed = split == "ood_fonts" and i == 3
                rows.append({
                    "model_label": model, "dataset": split, "sample_id": f"{split}-{i}",
                    "mse": None if gt_failed else 0.01 * (i + 1) + shift,
                    "ssim": None if gt_failed else 0.9 - 0.01 * i - shift,
                    "dino": None, "lpips": None if model == "vtracer" else 0.2 + shift,
                    "ink_iou": None if gt_failed else 0.1 * i,
                    "ink_pred": None if gt_failed else 0.05 * i, "ink_gt": None if gt_failed else 0.2,
                    "ink_ratio": None if gt_failed else 0.25 * i,
                    # rlrf draws one layout (5) for every target; sft a different one each time
                    "ink_layout_pred": None if gt_failed else (5 if model == "rlrf" else (0 if failed else i + 10)),
                    "ink_layout_gt": None if gt_failed else i % 2,
                    "code_eff": None if gt_failed else 100 - 10 * i,
                    "gt_tokens": 500, "pred_tokens": 400 + 10 * i,
                    "render_ok": not failed,
                    "status": "gt_render_failed" if gt_failed else ("render_failed" if failed else "ok"),
                    "dino_status": "weights_unavailable",
                    "lpips_status": "weights_unavailable" if model == "vtracer" else "ok",
                    "clip": None, "clip_status": "not_applicable", "vlm_judge": None,
                    "vlm_judge_status": "not_applicable", "error": None, "seconds": 0.5,
                })
    return rows


def _fixtures():
    samples = [
        {"sample_id": f"{s}-{i}", "source": "tabler", "split": s, "svg": GT, "n_tokens": 500,
         "width": 100.0, "height": 100.0, "color_entropy": 2.5, "caption": "a red heart icon"}
        for s in ("test_hard", "ood_emoji", "ood_fonts", "rl") for i in range(4)
    ]
    funnel = [
        {"sample_id": f"x{i}", "source": "tabler", "step": st, "filter": f, "kept": i % 2 == 0,
         "reason": None if i % 2 == 0 else "too_short"}
        for st, f in enumerate(("parse", "render")) for i in range(4)
    ]
    funnel_live = [  # prep funnel parts of a running curate: per-part row order and raw row count
        r | {"row": i, "rows_in": 4} for i, r in enumerate(funnel)
    ]
    train_log = [
        {"stage": stage, "step": s, "seconds": float(s), "loss": 1.0 / (s + 1), "lr": 1e-5}
        for stage in ("sft", "grpo") for s in range(1, 4)
    ]
    rollouts = []
    hacks = [
        SVG.replace("0 0 100 100", "0 0 1 1").format('<rect width="1" height="1"/>'),  # tiny viewBox
        SVG.format("<text>red heart</text>"),  # restates the caption, and short
        "<svg><g>",  # does not render
        GT,  # honest
    ]
    for step in (1, 2):
        for k, svg in enumerate(hacks):
            rollouts.append({"step": step, "sample_id": "rl-0", "k": k, "completion": svg, "svg": svg,
                             "n_tokens": len(svg) // 4, "gt_n_tokens": len(GT) // 4,
                             "render_ok": k != 2, "error": None if k != 2 else "render_failed",
                             "l2": 0.5, "total": 0.5})
    rollouts.append({"step": 3, "sample_id": "rl-1", "k": 0, "completion": GT, "svg": GT, "render_ok": True,
                     "n_tokens": len(GT) // 4, "gt_n_tokens": len(GT) // 4,
                     "error": None, "l2": 0.9, "total": 0.9})
    rollouts.append({"step": 3, "sample_id": "rl-2", "k": 0, "completion": GT, "svg": GT, "render_ok": True,
                     "n_tokens": len(GT) // 4, "gt_n_tokens": len(GT) // 4,
                     "error": None, "l2": 0.1, "total": 0.1})  # the same SVG for another target
    predictions = [
        {k: r[k] for k in ("model_label", "dataset", "sample_id", "render_ok", "error", "seconds")}
        | {"svg_pred": BOX if r["model_label"] == "sft" and r["sample_id"].endswith("-1") else GT,
           "n_tokens": r["pred_tokens"]}
        for r in _metrics_rows()
    ]
    ablation_cells = [
        {"ablation": "temperature", "cell_index": i, "cell_id": f"temperature={t}", "status": "done",
         "overrides": f'{{"grpo.temperature": {t}}}', "grpo_temperature": t, "split": split,
         "model_label": "rlrf", "n": 4, "mse": 0.1 + 0.01 * i, "mse_ci95": 0.01, "ssim": 0.8 - 0.01 * i,
         "ssim_ci95": 0.01, "sft_mse": 0.12, "sft_ssim": 0.79}
        for i, t in enumerate((0.6, 1.0)) for split in ("test", "test_hard")
    ]
    return {"samples": samples, "funnel": funnel, "funnel_live": funnel_live, "train_log": train_log, "rollouts": rollouts,
            "predictions": predictions, "metrics": _metrics_rows(), "ablation_cells": ablation_cells}


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    d = tmp_path_factory.mktemp("tables")
    tables = {}
    for name, rows in _fixtures().items():
        p = d / f"{name}.parquet"
        pq.write_table(pa.Table.from_pylist(rows), p)
        tables[name] = [str(p)]
    con = duckdb.connect()
    refresh_views(con, tables)
    yield con
    con.close()


def _key(sql_text: str) -> list[str]:
    m = re.search(r"\(key:\s*([^)]*)\)", sql_text.split("CREATE", 1)[0])
    assert m, "header comment must state the key as '(key: a, b)'"
    return [k.strip() for k in m.group(1).split(",")]


def _is_macro(path) -> bool:
    return f"CREATE OR REPLACE MACRO {path.stem}(" in path.read_text()


@pytest.mark.parametrize("path", [p for p in sql_files() if not _is_macro(p)], ids=lambda p: p.name)
def test_every_report_runs_and_key_is_unique(con, path):
    text = path.read_text()
    assert re.search(r"^-- requires: \w+", text, re.M), "header must name base tables: -- requires: a, b"
    assert f"CREATE OR REPLACE VIEW {path.stem} AS" in text
    key = _key(text)
    n = con.execute(f"SELECT count(*) FROM {path.stem}").fetchone()[0]
    assert n > 0, f"{path.stem} is empty on the fixture"
    cols = ", ".join(key)
    dup = con.execute(f"SELECT {cols}, count(*) c FROM {path.stem} GROUP BY {cols} HAVING c > 1").fetchall()
    assert dup == [], f"{path.stem}: duplicate keys {dup[:5]}"


@pytest.mark.parametrize("path", [p for p in sql_files() if _is_macro(p)], ids=lambda p: p.name)
def test_every_table_macro_is_named_by_the_reports_that_use_it(con, path):
    users = [f for f in sql_files() if f != path and f"{path.stem}(" in f.read_text()]
    assert users, f"{path.stem} is used by no report"
    for f in users:
        header = next(line for line in f.read_text().splitlines() if line.startswith("-- requires:"))
        assert path.stem in header, f"{f.name} must require {path.stem} so it is created after it"
    assert con.execute(f"SELECT count(*) FROM duckdb_functions() WHERE function_name = '{path.stem}'").fetchall()[0][0]


def test_leaderboard_one_row_per_model_and_split(con):
    rows = con.sql("SELECT * FROM leaderboard").to_arrow_table().to_pylist()
    assert len(rows) == 3 * 3
    by = {(r["model_label"], r["split"]): r for r in rows}
    sft = by[("sft", "test_hard")]
    assert sft["n"] == 4 and sft["render_failure_rate"] == pytest.approx(0.25)
    assert sft["mse"] == pytest.approx(0.025)
    assert sft["mse_ci95"] == pytest.approx(1.96 * 0.0129099 / 2, rel=1e-4)
    assert sft["dino"] is None and sft["n_dino_unavailable"] == 4
    assert by[("vtracer", "test_hard")]["n_lpips_unavailable"] == 4
    fonts = by[("rlrf", "ood_fonts")]
    assert fonts["n_gt_render_failed"] == 1 and fonts["n_scored"] == 3
    assert fonts["mse"] == pytest.approx((0.11 + 0.12 + 0.13) / 3)
    assert sft["ink_iou"] == pytest.approx(0.15)
    assert sft["ink_ratio_median"] == pytest.approx(0.375)  # median of 0, .25, .5, .75
    assert sft["target_ink_share_median"] == pytest.approx(0.2)
    assert sft["low_ink_rate"] == pytest.approx(0.25)  # only the row with no ink


def test_ood_gap_is_difference_of_means(con):
    rows = con.sql("SELECT * FROM ood_gap ORDER BY model_label, ood_split").to_arrow_table().to_pylist()
    assert {(r["model_label"], r["ood_split"]) for r in rows} == {
        (m, s) for m in ("sft", "rlrf", "vtracer") for s in ("ood_emoji", "ood_fonts")}
    emoji = next(r for r in rows if r["model_label"] == "rlrf" and r["ood_split"] == "ood_emoji")
    assert emoji["mse_gap"] == pytest.approx(0.05)
    assert emoji["ssim_gap"] == pytest.approx(-0.05)


def test_reward_hacks_shares(con):
    rows = {r["step"]: r for r in con.sql("SELECT * FROM reward_hacks").to_arrow_table().to_pylist()}
    assert set(rows) == {1, 2, 3}
    s1 = rows[1]
    assert s1["n_rollouts"] == 4
    assert s1["tiny_viewbox_share"] == pytest.approx(0.25)
    assert s1["text_share"] == pytest.approx(0.25)
    assert s1["text_restates_caption_share"] == pytest.approx(0.25)
    assert s1["render_failure_share"] == pytest.approx(0.25)
    assert s1["short_share"] == pytest.approx(0.75)
    assert rows[3]["short_share"] == 0 and rows[3]["tiny_viewbox_share"] == 0
    assert s1["same_svg_other_target_share"] == 0  # four different SVGs for one target
    assert rows[3]["same_svg_other_target_share"] == pytest.approx(1.0)


def test_mode_collapse_counts_the_most_frequent_prediction(con):
    rows = {(r["model_label"], r["split"]): r for r in con.sql("SELECT * FROM mode_collapse").to_arrow_table().to_pylist()}
    assert len(rows) == 3 * 3
    sft = rows[("sft", "test_hard")]
    # the fixture's sft writes the GT for 3 samples and a box for one
    assert sft["n"] == 4 and sft["top_output_share"] == pytest.approx(0.75)
    assert sft["distinct_share"] == pytest.approx(0.5) and sft["top_output"] == GT[:200]
    assert rows[("rlrf", "test_hard")]["top_output_share"] == pytest.approx(1.0)
    # the GT's first element is its circle; the box is another first element
    assert sft["top_first_shape_share"] == pytest.approx(0.75) and sft["top_first_shape"].startswith("<circle")


def test_layout_collapse_counts_one_drawing_for_every_target(con):
    rows = {(r["model_label"], r["split"]): r for r in con.sql("SELECT * FROM layout_collapse").to_arrow_table().to_pylist()}
    assert rows[("rlrf", "test_hard")]["top_ink_layout_share"] == pytest.approx(1.0)
    assert rows[("rlrf", "ood_fonts")]["n"] == 3  # the GT that failed to render is not scored
    sft = rows[("sft", "test_hard")]
    assert sft["top_ink_layout_share"] == pytest.approx(0.25) and sft["blank_layout_share"] == pytest.approx(0.25)
    assert sft["target_top_ink_layout_share"] == pytest.approx(0.5)


def test_rlrf_vs_sft_pairs_the_same_samples(con):
    rows = con.execute("SELECT dataset, n, mse_sft, mse_rlrf FROM rlrf_vs_sft ORDER BY dataset").fetchall()
    assert [r[0] for r in rows] == ["ood_emoji", "ood_fonts", "test_hard"]
    by = {r[0]: r for r in rows}
    assert by["ood_fonts"][1] == 3  # the sample whose GT failed to render is not paired
    assert by["test_hard"][2] == pytest.approx(by["test_hard"][3])


def test_funnel_summary_balances(con):
    for _, rows_in, kept, dropped in con.execute("SELECT filter, rows_in, kept, dropped FROM funnel_summary").fetchall():
        assert rows_in == kept + dropped


def test_funnel_live_summary_matches_funnel_summary_on_the_same_rows(con):
    live = con.execute("SELECT step, filter, rows_in, kept, dropped, reasons FROM funnel_live_summary").fetchall()
    assert live == con.execute("SELECT step, filter, rows_in, kept, dropped, reasons FROM funnel_summary").fetchall()


def test_readme_table_script_prints_one_row_per_split_and_model(con):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "readme_table.py"
    spec = importlib.util.spec_from_file_location("readme_table", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    lines = mod.table(con, ["test_hard", "ood_emoji"], ["sft", "rlrf"]).splitlines()
    assert lines[0].startswith("| split | model | n | MSE")
    assert [line.split(" | ")[:2] for line in lines[2:]] == [
        ["| test_hard", "sft"], ["| test_hard", "rlrf"], ["| ood_emoji", "sft"], ["| ood_emoji", "rlrf"]]
    assert "0.150 ± " in lines[2]  # sft test_hard ink IoU mean
    assert lines[2].endswith("| 75% | 25% (50%) |")  # same first shape; same ink layout (targets')
    assert lines[3].endswith("| 100% | 100% (50%) |")  # rlrf: one layout for every target
