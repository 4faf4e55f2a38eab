"""The ablation_cells table without training: a failed cell keeps a row, and the catalogue
shows the newest run of every ablation of a recipe."""

from pathlib import Path

import duckdb
import yaml

from rlrf.ablation.spec import load_ablation
from rlrf.ablation.table import CellRun, ablation_table
from rlrf.artifacts import Store, ablation_dir, ablation_tables, refresh_views, write_table

MICRO = Path(__file__).parents[1] / "flows" / "micro.yaml"


def _ablation(tmp_path: Path, name: str, grid: dict):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"recipe": str(MICRO), "grid": grid}))
    return load_ablation(path)


def test_failed_cells_are_rows_and_newest_run_per_ablation_wins(tmp_path):
    store = Store(tmp_path / "artifacts", "micro")
    temp = _ablation(tmp_path, "temp", {"grpo.num_generations": [2, 4]})
    runs = [CellRun(c, error="Failed: out of memory") for c in temp.cells]
    for run_id in ("20260101-000000-0001", "20260102-000000-0001"):
        table = ablation_table(temp, runs, run_id)
        write_table(table, ablation_dir(store, "temp", run_id) / "ablation_cells.parquet")
    init = _ablation(tmp_path, "init", {"grpo.init": ["sft", "base"]})
    write_table(ablation_table(init, [CellRun(c, error="Crashed") for c in init.cells], "20260101-000000-0002"),
                ablation_dir(store, "init", "20260101-000000-0002") / "ablation_cells.parquet")

    tables = ablation_tables(store)
    assert [Path(p).parts[-3:-1] for p in tables["ablation_cells"]] == [
        ("init", "20260101-000000-0002"), ("temp", "20260102-000000-0001")]
    con = duckdb.connect()
    refresh_views(con, tables)
    rows = con.execute("SELECT ablation, cell_id, status, error, split, mse, grpo_num_generations, grpo_init, "
                       "ablation_run_id FROM ablations ORDER BY ablation, cell_index").fetchall()
    assert rows == [
        ("init", "init=sft", "failed", "Crashed", None, None, None, "sft", "20260101-000000-0002"),
        ("init", "init=base", "failed", "Crashed", None, None, None, "base", "20260101-000000-0002"),
        ("temp", "num_generations=2", "failed", "Failed: out of memory", None, None, 2, None, "20260102-000000-0001"),
        ("temp", "num_generations=4", "failed", "Failed: out of memory", None, None, 4, None, "20260102-000000-0001"),
    ]
