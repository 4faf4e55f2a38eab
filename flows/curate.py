"""Prefect wiring of the curate stage; the logic lives in `rlrf.data`."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from rlrf.artifacts import write_table
from rlrf.config import Recipe
from rlrf.data.curate import EVAL_POOL, TRAIN_POOL, prepare, route, select
from rlrf.data.embeddings import dino_embeddings
from rlrf.data.features import render_features
from rlrf.data.funnel import Funnel
from rlrf.data.sources import load_rows
from rlrf.models.tokenizer import count_tokens, load_tokenizer, train_tokenizer
from rlrf.weights import WeightsUnavailable


@task(retries=1, cache_policy=NO_CACHE)
def load_task(recipe: Recipe) -> pa.Table:
    return load_rows(recipe.data)


@task(retries=1, retry_delay_seconds=1, cache_policy=NO_CACHE)
def render_shard(sample_ids: list[str], svgs: list[str], recipe: Recipe) -> pa.Table:
    return render_features(sample_ids, svgs, recipe.curate.render_size, recipe.render)


@task(cache_policy=NO_CACHE)
def tokenizer_task(pools: dict[str, pa.Table], recipe: Recipe, out_dir: Path) -> dict[str, int]:
    """Train (or load) the tokenizer on the train pool only, save it, count every row."""
    if recipe.tokenizer.name_or_path:
        tok = load_tokenizer(recipe.tokenizer, None)
    else:
        train = pools.get(TRAIN_POOL)
        tok = train_tokenizer(train["svg"].to_pylist() if train is not None else [], recipe.tokenizer)
    tok.save_pretrained(str(out_dir / "tokenizer"))
    counts: dict[str, int] = {}
    for rows in pools.values():
        ids = rows["sample_id"].to_pylist()
        counts.update(zip(ids, count_tokens(tok, rows["svg"].to_pylist()), strict=True))
    return counts


@task(cache_policy=NO_CACHE)
def cluster_embeddings(pools: dict[str, pa.Table], recipe: Recipe) -> tuple[dict | None, list[str]]:
    """DINOv2 features of the test_hard candidates when the recipe asks for them."""
    cluster = recipe.curate.cluster
    pool = pools.get(EVAL_POOL)
    if cluster.features != "dino" or pool is None:
        return None, []
    try:
        emb = dino_embeddings(pool["sample_id"].to_pylist(), pool["svg"].to_pylist(), cluster, recipe.render)
    except WeightsUnavailable as exc:
        note = f"WEIGHTS UNAVAILABLE: test_hard clusters use colour histograms, not DINOv2 ({exc})"
        get_run_logger().warning(note)
        return None, [note]
    return emb, []


def _shards(pools: dict[str, pa.Table], shard_rows: int):
    rows = pa.concat_tables(list(pools.values())) if pools else None
    if rows is None:
        return
    for start in range(0, rows.num_rows, shard_rows):
        part = rows.slice(start, shard_rows)
        yield part["sample_id"].to_pylist(), part["svg"].to_pylist()


@flow(name="curate", log_prints=False)
def curate_flow(recipe: Recipe, out_dir: Path, upstream: dict[str, Path]) -> dict[str, float]:
    logger = get_run_logger()
    t0 = time.time()
    funnel = Funnel()
    raw = load_task(recipe)
    logger.info("curate: %d raw rows from %s", raw.num_rows, recipe.data.source)
    rows = prepare(raw, recipe.curate, funnel)
    pools = route(rows, recipe.data, recipe.curate, funnel)
    t_cheap = time.time()
    counts = tokenizer_task(pools, recipe, out_dir)
    futures = [render_shard.submit(ids, svgs, recipe) for ids, svgs in _shards(pools, recipe.curate.shard_rows)]
    features = pa.concat_tables([f.result() for f in futures]) if futures else None
    t_render = time.time()
    embeddings, notes = cluster_embeddings(pools, recipe)
    samples = select(pools, features, counts, recipe.curate, recipe.seed, funnel, embeddings)
    write_table(samples, out_dir / "samples.parquet")
    write_table(funnel.table(), out_dir / "funnel.parquet")
    logger.info("curate: %d samples written to %s", samples.num_rows, out_dir)
    return {"cheap_s": t_cheap - t0, "tokens_and_render_s": t_render - t_cheap, "total_s": time.time() - t0,
            "notes": notes}
