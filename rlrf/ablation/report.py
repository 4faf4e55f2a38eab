"""What an ablation run leaves behind: `ablation_cells.parquet`, a copy of its file, and one
self-contained HTML page: the `ablations` rows and, for every swept key, one figure of
metric vs value with 95% CIs (one line per eval split, the SFT model on the same rows
dashed), the way RLRF's sweeps are read. Images are embedded (base64 PNG) like the eval
report, so the file opens offline.
"""

from __future__ import annotations

import io
import json
import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb

from rlrf.ablation.spec import Ablation
from rlrf.ablation.table import CellRun, ablation_table, column_name, typed_keys
from rlrf.artifacts import Store, ablation_dir, atomic_write_bytes, refresh_views, write_table
from rlrf.eval.metrics import LOWER_IS_BETTER
from rlrf.eval.report import _CSS, _esc, _png_uri, _table
from rlrf.scores import METRICS

log = logging.getLogger(__name__)

PLOT_METRICS = tuple(m.name for m in METRICS)  # those with values are plotted
TABLE_COLUMNS = ("cell_id", "split", "model_label", "status", "n", "render_failure_rate", "mse", "mse_ci95",
                 "ssim", "ssim_ci95", "sft_mse", "sft_ssim", "mse_vs_sft", "ssim_vs_sft", "computed_stages")


def _x_values(abl: Ablation, key: str, rows: list[dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """cell_id -> x position / label for `key`; numeric when the key is a typed number."""
    col, typed = column_name(key), key in typed_keys(abl)
    numeric = typed and all(isinstance(r.get(col), int | float) and not isinstance(r.get(col), bool) for r in rows)
    out = {}
    for r in rows:
        if numeric:
            out[r["cell_id"]] = float(r[col])
        elif typed:
            out[r["cell_id"]] = str(r[col])
        else:  # a list / mapping value (a reward mix): the cell id names it
            out[r["cell_id"]] = r["cell_id"]
    return out, numeric


def sweep_plot(abl: Ablation, key: str, rows: list[dict[str, Any]]) -> bytes:
    """PNG: one panel per metric, metric vs the value of `key`; other swept keys split the lines."""
    from matplotlib.figure import Figure

    rows = [r for r in rows if r.get("split") is not None]
    xs, numeric = _x_values(abl, key, rows)
    others = [k for k in abl.swept_keys() if k != key]
    metrics = [m for m in PLOT_METRICS if any(r.get(m) is not None for r in rows)]
    cats = list(dict.fromkeys(xs[r["cell_id"]] for r in sorted(rows, key=lambda r: r["cell_index"])))
    pos = (lambda v: v) if numeric else (lambda v: float(cats.index(v)))  # noqa: E731
    fig = Figure(figsize=(4.2 * max(1, len(metrics)), 3.4), dpi=100)
    for j, m in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), j + 1)
        series: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            rest = ", ".join(f"{k.rsplit('.', 1)[-1]}={_other(abl, r, k)}" for k in others)
            series[r["split"] + (f" · {rest}" if rest else "")].append(r)
        for i, (label, rs) in enumerate(sorted(series.items())):
            rs = sorted(rs, key=lambda r: pos(xs[r["cell_id"]]))
            x = [pos(xs[r["cell_id"]]) for r in rs]
            y = [r.get(m) for r in rs]
            err = [r.get(f"{m}_ci95") or 0.0 for r in rs]
            color = f"C{i % 10}"
            ax.errorbar(x, [float("nan") if v is None else v for v in y], yerr=err, marker="o", capsize=3,
                        color=color, label=label)
            ref = [r.get(f"sft_{m}") for r in rs]
            if any(v is not None for v in ref):
                ax.plot(x, [float("nan") if v is None else v for v in ref], linestyle="--", color=color,
                        alpha=0.6, label=f"{label} (sft)")
        ax.set_title(f"{m} {'↓' if m in LOWER_IS_BETTER else '↑'}")
        ax.set_xlabel(key)
        if not numeric:
            ax.set_xticks(range(len(cats)))
            ax.set_xticklabels(cats, rotation=20, fontsize=7)
            ax.set_xlim(-0.5, len(cats) - 0.5)
        ax.grid(alpha=0.3)
        if j == 0:
            ax.legend(fontsize=6)
    fig.suptitle(f"{abl.name}: metric vs {key} (mean ± 95% CI)", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _other(abl: Ablation, row: dict[str, Any], key: str) -> str:
    return str(row[column_name(key)]) if key in typed_keys(abl) else row["cell_id"]


def write_ablation(abl: Ablation, runs: list[CellRun], store: Store, run_id: str) -> dict[str, Any]:
    """Write the run's `ablation_cells.parquet`, a copy of the ablation file and `report.html`
    under `ablation_dir`; the report reads the table through the `ablations` view."""
    out_dir = ablation_dir(store, abl.name, run_id)
    table = ablation_table(abl, runs, run_id)
    path = write_table(table, out_dir / "ablation_cells.parquet")
    atomic_write_bytes(out_dir / "ablation.yaml", abl.path.read_bytes())
    con = duckdb.connect()
    try:
        refresh_views(con, {"ablation_cells": [str(path)]})
        report = write_ablation_report(con, abl, out_dir)
        summary = _dicts(con, "SELECT cell_id, split, status, n, mse, mse_ci95, ssim, ssim_ci95, sft_mse, sft_ssim "
                              "FROM ablations ORDER BY cell_index, split", [])
    finally:
        con.close()
    return {"dir": str(out_dir), "table": str(path), "report": str(report), "rows": summary,
            "failed": [r.cell.id for r in runs if r.error]}


def write_ablation_report(con, abl: Ablation, out_dir: Path) -> Path:
    """Write out_dir/report.html from the `ablations` view of `con` (this run's rows)."""
    rows = _dicts(con, "SELECT * FROM ablations WHERE ablation = ? ORDER BY cell_index, split", [abl.name])
    failed = sorted({r["cell_id"] for r in rows if r["status"] != "done"})
    meta = [("ablation file", str(abl.path)), ("base recipe", abl.recipe), ("cells", str(len(abl.cells))),
            ("stages", ", ".join(abl.stages)),
            ("overrides in every cell", json.dumps(abl.overrides, sort_keys=True))]
    ran: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        for s in r.get("computed_stages") or []:
            ran[s].add(r["cell_id"])
    meta.append(("stages computed (others reused)",
                 "; ".join(f"{s}: {len(ran[s])} of {len(abl.cells)} cells" for s in abl.stages)))
    sections = [f"<h1>Ablation: {_esc(abl.name)}</h1>"]
    if abl.description:
        sections.append(f"<p>{_esc(abl.description)}</p>")
    if failed:
        sections.append(f"<div class='warn'>FAILED CELLS (no metrics): {_esc(', '.join(failed))}</div>")
    blank = sorted({f"{r['cell_id']} / {r['split']}" for r in rows if (r.get("render_failure_rate") or 0) >= 0.99})
    if blank:
        sections.append("<div class='warn'>NO PREDICTION RENDERED in " + _esc(", ".join(blank)) + ": those "
                        "metrics are the blank-canvas score, not a comparison of the cells.</div>")
    sections.append("<table>" + "".join(f"<tr><th class='l'>{_esc(k)}</th><td class='l'>{_esc(v)}</td></tr>"
                                        for k, v in meta) + "</table>")
    sections.append("<h2>Metric vs swept value</h2>")
    for key in abl.swept_keys():
        sections.append(f"<img alt='{_esc(key)}' src='{_png_uri(sweep_plot(abl, key, rows))}' "
                        "style='max-width:100%'>")
    sections.append("<h2>Cells</h2>")
    shown = [{c: r.get(c) for c in TABLE_COLUMNS if c in r} for r in rows]
    for r in shown:
        if isinstance(r.get("computed_stages"), list):
            r["computed_stages"] = ", ".join(r["computed_stages"]) or "none (all reused)"
    sections.append(_table(shown, left=("cell_id", "split", "model_label", "status", "computed_stages")))
    sections.append("<p class='note'>mean and 95% CI half-width over the split's scored samples "
                    "(the leaderboard view); sft_* is the SFT model on the same rows; every cell's "
                    "overrides are in the `ablations` view (`rlrf sql \"SELECT * FROM ablations\"`).</p>")
    page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Ablation {_esc(abl.name)}</title><style>{_CSS}</style></head><body>"
            + "\n".join(sections) + "</body></html>")
    out = Path(out_dir) / "report.html"
    atomic_write_bytes(out, page.encode("utf-8"))
    log.info("ablation report written to %s", out)
    return out


def ablation_markdown(rows: list[dict[str, Any]]) -> str:
    """The summary rows of `write_ablation` as a Markdown table (Prefect artifact, CLI)."""
    if not rows:
        return "_(no rows)_"
    cols = list(rows[0])
    lines = [" | ".join(cols), " | ".join("---" for _ in cols)]
    lines += [" | ".join(_md(r[c]) for c in cols) for r in rows]
    return "\n".join(lines)


def _md(v: Any) -> str:
    if v is None:
        return "NULL"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _dicts(con, sql: str, params: list) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
