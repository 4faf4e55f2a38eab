"""Where a running curate stands, read from its `work/` folder (issue #13): never from
Prefect state, so it works on any task runner and for a run that was killed.

`run_curate` writes `work/progress.json` when a phase starts (`write_progress`); each
shard of a per-shard phase leaves one file when it finishes (`prep/NNNNNN.parquet`,
`feats/s-NNNNNN.parquet`, `feats/q-<name>-<round>-NNNNNN.parquet`), and each prep shard
its funnel part (`funnel/prep-NNNNNN.parquet`, with `rows_in`, the shard's raw rows).
Counting those files gives shards done, rows read and the funnel so far. Files are
written under temp names and renamed, so a count never sees half a shard.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import duckdb

from rlrf.artifacts import sql_dir
from rlrf.data.stage import PROGRESS_FILE

# per-shard phases -> (sub-folder of work/, file name prefix) of the file a finished shard leaves
SHARD_FILES = {"prep": ("prep", ""), "features": ("feats", "s-"), "quota_render": ("feats", "q-")}
LIVE_VIEW = "funnel_live"  # the view over the prep funnel parts written so far


def funnel_parts(stage_dir: Path | str) -> str:
    """Glob of a curate stage's prep funnel parts (temp files start with '.': not matched)."""
    return str(Path(stage_dir) / "work" / "funnel" / "prep-*.parquet")


def curate_progress(stage_dir: Path | str, now: float | None = None) -> dict:
    """The running phase, shards done per per-shard phase (`{phase: {"done": k, "total": n}}`,
    total None for the quota renders, whose rounds are sized as they go), raw rows read so
    far, and for the running per-shard phase its rate (shards/s between the phase start and
    the newest shard file) and a rough ETA (seconds, assuming the same rate)."""
    work = Path(stage_dir) / "work"
    now = time.time() if now is None else now
    state = _read_state(work)
    total = state.get("shards")
    shards: dict[str, dict] = {}
    mtimes: dict[str, list[float]] = {}
    for phase, (sub, prefix) in SHARD_FILES.items():
        files = [p for p in (work / sub).glob(f"{prefix}[0-9a-z]*.parquet")
                 if phase != "prep" or p.stem.isdigit()]
        mtimes[phase] = sorted(p.stat().st_mtime for p in files)
        shards[phase] = {"done": len(files), "total": None if phase == "quota_render" else total}
    phase = state.get("phase")
    out = {"phase": phase, "phases_done": state.get("phases_done", {}), "shards": shards,
           "rows_read": rows_read(stage_dir), "started_at": state.get("started_at"),
           "elapsed_s": now - state["started_at"] if state.get("started_at") else None,
           "rate_shards_per_s": None, "rows_per_s": None, "eta_s": None}
    started = state.get("phase_started_at")
    if phase in SHARD_FILES and started and mtimes[phase]:
        done = [m for m in mtimes[phase] if m >= started - 1.0]  # this run's shards, not a resumed run's
        span = (done[-1] - started) if done else 0.0
        if done and span > 0:
            rate = len(done) / span
            out["rate_shards_per_s"] = rate
            k, n = shards[phase]["done"], shards[phase]["total"]
            if n is not None:
                out["eta_s"] = max(0.0, (n - k) / rate - (now - done[-1]))
            if phase == "prep" and k:
                out["rows_per_s"] = rate * out["rows_read"] / k
    return out


def _read_state(work: Path) -> dict:
    try:
        return json.loads((work / PROGRESS_FILE).read_text())
    except (OSError, ValueError):
        return {}  # a run started before progress.json existed: shard counts only


def rows_read(stage_dir: Path | str) -> int:
    """Raw input rows of the prep shards whose funnel part is written (each part repeats
    its shard's `rows_in` on every row)."""
    if not list((Path(stage_dir) / "work" / "funnel").glob("prep-*.parquet")):
        return 0
    con = duckdb.connect(config={"threads": 1})
    try:
        return int(con.execute(
            "SELECT coalesce(sum(n), 0) FROM (SELECT max(rows_in) AS n "
            "FROM read_parquet($files, filename = true) GROUP BY filename)",
            {"files": funnel_parts(stage_dir)}).fetchone()[0])
    finally:
        con.close()


def live_funnel(stage_dir: Path | str) -> list[dict]:
    """One row per per-row filter over the funnel parts written so far, as
    `sql/funnel_live_summary.sql` (the same shape as `funnel_summary`): step, filter,
    rows_in, kept, dropped, reasons (drop reasons by count). Empty before the first part."""
    if not list((Path(stage_dir) / "work" / "funnel").glob("prep-*.parquet")):
        return []
    con = duckdb.connect(config={"threads": 1})
    try:
        # DDL takes no bound parameters: the glob is quoted as a string literal
        glob = funnel_parts(stage_dir).replace("'", "''")
        con.execute(f"CREATE VIEW {LIVE_VIEW} AS SELECT * FROM read_parquet('{glob}', union_by_name = true)")
        for name in ("funnel_summary_of", "funnel_live_summary"):
            con.execute((sql_dir() / f"{name}.sql").read_text())
        rel = con.sql("SELECT * FROM funnel_live_summary ORDER BY step, filter")
        return [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]
    finally:
        con.close()
