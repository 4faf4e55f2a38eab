"""One metric registry: the `metrics` schema, the leaderboard, the OOD gap and the report
all follow `rlrf.scores.METRICS`, so a new pixel metric is declared in one place."""

import duckdb
import numpy as np
import pyarrow as pa

from rlrf.artifacts import sql_files
from rlrf.eval import metrics as M
from rlrf.scores import METRICS


def test_every_registered_metric_is_a_column_with_a_status_when_it_needs_weights():
    names = set(M.METRICS_SCHEMA.names)
    for m in METRICS:
        assert m.name in names
        assert (f"{m.name}_status" in names) == m.needs_weights
    assert len({m.name for m in METRICS}) == len(METRICS)


def test_score_images_fills_every_pixel_metric():
    img = np.full((32, 32, 3), 255, np.uint8)
    img[4:20, 4:20] = 0
    (row,) = M.score_images([img], [img], M.MetricModels())
    for m in METRICS:
        if m.fn is not None:
            assert row[m.name] is not None, m.name


def _views(table: pa.Table) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("metrics", table)
    for name in ("leaderboard", "ood_gap"):
        con.execute(next(f for f in sql_files() if f.stem == name).read_text())
    return con


def test_a_new_metric_column_reaches_the_leaderboard_and_ood_gap_without_sql_edits():
    rows = []
    for split, shift in (("test_hard", 0.0), ("ood_emoji", 0.5)):
        for i in range(3):
            row = {f.name: None for f in M.METRICS_SCHEMA}
            row.update(model_label="m", dataset=split, sample_id=f"{split}{i}", status="ok", render_ok=True,
                       mse=0.1 * i, seconds=1.0)
            row.update({f"{m.name}_status": "weights_unavailable" for m in M.LEARNED})
            row["new_pixel_metric"] = i + shift
            rows.append(row)
    schema = M.METRICS_SCHEMA.append(pa.field("new_pixel_metric", pa.float64()))
    con = _views(pa.Table.from_pylist(rows, schema=schema))
    board = con.sql("SELECT * FROM leaderboard WHERE split = 'test_hard'").to_arrow_table().to_pylist()[0]
    assert board["new_pixel_metric"] == 1.0 and board["new_pixel_metric_ci95"] > 0
    assert all(board[f"n_{m.name}_unavailable"] == 3 for m in M.LEARNED)
    gap = con.sql("SELECT * FROM ood_gap").to_arrow_table().to_pylist()[0]
    assert gap["new_pixel_metric_gap"] == 0.5 and gap["mse_gap"] == 0.0
