"""The DuckDB catalogue never blocks: concurrent `rlrf sql`, a reader holding the file
while a stage finishes, read-only artifacts; one catalogue file per recipe; DuckDB
errors said in one line."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pyarrow as pa
import pytest

from rlrf.artifacts import (
    Store,
    begin_stage,
    catalogue_path,
    connect,
    finish_stage,
    write_catalogue,
    write_table,
)
from rlrf.cli import main
from rlrf.config import repo_root
from rlrf.pipeline import complete, plan_stage
from rlrf.recipe import parse_recipe


def finished_curate(art, recipe: str, n: int) -> Store:
    store = Store(art, recipe)
    d = store.stage_dir("run1", "curate")
    m = begin_stage(d, "curate", recipe, "h", {})
    write_table(pa.table({"sample_id": [f"{recipe}{i}" for i in range(n)], "split": ["train"] * n,
                          "source": ["s"] * n, "n_tokens": [1] * n, "color_entropy": [0.1] * n}),
                d / "samples.parquet")
    finish_stage(d, m)
    write_catalogue(store)
    return store


def recipe_file(tmp_path, name: str) -> str:
    p = tmp_path / f"{name}.yaml"
    p.write_text(f"name: {name}\nartifacts_dir: {tmp_path / 'art'}\n")
    return str(p)


def cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rlrf.cli", *args], cwd=repo_root(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(repo_root())})


def test_two_readers_and_a_writer_at_once(tmp_path, fault):
    fault["fault"] = "two `rlrf sql` at once while a reader holds the catalogue file"
    store = finished_curate(tmp_path / "art", "a", 3)
    holder = duckdb.connect(str(catalogue_path(store)))  # a plain DuckDB user, read-write, left open
    try:
        procs = [cli("sql", "SELECT count(*) AS n FROM samples", "--csv", "--recipe", recipe_file(tmp_path, "a"))
                 for _ in range(2)]
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], [o[1][-500:] for o in outs]
        assert all(o[0].split() == ["n", "3"] for o in outs)
        # a stage finishing meanwhile rebuilds the file without waiting for the reader
        assert write_catalogue(store) == catalogue_path(store)
    finally:
        holder.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_artifacts_can_be_queried(tmp_path, capsys):
    finished_curate(tmp_path / "art", "a", 2)
    for p in sorted((tmp_path / "art").rglob("*"), reverse=True):
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        assert main(["sql", "SELECT count(*) AS n FROM samples", "--csv", "--recipe", recipe_file(tmp_path, "a")]) == 0
    finally:
        for p in (tmp_path / "art").rglob("*"):
            p.chmod(0o755 if p.is_dir() else 0o644)


def test_read_only_connection_writes_nothing(tmp_path):
    store = finished_curate(tmp_path / "art", "a", 2)
    before = sorted(p.name for p in store.recipe_dir.iterdir())
    con = connect(store=store)
    assert con.execute("SELECT count(*) FROM samples").fetchone() == (2,)
    con.close()
    assert sorted(p.name for p in store.recipe_dir.iterdir()) == before


def test_one_catalogue_file_per_recipe(tmp_path, fault):
    fault["fault"] = "two recipes share one artifacts folder"
    a = finished_curate(tmp_path / "art", "a", 2)
    b = finished_curate(tmp_path / "art", "b", 5)
    assert catalogue_path(a) != catalogue_path(b)
    for store, n in ((a, 2), (b, 5)):
        con = duckdb.connect(str(catalogue_path(store)), read_only=True)
        assert con.execute("SELECT count(*) FROM samples").fetchone() == (n,)
        con.close()
    assert not (tmp_path / "art" / "rlrf.duckdb").exists()


@pytest.mark.parametrize(("query", "expected"), [
    ("SELEC 1", "rlrf: bad SQL: Parser Error"),
    ("SELECT * FROM leaderboard", "(finished stages: curate; `rlrf views` lists the queryable views)"),
    ("SELECT nope FROM samples", "rlrf: Binder Error"),
])
def test_duckdb_errors_are_one_clear_line(tmp_path, capsys, query, expected):
    finished_curate(tmp_path / "art", "a", 2)
    assert main(["sql", query, "--recipe", recipe_file(tmp_path, "a")]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1, err


def test_no_run_yet_is_one_clear_line(tmp_path, capsys):
    assert main(["sql", "SELECT * FROM samples", "--recipe", recipe_file(tmp_path, "none")]) == 2
    err = capsys.readouterr().err
    assert "no finished stage for recipe 'none'" in err and "rlrf run --recipe none" in err
    assert len(err.strip().splitlines()) == 1


def test_completing_a_stage_rebuilds_the_catalogue(tmp_path):
    cfg = parse_recipe({"name": "c", "artifacts_dir": str(tmp_path / "art")})
    store = Store(cfg.artifacts_dir, "c")
    plan = plan_stage(store, cfg, "curate", "run1", False)
    m = begin_stage(plan.stage_dir, "curate", "c", plan.recipe_hash, plan.upstream)
    write_table(pa.table({"sample_id": ["x"], "split": ["rl"]}), plan.stage_dir / "samples.parquet")
    complete(plan, m, {}, 1.0, store)
    con = duckdb.connect(str(catalogue_path(store)), read_only=True)
    assert con.execute("SELECT sample_id FROM samples").fetchall() == [("x",)]
    con.close()
