import pyarrow as pa

from rlrf.artifacts import Store, begin_stage, finish_stage, write_table
from rlrf.cli import main


def make_recipe(tmp_path):
    art = tmp_path / "art"
    store = Store(art, "r")
    d = store.stage_dir("run1", "curate")
    m = begin_stage(d, "curate", "r", "h", {})
    write_table(pa.table({"sample_id": ["a", "b", "c"], "split": ["train", "rl", "rl"], "source": ["s"] * 3,
                          "n_tokens": [1, 2, 3], "color_entropy": [0.1, 0.2, 0.3]}), d / "samples.parquet")
    finish_stage(d, m)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: r\nartifacts_dir: {art}\n")
    return recipe


def test_sql_prints_a_table(tmp_path, capsys):
    recipe = make_recipe(tmp_path)
    assert main(["sql", "SELECT split, count(*) AS n FROM samples GROUP BY split ORDER BY split",
                 "--recipe", str(recipe), "--csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["split,n", "rl,2", "train,1"]


def test_views_lists_base_and_report_views(tmp_path, capsys):
    recipe = make_recipe(tmp_path)
    assert main(["views", "--recipe", str(recipe)]) == 0
    names = capsys.readouterr().out.split()
    assert "samples" in names and "split_counts" in names


def test_bad_recipe_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: r\ngrpo: {num_generatons: 3}\n")
    assert main(["sql", "SELECT 1", "--recipe", str(bad)]) == 2
    assert "grpo.num_generatons: unknown key" in capsys.readouterr().err
