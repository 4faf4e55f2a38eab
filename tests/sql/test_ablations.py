"""The `ablations` view on the `ablation_cells` fixture of test_reports: each cell against SFT."""

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rlrf.artifacts import refresh_views
from tests.sql.test_reports import _fixtures


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = tmp_path_factory.mktemp("ablations") / "ablation_cells.parquet"
    pq.write_table(pa.Table.from_pylist(_fixtures()["ablation_cells"]), path)
    con = duckdb.connect()
    refresh_views(con, {"ablation_cells": [str(path)]})
    yield con
    con.close()


def test_ablations_compare_each_cell_with_sft(con):
    rows = con.execute("SELECT cell_id, split, mse_vs_sft, ssim_vs_sft, mse_rank, ssim_rank FROM ablations "
                       "WHERE split = 'test' ORDER BY cell_index").fetchall()
    assert [r[0] for r in rows] == ["temperature=0.6", "temperature=1.0"]
    assert rows[0][2] == pytest.approx(-0.02) and rows[1][3] == pytest.approx(0.0)
    assert [r[4] for r in rows] == [1, 2] and [r[5] for r in rows] == [1, 2]
