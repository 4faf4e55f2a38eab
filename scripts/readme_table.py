#!/usr/bin/env python
"""Print the README's "What the embedded default shows" table from a finished run.

Reads the `leaderboard` view (DuckDB over the newest finished stages of the recipe) and
prints one Markdown row per split x model: MSE, SSIM and ink IoU as mean ± 95% CI,
the median ink ratio (prediction ink / target ink), the share of predictions that
render, the target's median ink share, and how often the model's most frequent first shape
opens a prediction (`mode_collapse`: one box for every target) and how often its most frequent
8 x 8 ink layout recurs, next to the targets' own (`layout_collapse`: one drawing for every
target, whatever its SVG text). The blank canvas row is the floor.

    .venv/bin/python scripts/readme_table.py [--recipe tiny] [--splits test test_hard]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlrf.artifacts import Store, connect  # noqa: E402
from rlrf.recipe import load_recipe  # noqa: E402

MODELS = ("blank", "sft", "rlrf", "sft_greedy", "rlrf_greedy", "potrace", "vtracer")
QUERY = """
SELECT split, model_label, n_scored, mse, mse_ci95, ssim, ssim_ci95, ink_iou, ink_iou_ci95,
       ink_ratio_median, 1 - render_failure_rate AS valid, target_ink_share_median, top_first_shape_share,
       {layout}
FROM leaderboard
LEFT JOIN mode_collapse USING (model_label, split)
{join}
WHERE list_contains(?, split) AND list_contains(?, model_label)
"""
# `layout_collapse` needs the metrics' ink layouts, which evals before them lack
LAYOUT = {"layout": "top_ink_layout_share, target_top_ink_layout_share",
          "join": "LEFT JOIN layout_collapse USING (model_label, split)"}
NO_LAYOUT = {"layout": "NULL, NULL", "join": ""}


def _ci(v: float | None, ci: float | None, digits: int = 3) -> str:
    if v is None:
        return "NULL"
    return f"{v:.{digits}f} ± {ci:.{digits}f}" if ci is not None else f"{v:.{digits}f}"


def table(con, splits: list[str], models: list[str]) -> str:
    views = {v for (v,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    query = QUERY.format(**(LAYOUT if "layout_collapse" in views else NO_LAYOUT))
    rows = con.execute(query, [splits, models]).fetchall()
    order = {(s, m): (splits.index(s), models.index(m)) for s in splits for m in models}
    rows.sort(key=lambda r: order[(r[0], r[1])])
    out = ["| split | model | n | MSE ↓ | SSIM ↑ | ink IoU ↑ | ink ratio (median) | valid SVG | target ink (median) | same first shape | same ink layout (targets) |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for split, model, n, mse, mse_ci, ssim, ssim_ci, iou, iou_ci, ratio, valid, tink, top, lay, tlay in rows:
        out.append(f"| {split} | {model} | {n} | {_ci(mse, mse_ci)} | {_ci(ssim, ssim_ci)} | {_ci(iou, iou_ci)} | "
                   f"{'NULL' if ratio is None else f'{ratio:.2f}'} | {valid:.0%} | {tink:.3f} | "
                   f"{'—' if top is None or model == 'blank' else f'{top:.0%}'} | "
                   f"{'—' if lay is None or model == 'blank' else f'{lay:.0%} ({tlay:.0%})'} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipe", default="tiny")
    ap.add_argument("--splits", nargs="*", default=None, help="default: the recipe's eval splits")
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    args = ap.parse_args(argv)
    recipe = load_recipe(args.recipe)
    store = Store(recipe.artifacts_dir, recipe.name)
    con = connect(store.root / "rlrf.duckdb", store=store)
    try:
        print(table(con, args.splits or list(recipe.eval.splits), args.models))
    finally:
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
