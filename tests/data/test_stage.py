"""The streaming curate stage (`rlrf.data.stage.run_curate`) against the in-memory rules
(`prepare` / `route` / `select` on whole tables): same samples and funnel, row for row,
whatever the shard size; resumable; only the needed rows rendered."""

import hashlib
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from transformers import AutoTokenizer

from rlrf.data.curate import TRAIN_POOL, prepare, route, select
from rlrf.data.features import render_features
from rlrf.data.funnel import Funnel
from rlrf.data.sources import load_rows, plan_shards, read_shard
from rlrf.data.stage import run_curate
from rlrf.models.tokenizer import count_tokens, train_tokenizer
from rlrf.recipe import parse_recipe

NS = 'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"'


def colourful(i: int) -> str:
    cells = "".join(
        f'<rect x="{x * 8}" y="{y * 8}" width="8" height="8" fill="#{(i * 37 + x * 64) % 256:02x}'
        f'{(y * 64) % 256:02x}{(i * 91) % 256:02x}"/>' for x in range(4) for y in range(4 if i % 3 else 1))
    return f"<svg {NS}>{cells}<path d='M{i % 30}.123456 3L9 {i % 7}.5Z'/></svg>"


def recipe_for(tmp_path, **curate):
    base = {"render_size": 32, "white_threshold": 0.99, "hard_min_tokens": 20, "hard_min_color_entropy": 0.5,
            "test_hard_size": 6, "rl_min_tokens": 170, "rl_min_color_entropy": 1.0, "rl_size": 5,
            "train_max_tokens": 200, "test_fraction": 0.2, "test_plain_fraction": 0.1, "test_size": 4,
            "cluster": {"k": 2}, "shard_rows": 7}
    base.update(curate)
    n = 60
    svgs = [colourful(i) for i in range(n)]
    svgs[5] = svgs[3]  # a duplicate (across shards)
    svgs[9] = f"<svg {NS}><rect width='10' height=</svg>"  # broken
    svgs[11] = f'<svg {NS}><rect width="32" height="32" fill="#fff"/></svg>'  # white
    svgs[13] = svgs[13].replace("</svg>", f'<image href="data:image/png;base64,{"A" * 900}"/></svg>')
    ids = [f"r{i}" for i in range(n)]
    ids[20] = ids[40] = "twice"  # one id, two different SVGs: both re-keyed
    table = pa.table({"Filename": ids, "Svg": svgs, "split": ["test" if i % 5 == 0 else "train" for i in range(n)]})
    pq.write_table(table, tmp_path / "stack.parquet", row_group_size=5)
    return parse_recipe({"name": "t", "data": {"source": "local", "path": str(tmp_path / "stack.parquet"),
                                               "split_column": "split"},
                         "curate": base, "render": {"timeout_s": 5, "workers": 2}, "tokenizer": {"vocab_size": 300}})


def in_memory(recipe):
    """The rules on whole tables, as the stage ran before streaming."""
    cfg = recipe.curate
    funnel = Funnel()
    rows = prepare(load_rows(recipe.data), cfg, funnel)
    pools = route(rows, recipe.data, cfg, funnel)
    tok = train_tokenizer(pools[TRAIN_POOL]["svg"].to_pylist(), recipe.tokenizer)
    everything = pa.concat_tables(list(pools.values()))
    ids, svgs = everything["sample_id"].to_pylist(), everything["svg"].to_pylist()
    feats = render_features(ids, svgs, cfg.render_size, recipe.render)
    samples = select(pools, feats, dict(zip(ids, count_tokens(tok, svgs), strict=True)), cfg, recipe.seed, funnel)
    return samples, funnel.table()


def digest(table: pa.Table) -> str:
    return hashlib.sha256(repr(table.to_pylist()).encode()).hexdigest()


@pytest.fixture(scope="module")
def streamed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stream")
    recipe = recipe_for(tmp)
    summary = run_curate(recipe, {}, tmp / "out")
    return recipe, tmp / "out", summary


def test_streamed_equals_in_memory_row_for_row(streamed):
    recipe, out, summary = streamed
    assert summary["shards"] > 5  # row groups of 5 rows, shards of >= 7
    samples, funnel = in_memory(recipe)
    got_samples, got_funnel = pq.read_table(out / "samples.parquet"), pq.read_table(out / "funnel.parquet")
    assert got_samples.schema == samples.schema and got_funnel.schema == funnel.schema
    assert got_samples.to_pylist() == samples.to_pylist()
    assert got_funnel.to_pylist() == funnel.to_pylist()
    assert {"train", "rl", "test", "test_hard"} <= set(samples["split"].to_pylist())
    reasons = {r["sample_id"]: r["reason"] for r in got_funnel.to_pylist() if not r["kept"]}
    assert reasons["r5"] == "duplicate" and reasons["r13"] == "base64_image"
    assert reasons["r9"].startswith("render_failed:") and reasons["r11"] == "white_background"
    assert not (out / "work").exists()  # shard files removed once the tables are written


def test_shards_cover_the_capped_rows_in_load_order(tmp_path):
    recipe = recipe_for(tmp_path)
    data = recipe.data.model_copy(update={"max_rows": 9})
    rows = pa.concat_tables([read_shard(data, s) for s in plan_shards(data, 4)]).sort_by("row")
    assert rows.drop_columns(["row"]).to_pylist() == load_rows(data).to_pylist()  # the cap's rows, its order


def test_killed_run_resumes_into_the_same_result(streamed, tmp_path):
    recipe, out, _ = streamed
    calls = []

    def dies_after_three(fn, args_list, label):
        res = []
        for args in args_list:
            if len(calls) == 3:
                raise KeyboardInterrupt("killed")
            calls.append(label)
            res.append(fn(*args))
        return res

    with pytest.raises(KeyboardInterrupt):
        run_curate(recipe, {}, tmp_path / "out", map_shards=dies_after_three)
    assert len(list((tmp_path / "out" / "work" / "prep").glob("*.parquet"))) == 3
    run_curate(recipe, {}, tmp_path / "out")
    for table in ("samples", "funnel"):
        assert digest(pq.read_table(tmp_path / "out" / f"{table}.parquet")) == digest(pq.read_table(out / f"{table}.parquet"))


def test_a_run_killed_while_writing_samples_resumes_into_the_same_result(streamed, tmp_path):
    """Killed after some shards wrote their samples parts: the rerun redoes the selection
    and rewrites every part (none left from the killed run is read twice), and the tables
    are the uninterrupted run's."""
    recipe, out, _ = streamed
    written = []

    def dies_in_samples(fn, args_list, label):
        if label != "samples":
            return [fn(*args) for args in args_list]
        for args in args_list:
            if len(written) == 2:
                raise KeyboardInterrupt("killed")
            written.append(fn(*args))
        return written

    with pytest.raises(KeyboardInterrupt):
        run_curate(recipe, {}, tmp_path / "out", map_shards=dies_in_samples)
    assert len(list((tmp_path / "out" / "work" / "samples_parts").glob("*.parquet"))) >= 2
    assert not (tmp_path / "out" / "samples.parquet").exists()
    run_curate(recipe, {}, tmp_path / "out")
    for table in ("samples", "funnel"):
        assert digest(pq.read_table(tmp_path / "out" / f"{table}.parquet")) == digest(pq.read_table(out / f"{table}.parquet"))


def test_shards_prepared_and_read_in_batches_give_the_same_tables(streamed, tmp_path, monkeypatch):
    """Prep runs a shard's per-row steps at most `PREP_BATCH` rows and `PREP_BATCH_CHARS`
    bytes of SVG at a time and the features phase reads it `FEATURE_BATCH` rows at a time (a
    shard of large SVGs is never held whole): batches of 3 rows, or of one SVG's bytes, give
    the tables of whole shards."""
    import rlrf.data.stage as stage

    recipe, out, _ = streamed
    sizes, prep_bytes = [], []
    real, real_prepare = stage._shard_batches, stage.prepare_rows

    def spy(*args):
        for batch in real(*args):
            sizes.append(batch.num_rows)
            yield batch

    def prepare_spy(raw, *args, **kwargs):
        prep_bytes.append([len(s.encode()) for s in raw["svg"].to_pylist() if s is not None])
        return real_prepare(raw, *args, **kwargs)

    monkeypatch.setattr(stage, "FEATURE_BATCH", 3)
    monkeypatch.setattr(stage, "PREP_BATCH", 3)
    monkeypatch.setattr(stage, "PREP_BATCH_CHARS", 600)
    monkeypatch.setattr(stage, "_shard_batches", spy)
    monkeypatch.setattr(stage, "prepare_rows", prepare_spy)
    run_curate(recipe, {}, tmp_path / "out")
    assert max(sizes) == 3 and len(sizes) > recipe.curate.shard_rows  # several batches per shard
    assert all(len(b) <= 3 and (sum(b) <= 600 or len(b) == 1) for b in prep_bytes)  # a larger SVG alone
    assert any(len(b) > 1 for b in prep_bytes) and any(len(b) == 1 and b[0] > 600 for b in prep_bytes)
    for table in ("samples", "funnel"):
        assert digest(pq.read_table(tmp_path / "out" / f"{table}.parquet")) == digest(pq.read_table(out / f"{table}.parquet"))


def test_only_rows_a_render_rule_decides_are_rendered(streamed, tmp_path):
    recipe, out, _ = streamed
    lean = recipe.model_copy(update={"curate": recipe.curate.model_copy(update={"render_all_train": False})})
    run_curate(lean, {}, tmp_path / "out")
    full, part = pq.read_table(out / "samples.parquet"), pq.read_table(tmp_path / "out" / "samples.parquet")
    split = lambda t, s: [r["sample_id"] for r in t.to_pylist() if r["split"] == s]  # noqa: E731
    for s in ("rl", "test_hard", "test"):  # test: by quota (below), fewer rows pass here than test_size
        assert split(part, s) == split(full, s)
    not_rendered = [r for r in part.to_pylist() if r["split"] == "train" and r["color_entropy"] is None]
    assert not_rendered and all(r["n_tokens"] < lean.curate.rl_min_tokens for r in not_rendered)
    assert set(split(full, "train")) <= set(split(part, "train"))


def test_rl_quota_renders_candidates_until_the_quota_is_met(tmp_path, monkeypatch):
    import rlrf.data.stage as stage

    monkeypatch.setattr(stage, "QUOTA_ROUND_MIN", 2)
    rendered = []
    real = stage.render_rows
    monkeypatch.setattr(stage, "render_rows", lambda *a: rendered.append(len(a[2])) or real(*a))
    outs = []
    for shard_rows in (7, 25):
        (tmp_path / str(shard_rows)).mkdir()
        recipe = recipe_for(tmp_path / str(shard_rows), shard_rows=shard_rows, render_all_train=False,
                            rl_render="quota", rl_min_tokens=60, rl_size=4)
        run_curate(recipe, {}, tmp_path / str(shard_rows) / "out")
        outs.append(pq.read_table(tmp_path / str(shard_rows) / "out" / "samples.parquet"))
    assert outs[0].to_pylist() == outs[1].to_pylist()  # the order is seeded by content, not by shard
    rl = [r for r in outs[0].to_pylist() if r["split"] == "rl"]
    assert len(rl) == 4 and all(r["color_entropy"] >= 1.0 for r in rl)
    n_candidates = sum(1 for r in outs[0].to_pylist() if r["split"] in ("rl", "train") and r["n_tokens"] <= 200)
    assert sum(rendered) / 2 < n_candidates  # not every candidate was rendered


def test_plain_test_split_renders_by_quota_when_train_rows_are_not_rendered(tmp_path, monkeypatch):
    """With `render_all_train` off the plain test pool is rendered in a seeded order of its
    content until test_size rows pass the render rules; those are the test split."""
    import rlrf.data.stage as stage

    monkeypatch.setattr(stage, "QUOTA_ROUND_MIN", 2)
    rendered = []
    real = stage.render_rows
    monkeypatch.setattr(stage, "render_rows", lambda *a: rendered.append((a[4], len(a[2]))) or real(*a))
    recipe = recipe_for(tmp_path, render_all_train=False, test_plain_fraction=0.4, train_max_tokens=None)
    svgs = pq.read_table(tmp_path / "stack.parquet")["Svg"].to_pylist()
    for i in (16, 17, 18, 19, 21, 22, 23):  # more white rows, some of them in the test pool
        svgs[i] = f'<svg {NS}><rect width="32" height="32" fill="#fff"/><rect width="{i}" height="1" fill="#fefefe"/></svg>'
    pq.write_table(pa.table({**pq.read_table(tmp_path / "stack.parquet").to_pydict(), "Svg": svgs}),
                   tmp_path / "stack.parquet", row_group_size=5)
    run_curate(recipe, {}, tmp_path / "out")
    got = [r["sample_id"] for r in pq.read_table(tmp_path / "out" / "samples.parquet").to_pylist() if r["split"] == "test"]

    pool = route(prepare(load_rows(recipe.data), recipe.curate, Funnel()), recipe.data, recipe.curate,
                 Funnel())[stage.TEST_POOL]
    feats = render_features(pool["sample_id"].to_pylist(), pool["svg"].to_pylist(), 32, recipe.render).to_pylist()
    ok = [f["render_ok"] and f["white_share"] < 0.99 for f in feats]
    order = sorted(range(pool.num_rows),
                   key=lambda i: hashlib.md5(f"{recipe.seed}:{pool['hash'][i].as_py()}".encode()).hexdigest())
    want = sorted([i for i in order if ok[i]][:4])
    assert not all(ok) and pool.num_rows > 8
    assert got == [pool["sample_id"][i].as_py() for i in want]
    assert sum(n for tag, n in rendered if tag.startswith("test-")) < pool.num_rows  # not the whole pool


def test_hostile_rows_never_crash_or_hang_a_shard(tmp_path):
    import time

    from tests.data.test_curate import HOSTILE

    ids = [f"ok{i}" for i in range(6)] + list(HOSTILE)
    svgs = [colourful(i) for i in range(6)] + list(HOSTILE.values())
    pq.write_table(pa.table({"Filename": ids, "Svg": svgs}), tmp_path / "h.parquet", row_group_size=3)
    recipe = parse_recipe({"name": "h", "data": {"source": "local", "path": str(tmp_path / "h.parquet")},
                           "curate": {"render_size": 32, "hard_min_tokens": 0, "hard_min_color_entropy": 0,
                                      "test_hard_size": 2, "rl_min_tokens": 0, "rl_size": 2, "test_fraction": 0.2,
                                      "max_svg_chars": 250_000, "shard_rows": 3},
                           "render": {"timeout_s": 2, "workers": 2}, "tokenizer": {"vocab_size": 300}})
    t = time.time()
    run_curate(recipe, {}, tmp_path / "out")
    assert time.time() - t < 120
    kept = set(pq.read_table(tmp_path / "out" / "samples.parquet")["sample_id"].to_pylist())
    dropped = {r["sample_id"]: r["filter"] for r in pq.read_table(tmp_path / "out" / "funnel.parquet").to_pylist()
               if not r["kept"]}
    assert not kept & set(HOSTILE) and set(HOSTILE) <= set(dropped)
    assert dropped["empty"] == "empty" and dropped["external"] == "external_image"


def test_token_counts_ignore_padding_and_truncation_saved_with_the_tokenizer(tmp_path):
    """A tokenizer.json may carry padding / truncation (models/tiny-base's does): counted in
    batches through the saved Rust backend, each text still gets its own length, as
    transformers' __call__ gives; without the backend file, transformers counts the same."""
    from rlrf.data.stage import COUNTER_FILE, count_tokens_batched, counting_backend, token_counter

    tok = train_tokenizer(['<svg><path d="M0 0H10V10Z"/></svg>'] * 20, parse_recipe({"name": "t"}).tokenizer)
    tok.backend_tokenizer.enable_padding(pad_id=0, pad_token="<pad>")
    tok.backend_tokenizer.enable_truncation(max_length=4)
    tok.save_pretrained(str(tmp_path / "tok"))
    texts = ["<svg/>", '<svg><path d="M0 0H10V10Z"/><path d="M1 1H9V9Z"/></svg>', "<svg></svg>"]
    slow = count_tokens_batched(token_counter(tmp_path, str(tmp_path / "tok")), texts, batch=2).tolist()
    (tmp_path / COUNTER_FILE).write_text(counting_backend(tok))
    fast = count_tokens_batched(token_counter(tmp_path, str(tmp_path / "tok")), texts, batch=2).tolist()
    want = [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]]
    assert len(set(want)) == 3 and max(want) > 4
    assert fast == want and slow == want


def test_token_batches_are_bounded_by_characters_too():
    """A batch holds at most `batch` texts and `batch_chars` characters (a longer text alone),
    so a shard of huge SVGs never encodes megabytes of text in one call; counts unchanged."""
    from rlrf.data.stage import count_tokens_batched

    calls = []

    def count(texts):
        calls.append([len(t) for t in texts])
        return [len(t) for t in texts]

    texts = ["a" * n for n in (5, 5, 5, 30, 2, 2, 2, 2)]
    assert count_tokens_batched(count, texts, batch=3, batch_chars=12).tolist() == [len(t) for t in texts]
    assert calls == [[5, 5], [5], [30], [2, 2, 2], [2]]


def test_batch_bounds_cover_every_item_once_in_order():
    from rlrf.data.stage import batch_bounds

    assert batch_bounds([], 3, 10) == []
    assert batch_bounds([50], 3, 10) == [(0, 1)]
    assert batch_bounds([4, 4, 4, 1, 1, 1, 1, 20, 1], 3, 10) == [(0, 2), (2, 5), (5, 7), (7, 8), (8, 9)]


def test_a_worker_counts_tokens_without_importing_transformers(tmp_path):
    """The counting backend loads with `tokenizers` alone: a curation worker never pays
    transformers' and torch's import (~5 s and ~500 MB resident per worker)."""
    from rlrf.data.stage import COUNTER_FILE, counting_backend

    tok = train_tokenizer(['<svg><path d="M0 0H10V10Z"/></svg>'] * 20, parse_recipe({"name": "t"}).tokenizer)
    (tmp_path / COUNTER_FILE).write_text(counting_backend(tok))
    code = ("import sys; from pathlib import Path; from rlrf.data.stage import token_counter; "
            f"n = token_counter(Path({str(tmp_path)!r}), 'unused')(['<svg/>']); "
            "print(n, 'transformers' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout.split()
    assert out[-2:] == ["False", "False"], out


@pytest.mark.slow
def test_every_shipped_embedded_recipe_curates_every_split(tmp_path):
    """The embedded recipes through the real stage (their own tokenizer, grid, quotas): every
    split the pipeline reads is filled and each n_tokens is the tokenizer's count of its row."""
    from rlrf.recipe import load_recipe

    for name in ("tiny", "tiny-text2svg"):
        recipe = load_recipe(name)
        run_curate(recipe, {}, tmp_path / name)
        samples = pq.read_table(tmp_path / name / "samples.parquet")
        counts = {s: samples["split"].to_pylist().count(s) for s in ("train", "rl", "test", "test_hard")}
        assert all(n > 0 for n in counts.values()), (name, counts)
        tok = AutoTokenizer.from_pretrained(tmp_path / name / "tokenizer")
        head = samples.slice(0, 64)
        want = [len(ids) for ids in tok(head["svg"].to_pylist(), add_special_tokens=False)["input_ids"]]
        assert head["n_tokens"].to_pylist() == want, name


def test_bpe_trains_on_a_bounded_seeded_sample_of_the_train_pool(tmp_path):
    """`tokenizer.train_rows` caps the BPE's input at a seeded sample (by content hash) of
    the train pool, in input order; a cap above the pool trains on all of it."""
    recipe = recipe_for(tmp_path)
    pool = route(prepare(load_rows(recipe.data), recipe.curate, Funnel()), recipe.data, recipe.curate,
                 Funnel())[TRAIN_POOL].to_pylist()
    ranked = sorted(range(len(pool)), key=lambda i: hashlib.md5(f"{recipe.seed}:{pool[i]['hash']}".encode()).hexdigest())
    sample = [pool[i]["svg"] for i in sorted(ranked[:6])]
    vocab = {}
    for cap in (6, 1000):
        capped = recipe.model_copy(update={"tokenizer": recipe.tokenizer.model_copy(update={"train_rows": cap})})
        run_curate(capped, {}, tmp_path / str(cap))
        vocab[cap] = AutoTokenizer.from_pretrained(tmp_path / str(cap) / "tokenizer").get_vocab()
    assert vocab[6] == train_tokenizer(sample, recipe.tokenizer).get_vocab()
    assert vocab[1000] == train_tokenizer([r["svg"] for r in pool], recipe.tokenizer).get_vocab()
    assert vocab[6] != vocab[1000]


def test_hub_splits_stream_in_shards_offline(tmp_path, monkeypatch):
    """`data.source: hf` through the real `datasets.load_dataset` on a local dataset folder
    (Parquet files named by split, as on the hub), offline: shards slice the memory-mapped
    split tables and the streamed result equals the in-memory one row for row; test_hard
    comes from the test split only."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    hub = tmp_path / "svg-stack" / "data"
    hub.mkdir(parents=True)
    svgs = [colourful(i) for i in range(45)]
    svgs[8] = f'<svg {NS}><rect width="32" height="32" fill="#fff"/></svg>'
    pq.write_table(pa.table({"Filename": [f"tr{i}" for i in range(35)], "Svg": svgs[:35]}),
                   hub / "train-00000-of-00001.parquet")
    pq.write_table(pa.table({"Filename": [f"te{i}" for i in range(10)], "Svg": svgs[35:]}),
                   hub / "test-00000-of-00001.parquet")
    recipe = recipe_for(tmp_path, test_hard_size=4, test_size=2)
    recipe = recipe.model_copy(update={"data": recipe.data.model_copy(update={
        "source": "hf", "hf_id": str(hub.parent), "path": None, "split_column": None})})
    summary = run_curate(recipe, {}, tmp_path / "out")
    assert summary["shards"] == 7  # train: 35 rows in five shards of 7, test: 10 rows in two
    samples, funnel = in_memory(recipe)
    assert pq.read_table(tmp_path / "out" / "samples.parquet").to_pylist() == samples.to_pylist()
    assert pq.read_table(tmp_path / "out" / "funnel.parquet").to_pylist() == funnel.to_pylist()
    split_of = {r["sample_id"]: r["split"] for r in samples.to_pylist()}
    assert {s for s, sp in split_of.items() if sp == "test_hard"} and all(
        s.startswith("te") for s, sp in split_of.items() if sp == "test_hard")
    assert {"train", "rl"} <= set(split_of.values()) and all(
        s.startswith("tr") for s, sp in split_of.items() if sp != "test_hard")


def test_dino_clusters_embed_only_the_test_hard_candidates(tmp_path, monkeypatch):
    """cluster.features dino: the stage embeds the eval-pool rows that pass test_hard's
    render and token rules, in batches, and selects what the in-memory stage selects with
    every eval-pool row embedded."""
    import rlrf.data.embeddings as embeddings
    import rlrf.data.stage as stage
    import rlrf.scores.learned as learned
    from tests.tiny_models import tiny_dino

    scorer = tiny_dino(hidden_layers=1)
    monkeypatch.setattr(learned, "load_dino", lambda *a, **k: scorer)
    monkeypatch.setattr(stage, "DINO_BATCH", 3)
    embedded = []
    real = embeddings.dino_embeddings
    monkeypatch.setattr(embeddings, "dino_embeddings", lambda ids, *a, **k: embedded.append(ids) or real(ids, *a, **k))
    recipe = recipe_for(tmp_path, cluster={"k": 2, "features": "dino"}, hard_min_color_entropy=1.5)
    run_curate(recipe, {}, tmp_path / "out")
    got = pq.read_table(tmp_path / "out" / "samples.parquet")
    funnel = pq.read_table(tmp_path / "out" / "funnel.parquet").to_pylist()

    cfg = recipe.curate
    pools = route(prepare(load_rows(recipe.data), cfg, Funnel()), recipe.data, cfg, Funnel())
    tok = AutoTokenizer.from_pretrained(tmp_path / "out" / "tokenizer")
    everything = pa.concat_tables(list(pools.values()))
    ids, svgs = everything["sample_id"].to_pylist(), everything["svg"].to_pylist()
    eval_pool = pools["eval_pool"]
    emb = real(eval_pool["sample_id"].to_pylist(), eval_pool["svg"].to_pylist(), cfg.cluster, recipe.render, scorer)
    want = select(pools, render_features(ids, svgs, cfg.render_size, recipe.render),
                  dict(zip(ids, count_tokens(tok, svgs), strict=True)), cfg, recipe.seed, Funnel(), embeddings=emb)
    assert got.to_pylist() == want.to_pylist()
    reached = [r["sample_id"] for r in funnel if r["filter"] == "no_embedding"]
    assert [s for batch in embedded for s in batch] == reached  # the candidates, each once, in input order
    assert len(embedded) > 1 and 0 < len(reached) < eval_pool.num_rows
    assert "test_hard" in got["split"].to_pylist()


def test_the_train_pool_is_selected_one_shard_at_a_time(streamed, tmp_path, monkeypatch):
    """The train pool grows with the input: the driver reads its slim rows one shard at a
    time (twice: the RL candidates, then the rules), never the whole pool, and the tables
    are those of the in-memory rules (`test_streamed_equals_in_memory_row_for_row`)."""
    import rlrf.data.stage as stage

    recipe, out, _ = streamed
    calls = []
    slim = stage._slim
    monkeypatch.setattr(stage, "_slim", lambda con, work, shards, pool: (calls.append((pool, len(shards))),
                                                                         slim(con, work, shards, pool))[1])
    summary = run_curate(recipe, {}, tmp_path / "out")
    train = [n for pool, n in calls if pool == TRAIN_POOL]
    assert train and set(train) == {1} and len(train) == 2 * summary["shards"]
    for table in ("samples", "funnel"):
        assert digest(pq.read_table(tmp_path / "out" / f"{table}.parquet")) == digest(pq.read_table(out / f"{table}.parquet"))


def test_the_driver_never_imports_transformers_or_torch(streamed, tmp_path):
    """The tokenizer is built in a child process and counted through `tokenizers` alone:
    a whole curate leaves the driver without transformers and torch (~450 MB resident),
    and gives the same tables."""
    import json

    recipe, out, _ = streamed
    (tmp_path / "recipe.json").write_text(json.dumps(recipe.model_dump(mode="json")))
    code = ("import json, sys; from pathlib import Path; from rlrf.recipe import parse_recipe; "
            "from rlrf.data.stage import run_curate; "
            f"run_curate(parse_recipe(json.loads(Path({str(tmp_path / 'recipe.json')!r}).read_text())), {{}}, "
            f"Path({str(tmp_path / 'out')!r})); "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "[]"
    for table in ("samples", "funnel"):
        assert digest(pq.read_table(tmp_path / "out" / f"{table}.parquet")) == digest(pq.read_table(out / f"{table}.parquet"))


def test_a_pretrained_tokenizer_is_loaded_beside_prep(streamed, tmp_path, monkeypatch):
    """A recipe naming its tokenizer (the paper recipes: the model's own) learns nothing from
    the rows, so the child that loads and saves it starts before prep instead of after it;
    the tables are those of the run that trained the same tokenizer."""
    import rlrf.data.stage as stage

    recipe, out, _ = streamed
    named = recipe.model_copy(update={"tokenizer": recipe.tokenizer.model_copy(
        update={"name_or_path": str(out / "tokenizer")})})
    order = []
    build = stage.build_tokenizer
    monkeypatch.setattr(stage, "build_tokenizer", lambda *a: (order.append("tokenizer"), build(*a))[1])

    def in_order(fn, args_list, label):
        order.append(label)
        return stage.in_process(fn, args_list, label)

    run_curate(named, {}, tmp_path / "out", map_shards=in_order)
    assert order[:2] == ["tokenizer", "prep"] and order.count("tokenizer") == 1
    assert (tmp_path / "out" / "tokenizer" / "tokenizer.json").exists()
    for table in ("samples", "funnel"):
        assert digest(pq.read_table(tmp_path / "out" / f"{table}.parquet")) == digest(pq.read_table(out / f"{table}.parquet"))


def test_a_split_short_of_its_quota_is_a_note_of_the_stage(tmp_path):
    """The counts behind the SHORT SPLIT notes come from the selection the stage wrote."""
    summary = run_curate(recipe_for(tmp_path, rl_size=50), {}, tmp_path / "out")
    rl = sum(r["split"] == "rl" for r in pq.read_table(tmp_path / "out" / "samples.parquet").to_pylist())
    assert 0 < rl < 50
    assert f"SHORT SPLIT: rl has {rl} of the 50 rows asked for" in " ".join(summary["notes"])
    assert not any(n.startswith("SHORT SPLIT: test_hard") for n in summary["notes"])
