"""The `ablation_cells` table: one row per cell x eval split of one ablation run.

Columns: the ablation and cell, the cell's overrides as JSON, every swept key's resolved
value as a typed column where it is a plain scalar (`grpo_temperature` DOUBLE,
`grpo_init` VARCHAR; lists such as a reward mix stay JSON only), the cell's run id and
stage folders, which stages the cell computed (the rest were reused), and the
`leaderboard` row of the cell's GRPO model on each split (mean and 95% CI of every
metric), with the SFT model's MSE / SSIM on the same rows as a reference.
The `ablations` view (`sql/ablations.sql`) reads it; `rlrf.ablation.report` plots it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from rlrf.ablation.spec import Ablation, Cell, dotted_value
from rlrf.artifacts import Manifest, connect_stages
from rlrf.eval.labels import model_label

FIXED = ("ablation", "ablation_run_id", "cell_index", "cell_id", "status", "error", "overrides", "recipe",
         "run_id", "stage_dirs", "computed_stages", "split", "model_label")
SCALARS = (bool, int, float, str)


@dataclass
class CellRun:
    """What one cell's run left behind: its stage folders, or the error that stopped it."""

    cell: Cell
    stage_dirs: dict[str, Path] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)
    error: str | None = None


def column_name(dotted: str) -> str:
    return dotted.replace(".", "_")


def typed_keys(abl: Ablation) -> dict[str, type]:
    """Swept keys whose resolved values are scalars of one kind -> that kind (ints among
    floats are floats: `grpo.temperature: [1, 1.2]`)."""
    out = {}
    for key in abl.swept_keys():
        values = [dotted_value(abl.recipes[c.id], key) for c in abl.cells]
        kinds = {type(v) for v in values if v is not None}
        if kinds == {int, float}:
            kinds = {float}
        if len(kinds) == 1 and kinds <= set(SCALARS):
            out[key] = kinds.pop()
    clash = [k for k in out if column_name(k) in FIXED]
    if clash:
        raise ValueError(f"ablation {abl.name}: swept keys {clash} would shadow fixed columns")
    return out


def computed_stages(run: CellRun) -> list[str]:
    """Stages this cell ran itself; the others were reused from an earlier run."""
    out = []
    for stage, d in run.stage_dirs.items():
        m = Manifest.read(Path(d))
        if m is not None and m.started_at >= run.started_at:
            out.append(stage)
    return out


def cell_rows(abl: Ablation, run: CellRun, index: int, ablation_run_id: str) -> list[dict[str, Any]]:
    recipe = abl.recipes[run.cell.id]
    base = {
        "ablation": abl.name,
        "ablation_run_id": ablation_run_id,
        "cell_index": index,
        "cell_id": run.cell.id,
        "status": "failed" if run.error else "done",
        "error": run.error,
        "overrides": json.dumps(run.cell.overrides, sort_keys=True),
        "recipe": recipe.name,
        "run_id": Path(run.stage_dirs["eval"]).parent.name if "eval" in run.stage_dirs else None,
        "stage_dirs": json.dumps({k: str(v) for k, v in run.stage_dirs.items()}),
        "computed_stages": computed_stages(run),
    }
    for key, kind in typed_keys(abl).items():
        v = dotted_value(recipe, key)
        base[column_name(key)] = None if v is None else kind(v)
    if run.error or "eval" not in run.stage_dirs:
        return [{**base, "split": None, "model_label": None}]
    label = model_label("rlrf", recipe)
    con = connect_stages({"eval": Path(run.stage_dirs["eval"])})
    try:
        rows = _rows(con, "SELECT * FROM leaderboard WHERE model_label = ? ORDER BY split", [label])
        sft = {r["split"]: r for r in _rows(con, "SELECT split, mse, ssim FROM leaderboard "
                                                 "WHERE model_label = 'sft'")}
    finally:
        con.close()
    if not rows:
        return [{**base, "split": None, "model_label": label, "status": "no_metrics",
                 "error": f"eval has no rows for model {label!r} (is it in eval.models?)"}]
    out = []
    for r in rows:
        ref = sft.get(r["split"], {})
        out.append({**base, **r, "sft_mse": ref.get("mse"), "sft_ssim": ref.get("ssim")})
    return out


def ablation_table(abl: Ablation, runs: list[CellRun], ablation_run_id: str) -> pa.Table:
    rows = []
    for i, run in enumerate(runs):
        rows += cell_rows(abl, run, i, ablation_run_id)
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    keys += [k for k in ("mse", "ssim", "sft_mse", "sft_ssim") if k not in keys]  # sql/ablations.sql reads them
    return pa.Table.from_pylist([{k: r.get(k) for k in keys} for r in rows])


def _rows(con, sql: str, params: list | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
