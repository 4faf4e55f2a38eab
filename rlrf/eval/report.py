"""One self-contained HTML report of a run: leaderboard, training curves, gallery.

Everything the page shows is embedded (PNG data URIs, inline CSS): the file can be
mailed or archived and still opens offline. Numbers come from the `sql/` views over
the run's Parquet tables (`leaderboard`, `ood_gap`, `reward_hacks`), curves from
`train_log`, and the gallery re-renders GT and predicted SVGs side by side
(GT | SFT | RLRF | VTracer | Potrace, as in RLRF Fig. 4) for fixed samples per split.
Metrics stored as NULL because weights were unavailable are flagged at the top.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlrf.artifacts import atomic_write_bytes
from rlrf.config import RenderConfig
from rlrf.eval.metrics import LEARNED, LOWER_IS_BETTER
from rlrf.scores import METRICS

log = logging.getLogger(__name__)

MODEL_ORDER = ("sft", "rlrf", "vtracer", "potrace")
# leaderboard columns: every registered metric, then code efficiency (GT - predicted tokens)
COLUMNS = (*(m.name for m in METRICS), "code_eff")

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}
h1{margin-bottom:.2em} h2{margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3} td.l,th.l{text-align:left}
.warn{background:#fff0f0;border:2px solid #c00;color:#900;padding:.8em 1em;margin:1em 0;font-weight:600}
.note{color:#666;font-size:.85em}
.gallery td{text-align:center;vertical-align:top;font-size:.75em}
.gallery td.l{max-width:14em;word-break:break-all}
.gallery img{width:160px;height:160px;border:1px solid #ddd;display:block;margin:auto}
.best{font-weight:700}
"""

# Marks the body once every <img> decoded: a headless browser test reads this attribute.
_IMAGES_LOADED_JS = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images-loaded', ok + '/' + imgs.length);
});
"""


def _esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _relations(con) -> set[str]:
    rows = con.execute(
        "SELECT view_name FROM duckdb_views() WHERE NOT internal "
        "UNION SELECT table_name FROM duckdb_tables()"
    ).fetchall()
    return {r[0] for r in rows}


def _columns(con, name: str) -> list[str]:
    return [r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()]


def _rows(con, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _array_png(img: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _placeholder(size: int, text: str) -> bytes:
    """A visible stand-in for a render that failed (never a white image)."""
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (size, size), (255, 225, 225))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, size - 1, size - 1], outline=(200, 0, 0), width=3)
    for i, line in enumerate(text.split("\n")[:4]):
        d.text((8, 8 + 14 * i), line[:28], fill=(150, 0, 0))
    return _array_png(np.asarray(im))


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "NULL"
    if isinstance(v, float):
        return f"{v:.{digits}g}" if abs(v) < 1e4 else f"{v:.0f}"
    return str(v)


def _table(rows: list[dict[str, Any]], left: Sequence[str] = ()) -> str:
    if not rows:
        return "<p class='note'>no rows</p>"
    cols = list(rows[0])
    head = "".join(f"<th class='{'l' if c in left else ''}'>{_esc(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td class='{'l' if c in left else ''}'>{_esc(_fmt(r[c]))}</td>" for c in cols) + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


# --- sections -------------------------------------------------------------------------


def _weights_banner(con, rels: set[str]) -> str:
    if "metrics" not in rels:
        return ""
    cols = set(_columns(con, "metrics"))
    parts = []
    for metric in (m.name for m in LEARNED):
        if f"{metric}_status" not in cols:
            continue
        n = con.execute(
            f"SELECT count(*) FROM metrics WHERE {metric}_status = 'weights_unavailable'"
        ).fetchone()[0]
        if n:
            parts.append(f"{metric.upper()}: {n} rows NULL (weights_unavailable)")
    if not parts:
        return ""
    return (
        "<div class='warn'>WEIGHTS UNAVAILABLE: some learned metrics could not be computed on this "
        "machine and are stored as NULL, not scored. " + _esc("; ".join(parts)) +
        ". Provide the weights (see eval.dino_model / torch hub cache for LPIPS) and re-run eval.</div>"
    )


def _leaderboard(con, rels: set[str]) -> str:
    if "leaderboard" not in rels:
        return "<p class='note'>leaderboard view not available (no metrics table)</p>"
    rows = _rows(con, "SELECT * FROM leaderboard ORDER BY split, model_label")
    if not rows:
        return "<p class='note'>no metric rows</p>"
    task_only = {m.name for m in METRICS if m.task is not None}  # shown where some row has them
    metrics = [c for c in COLUMNS if c not in task_only
               or any(r.get(c) is not None or r.get(f"n_{c}_unavailable") for r in rows)]
    learned = [m.name for m in LEARNED if m.name in metrics]
    best: dict[tuple[str, str], Any] = {}
    for m in metrics:
        for split in {r["split"] for r in rows}:
            vals = [r[m] for r in rows if r["split"] == split and r.get(m) is not None]
            if vals:
                best[(split, m)] = min(vals) if m in LOWER_IS_BETTER else max(vals)
    head = ("<tr><th class='l'>split</th><th class='l'>model</th><th>n</th><th>render fail</th>"
            + "".join(f"<th>{m}{' ↓' if m in LOWER_IS_BETTER else ' ↑'}</th>" for m in metrics)
            + f"<th>ink ratio (median)</th><th>s / sample</th><th>NULL: {' / '.join(learned)}</th></tr>")
    body = []
    for r in rows:
        cells = [f"<td class='l'>{_esc(r['split'])}</td>", f"<td class='l'>{_esc(r['model_label'])}</td>",
                 f"<td>{r['n']}</td>", f"<td>{_fmt(r['render_failure_rate'], 3)}</td>"]
        for m in metrics:
            v, ci = r.get(m), r.get(f"{m}_ci95")
            cls = " class='best'" if v is not None and best.get((r["split"], m)) == v else ""
            text = "NULL" if v is None else f"{_fmt(v)} ± {_fmt(ci, 2)}"
            cells.append(f"<td{cls}>{_esc(text)}</td>")
        cells.append(f"<td>{_fmt(r.get('ink_ratio_median'), 2)}</td>")
        cells.append(f"<td>{_fmt(r.get('seconds_per_sample'), 3)}</td>")
        cells.append(f"<td>{' / '.join(str(r.get(f'n_{m}_unavailable') or 0) for m in learned)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return ("<table>" + head + "".join(body) + "</table>"
            "<p class='note'>mean ± 95% CI half-width; failed renders are scored as blank images and "
            "counted in 'render fail'; code_eff = GT tokens − predicted tokens; ink_iou = IoU of the "
            "prediction's and the target's ink (any channel &lt; 200 at 128 px), ink ratio = median of "
            "prediction ink / target ink (1 = as much ink as the target; a blank scores 0 on both).</p>")


def _line_plot(series: dict[str, tuple[list[float], list[float]]], title: str, ylabel: str) -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.2), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    for label, (x, y) in series.items():
        ax.plot(x, y, marker="o" if len(x) < 30 else None, markersize=3, label=label)
    ax.set_title(title)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _curves(con, rels: set[str]) -> str:
    if "train_log" not in rels:
        return "<p class='note'>no train_log table</p>"
    cols = _columns(con, "train_log")
    if "step" not in cols:
        return "<p class='note'>train_log has no step column</p>"
    has_stage = "stage" in cols
    length_col = next((c for c in ("completion_length", "completions_mean_length") if c in cols), None)
    reward_cols = [c for c in ("reward",) if c in cols] + sorted(
        c for c in cols if c.startswith("rewards_") and c.endswith("_mean"))
    plots = [("loss", ["loss"], "loss"), ("reward", reward_cols, "reward"),
             ("completion length", [length_col] if length_col else [], "tokens")]
    out = []
    for title, ycols, ylabel in plots:
        series: dict[str, tuple[list[float], list[float]]] = {}
        for c in ycols:
            if c not in cols:
                continue
            stage = "stage" if has_stage else "'all'"
            data = con.execute(
                f'SELECT {stage} AS stage, step, "{c}" FROM train_log WHERE "{c}" IS NOT NULL ORDER BY stage, step'
            ).fetchall()
            for st, step, val in data:
                xs, ys = series.setdefault(f"{st}: {c}" if len(ycols) > 1 or has_stage else c, ([], []))
                xs.append(float(step))
                ys.append(float(val))
        if not series:
            out.append(f"<p class='note'>train_log has no {_esc(title)} column</p>")
            continue
        if title == "reward" and "reward_std" in cols:
            title += " (mean; reward_std in train_log)"
        uri = _png_uri(_line_plot(series, title, ylabel))
        out.append(f"<img alt='{_esc(title)}' src='{uri}' style='max-width:48%'>")
    return "\n".join(out)


def _gallery(con, rels: set[str], limits: RenderConfig, gallery_size: int, thumb: int) -> str:
    if gallery_size <= 0:
        return ""
    if not {"samples", "predictions"} <= rels:
        return "<p class='note'>gallery needs the samples and predictions tables</p>"
    from rlrf.svg.pool import shared_pool

    labels = [r[0] for r in con.execute("SELECT DISTINCT model_label FROM predictions").fetchall()]
    labels = [m for m in MODEL_ORDER if m in labels] + sorted(m for m in labels if m not in MODEL_ORDER)
    has_metrics = "metrics" in rels
    out = []
    for (split,) in con.execute("SELECT DISTINCT dataset FROM predictions ORDER BY dataset").fetchall():
        # Fixed, reproducible choice: the first sample ids of the split that were predicted.
        ids = [r[0] for r in con.execute(
            "SELECT DISTINCT p.sample_id FROM predictions p JOIN samples s USING (sample_id) "
            "WHERE p.dataset = ? ORDER BY p.sample_id LIMIT ?", [split, gallery_size]).fetchall()]
        if not ids:
            continue
        gt = {r["sample_id"]: r["svg"] for r in _rows(
            con, "SELECT sample_id, svg FROM samples WHERE list_contains(?, sample_id)", [ids])}
        preds = {(r["model_label"], r["sample_id"]): r["svg_pred"] for r in _rows(
            con, "SELECT model_label, sample_id, svg_pred FROM predictions "
                 "WHERE dataset = ? AND list_contains(?, sample_id)", [split, ids])}
        scores = {}
        if has_metrics:
            scores = {(r["model_label"], r["sample_id"]): r for r in _rows(
                con, "SELECT model_label, sample_id, mse, ssim, ink_iou, status FROM metrics "
                     "WHERE dataset = ? AND list_contains(?, sample_id)", [split, ids])}
        cells = [(sid, None, gt.get(sid) or "") for sid in ids]
        cells += [(sid, m, preds.get((m, sid)) or "") for sid in ids for m in labels]
        renders = shared_pool(limits).render_many([c[2] for c in cells], thumb)
        img_of = {(sid, m): r for (sid, m, _), r in zip(cells, renders, strict=True)}
        head = "<tr><th class='l'>sample</th><th>GT</th>" + "".join(f"<th>{_esc(m)}</th>" for m in labels) + "</tr>"
        body = []
        for sid in ids:
            tds = [f"<td class='l'>{_esc(sid)}</td>"]
            for m in [None, *labels]:
                r = img_of[(sid, m)]
                if m is not None and (m, sid) not in preds:
                    png, cap = _placeholder(thumb, "no prediction"), "—"
                elif isinstance(r, np.ndarray):
                    png, cap = _array_png(r), ""
                else:
                    png, cap = _placeholder(thumb, f"render failed\n{r.reason}"), "render_failed"
                s = scores.get((m, sid))
                if s is not None and s["mse"] is not None:
                    cap = f"MSE {s['mse']:.4f} · SSIM {s['ssim']:.3f}" + (
                        f" · IoU {s['ink_iou']:.2f}" if s.get("ink_iou") is not None else "") + (
                        f" · {s['status']}" if s["status"] != "ok" else "")
                tds.append(f"<td><img alt='{_esc(m or 'GT')} {_esc(sid)}' src='{_png_uri(png)}'>{_esc(cap)}</td>")
            body.append("<tr>" + "".join(tds) + "</tr>")
        out.append(f"<h3>{_esc(split)}</h3><table class='gallery'>{head}{''.join(body)}</table>")
    return "\n".join(out) or "<p class='note'>no predictions with matching samples</p>"


def write_report(
    con,
    out_dir: Path,
    *,
    title: str = "RLRF evaluation report",
    render_limits: RenderConfig | None = None,
    gallery_size: int = 6,
    thumb_size: int = 160,
) -> Path:
    """Write `out_dir/report.html` from the catalogue `con` (base views + sql/ views)."""
    rels = _relations(con)
    limits = render_limits or RenderConfig()
    sections = [
        f"<h1>{_esc(title)}</h1>",
        _weights_banner(con, rels),
        "<h2>Leaderboard</h2>", _leaderboard(con, rels),
    ]
    if "ood_gap" in rels:
        gap = _rows(con, "SELECT * FROM ood_gap")
        sections += ["<h2>OOD gap (OOD − test_hard)</h2>",
                     _table(gap, left=("model_label", "ood_split")) if gap else
                     "<p class='note'>no model was scored on both test_hard and an ood_* split</p>"]
    sections += ["<h2>Training curves</h2>", _curves(con, rels)]
    if "reward_hacks" in rels:
        hacks = _rows(con, "SELECT * FROM reward_hacks ORDER BY step")
        sections += ["<h2>Reward-hack monitor (GRPO roll-outs)</h2>"]
        if hacks:
            share_cols = [c for c in hacks[0] if c.endswith("_share")]
            series = {c: ([float(h["step"]) for h in hacks], [float(h[c] or 0) for h in hacks]) for c in share_cols}
            sections.append(f"<img alt='reward hacks' src='{_png_uri(_line_plot(series, 'hack shares', 'share'))}'"
                            " style='max-width:48%'>")
        sections.append(_table(hacks[-20:]))
    sections += ["<h2>Gallery</h2>", _gallery(con, rels, limits, gallery_size, thumb_size)]
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(s for s in sections if s)
        + f"<script>{_IMAGES_LOADED_JS}</script></body></html>"
    )
    out = Path(out_dir) / "report.html"
    atomic_write_bytes(out, page.encode("utf-8"))
    log.info("report written to %s (%d KiB)", out, len(page) // 1024)
    return out
