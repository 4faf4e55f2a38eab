"""Where a long curation stands (issue #13): `rlrf.data.progress` on the `work/` folder of
a real curate run killed half way, checked against the shards' raw rows and the funnel of
the same data curated to the end; `rlrf progress` and the `funnel_live` view."""

import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from rlrf.artifacts import Store, begin_stage, finish_stage
from rlrf.cli import main
from rlrf.data.progress import curate_progress, live_funnel
from rlrf.data.sources import plan_shards, read_shard
from rlrf.data.stage import run_curate
from tests.data.test_stage import recipe_for

PREP_DONE = 2  # prep shards finished before the kill (rows 0..19: ids r0..r19, none re-keyed)


def dies_after(k: int):
    """A `map_shards` that runs `k` shard calls in all, then is killed."""
    calls = []

    def run(fn, args_list, label):
        out = []
        for args in args_list:
            if len(calls) == k:
                raise KeyboardInterrupt("killed")
            calls.append(label)
            out.append(fn(*args))
        return out

    return run


def killed_run(tmp, recipe, run_id: str, k: int):
    store = Store(tmp / "art", "t")
    d = store.stage_dir(run_id, "curate")
    begin_stage(d, "curate", "t", "h", {})
    with pytest.raises(KeyboardInterrupt):
        run_curate(recipe, {}, d, map_shards=dies_after(k))
    return store, d


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("progress")
    recipe = recipe_for(tmp)
    specs = plan_shards(recipe.data, recipe.curate.shard_rows)
    raw = [read_shard(recipe.data, s) for s in specs]
    run_curate(recipe, {}, tmp / "full")
    final = pq.read_table(tmp / "full" / "funnel.parquet").to_pylist()
    return tmp, recipe, raw, final


@pytest.fixture(scope="module")
def in_prep(data):
    tmp, recipe, _, _ = data
    return killed_run(tmp / "prep", recipe, "20260101-000000-0001", PREP_DONE)


@pytest.fixture(scope="module")
def in_features(data):
    tmp, recipe, raw, _ = data
    return killed_run(tmp / "feats", recipe, "20260101-000000-0002", len(raw) + 2)


def final_counts(final, ids=None) -> dict[str, tuple[int, int, int]]:
    out = {}
    for r in final:
        if ids is None or r["sample_id"] in ids:
            n, kept, dropped = out.get(r["filter"], (0, 0, 0))
            out[r["filter"]] = (n + 1, kept + r["kept"], dropped + (not r["kept"]))
    return out


def test_progress_counts_the_finished_prep_shards(data, in_prep):
    _, _, raw, _ = data
    _, d = in_prep
    p = curate_progress(d)
    assert p["phase"] == "prep" and list(p["phases_done"]) == ["plan"]
    assert p["shards"] == {"prep": {"done": PREP_DONE, "total": len(raw)}, "features": {"done": 0, "total": len(raw)},
                           "quota_render": {"done": 0, "total": None}}
    assert p["rows_read"] == sum(t.num_rows for t in raw[:PREP_DONE]) == 20
    assert p["rate_shards_per_s"] > 0 and p["eta_s"] is not None and p["eta_s"] >= 0


def test_live_funnel_equals_the_final_funnel_of_the_same_shards(data, in_prep):
    _, _, raw, final = data
    _, d = in_prep
    ids = {i for t in raw[:PREP_DONE] for i in t["sample_id"].to_pylist()}
    assert "twice" not in ids and len(ids) == 20  # ids the final funnel keeps unchanged
    truth = final_counts(final, ids)
    live = live_funnel(d)
    assert [r["step"] for r in live] == sorted(r["step"] for r in live)
    compared = 0
    for r in live:
        assert r["rows_in"] == r["kept"] + r["dropped"]
        if r["filter"] in truth:
            assert (r["rows_in"], r["kept"], r["dropped"]) == truth[r["filter"]], r["filter"]
            compared += 1
        else:  # row_check / active_content: left out of the final funnel when nothing dropped there
            assert r["filter"] in ("row_check", "active_content") and r["dropped"] == 0
    assert compared >= 3
    assert any(r["dropped"] for r in live)  # r13 (base64) leaves in these shards
    base64 = next(r for r in live if "base64_image" in r["reasons"])
    assert base64["reasons"].startswith("base64_image 1")


def test_progress_in_the_features_phase(data, in_features):
    _, _, raw, final = data
    _, d = in_features
    p = curate_progress(d)
    assert p["phase"] == "features"
    assert list(p["phases_done"]) == ["plan", "prep", "dedupe", "tokenizer"]
    assert p["shards"]["prep"] == {"done": len(raw), "total": len(raw)}
    assert p["shards"]["features"] == {"done": 2, "total": len(raw)}
    assert p["rows_read"] == sum(t.num_rows for t in raw) == 60
    truth = final_counts(final)
    for r in live_funnel(d):  # every prep shard done: the per-row filters are final
        if r["filter"] in truth:
            assert (r["rows_in"], r["kept"], r["dropped"]) == truth[r["filter"]]


def test_rate_and_eta_from_shard_file_times(tmp_path):
    work = tmp_path / "work"
    (work / "prep").mkdir(parents=True)
    (work / "progress.json").write_text(json.dumps(
        {"phase": "prep", "phase_started_at": 1000.0, "phases_done": {"plan": 1.5}, "shards": 10, "started_at": 998.5}))
    for i, t in enumerate((1010.0, 1020.0)):
        f = work / "prep" / f"{i:06d}.parquet"
        f.write_bytes(b"")
        os.utime(f, (t, t))
    (work / "prep" / ".000002.parquet.x.tmp").write_bytes(b"")  # a shard being written: not done
    p = curate_progress(tmp_path, now=1030.0)
    assert p["shards"]["prep"] == {"done": 2, "total": 10}
    assert p["rate_shards_per_s"] == pytest.approx(0.1)  # 2 shards in the 20 s since the phase started
    assert p["eta_s"] == pytest.approx(8 / 0.1 - 10)  # 8 left, the newest finished 10 s ago
    assert p["elapsed_s"] == pytest.approx(31.5)


def recipe_file(tmp, store: Store):
    path = tmp / "t.yaml"
    path.write_text(f"name: t\nartifacts_dir: {store.root}\n")
    return str(path)


def test_cli_progress_prints_phase_shards_rows_and_funnel(data, in_prep, capsys):
    _, _, raw, _ = data
    store, d = in_prep
    assert main(["progress", "--recipe", recipe_file(store.root.parent, store)]) == 0
    out = capsys.readouterr().out
    assert f"at {d} (manifest: running" in out
    assert "phase: prep" in out and "phases done: plan" in out
    assert f"shards done: prep {PREP_DONE}/{len(raw)}, features 0/{len(raw)}, quota_render 0" in out
    assert "rows read: 20" in out and "ETA ~" in out
    table = out.split("live funnel", 1)[1].splitlines()[1:]
    assert table[0].split() == ["step", "filter", "rows_in", "kept", "dropped", "reasons"]
    rows = {r["filter"]: r for r in live_funnel(d)}
    for line in table[1:]:
        step, name, n, kept, dropped = line.split()[:5]
        assert (int(n), int(kept), int(dropped)) == (rows[name]["rows_in"], rows[name]["kept"], rows[name]["dropped"])
    assert len(table) - 1 == len(rows)


def test_cli_progress_when_nothing_runs(tmp_path, capsys):
    store = Store(tmp_path / "art", "t")
    assert main(["progress", "--recipe", recipe_file(tmp_path, store)]) == 0
    assert capsys.readouterr().out.strip() == f"no curate of recipe 't' is running (none under {store.recipe_dir})"
    d = store.stage_dir("20260101-000000-0003", "curate")
    finish_stage(d, begin_stage(d, "curate", "t", "h", {}))
    assert main(["progress", "--recipe", recipe_file(tmp_path, store)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith(f"the newest curate of recipe 't' finished: {d}")


def test_funnel_live_view_over_a_running_curate(data, in_prep, capsys):
    store, d = in_prep
    recipe = recipe_file(store.root.parent, store)
    parts = sorted((d / "work" / "funnel").glob("prep-*.parquet"))
    assert len(parts) == PREP_DONE
    assert main(["sql", "SELECT count(*) AS n FROM funnel_live", "--recipe", recipe, "--csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == str(sum(pq.read_metadata(p).num_rows for p in parts))
    assert main(["sql", "SELECT filter, rows_in, kept, dropped, reasons FROM funnel_live_summary ORDER BY step",
                 "--recipe", recipe, "--csv"]) == 0
    got = capsys.readouterr().out.splitlines()[1:]
    assert got == [",".join(str(r[c]) for c in ("filter", "rows_in", "kept", "dropped", "reasons"))
                   for r in live_funnel(d)]


def test_no_funnel_live_once_the_curate_finished(tmp_path, capsys):
    store = Store(tmp_path / "art", "t")
    d = store.stage_dir("20260101-000000-0004", "curate")
    (d / "work" / "funnel").mkdir(parents=True)
    m = begin_stage(d, "curate", "t", "h", {})
    (d / "work" / "funnel" / "prep-000000.parquet").write_bytes(b"")
    assert store.unfinished("curate") == d
    finish_stage(d, m)
    assert store.unfinished("curate") is None
    assert main(["views", "--recipe", recipe_file(tmp_path, store)]) == 0
    assert "funnel_live" not in capsys.readouterr().out.split()


def test_cli_progress_says_when_the_writer_is_gone(tmp_path, capsys):
    store = Store(tmp_path / "art", "t")
    d = store.stage_dir("20260101-000000-0005", "curate")
    m = begin_stage(d, "curate", "t", "h", {})
    (d / "work" / "prep").mkdir(parents=True)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    m.owner["pid"] = gone.pid
    m.write(d)
    assert main(["progress", "--recipe", recipe_file(tmp_path, store)]) == 0
    out = capsys.readouterr().out
    assert f"not running: pid {gone.pid} is gone" in out and "phase: unknown" in out
    assert "shards done: prep 0/?, features 0/?, quota_render 0" in out and "rows read: 0" in out


def test_catalogue_builds_when_work_vanishes_meanwhile(tmp_path, monkeypatch):
    import rlrf.artifacts as artifacts

    store = Store(tmp_path / "art", "t")
    d = store.stage_dir("20260101-000000-0006", "curate")
    finish_stage(d, begin_stage(d, "curate", "t", "h", {}))
    gone = str(tmp_path / "gone" / "work" / "funnel" / "prep-*.parquet")  # removed after live_tables looked
    monkeypatch.setattr(artifacts, "live_tables", lambda store: {"funnel_live": [gone]})
    con = artifacts.connect(store=store)
    views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert "funnel_live" not in views
