"""The curate flow on a local 2-worker Dask / Ray cluster (prefect-dask / prefect-ray) and
on the process runner: the render pool starts inside every worker, shuts down cleanly, and
the result equals the single-process `run_curate`, row for row; Dask workers exit without
being killed."""

import hashlib

import pyarrow.parquet as pq
import pytest

from flows.curate import curate_flow
from flows.runners import task_runner
from rlrf.data.stage import run_curate
from tests.data.test_stage import recipe_for


def digests(out):
    return {t: hashlib.sha256(repr(pq.read_table(out / f"{t}.parquet").to_pylist()).encode()).hexdigest()
            for t in ("samples", "funnel")}


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("single")
    recipe = recipe_for(tmp, shard_rows=20)
    run_curate(recipe, {}, tmp / "out")
    return recipe, digests(tmp / "out")


@pytest.mark.slow
@pytest.mark.parametrize("runner", ["dask", "ray", "process"])
def test_cluster_run_equals_single_process(harness, single, runner, tmp_path, caplog):
    recipe, expected = single
    recipe = recipe.model_copy(update={"curate": recipe.curate.model_copy(update={"task_runner": runner})})
    flow = curate_flow.with_options(task_runner=task_runner(recipe.curate, 2))
    summary = flow(recipe=recipe, out_dir=tmp_path / "out", upstream={})
    assert summary["shards"] == 3
    assert digests(tmp_path / "out") == expected
    assert not [r for r in caplog.records if "still alive" in r.getMessage()]  # workers closed, not killed


@pytest.mark.slow
def test_each_phase_has_a_progress_bar_that_ends_full(harness, single, tmp_path):
    """The Prefect UI shows a progress artifact per phase (`curate-prep`, ...), moved as
    shards finish (results still in submission order: the digests match)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    recipe, expected = single
    recipe = recipe.model_copy(update={"curate": recipe.curate.model_copy(update={"task_runner": "thread"})})
    curate_flow.with_options(task_runner=task_runner(recipe.curate, 2))(recipe=recipe, out_dir=tmp_path / "out",
                                                                           upstream={})
    assert digests(tmp_path / "out") == expected
    with get_client(sync_client=True) as client:
        bars = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["curate-prep", "curate-features"])))
    assert {b.key for b in bars} == {"curate-prep", "curate-features"}
    assert all(b.type == "progress" and float(b.data) == 100.0 for b in bars)



def test_the_flow_process_imports_no_torch_until_a_model_stage_runs():
    """The `rlrf` flow module (what `rlrf run` and a served deployment's flow run import),
    the deployments' server and the ablation flow leave torch and transformers to the stages
    that train or evaluate: a curate run's flow process, which holds the curation driver,
    stays ~150 MB instead of ~880 MB."""
    import subprocess
    import sys

    code = ("import sys, flows.rlrf_flow, flows.serve, flows.ablate; "
            "print(sorted(m for m in ('torch', 'transformers', 'trl') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
