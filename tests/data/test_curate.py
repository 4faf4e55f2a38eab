"""Curation rules on hand-made SVGs that each hit one rule, plus funnel accounting."""

import pyarrow as pa
import pytest

from rlrf.config import CurateConfig, DataConfig, RenderConfig
from rlrf.data.curate import prepare, route, select
from rlrf.data.features import color_entropy, render_features
from rlrf.data.funnel import Funnel

NS = 'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"'


def colourful(i: int) -> str:
    cells = "".join(
        f'<rect x="{x * 8}" y="{y * 8}" width="8" height="8" fill="#{(i * 37 + x * 64) % 256:02x}{(y * 64) % 256:02x}{(i * 91) % 256:02x}"/>'
        for x in range(4) for y in range(4)
    )
    return f"<svg {NS}>{cells}</svg>"


def icon(i: int) -> str:
    return f'<svg {NS}><circle cx="16" cy="16" r="{4 + i % 10}" fill="black"/><rect x="{i % 20}" y="2" width="6" height="6"/></svg>'


BROKEN = f"<svg {NS}><rect width='10' height=</svg>"
WHITE = f'<svg {NS}><rect width="32" height="32" fill="#fff"/></svg>'


def raw(rows):
    return pa.table({
        "sample_id": [r[0] for r in rows],
        "source": [r[1] for r in rows],
        "kind": ["icon"] * len(rows),
        "svg": [r[2] for r in rows],
        "caption": [None] * len(rows),
        "license": ["MIT"] * len(rows),
    })


@pytest.fixture(scope="module")
def curated():
    rows = [(f"c{i}", "set_a", colourful(i)) for i in range(40)]
    rows += [(f"i{i}", "set_a", icon(i)) for i in range(40)]
    rows += [("dup", "set_a", colourful(0)), ("broken", "set_a", BROKEN), ("white", "set_a", WHITE),
             ("b64", "set_a", icon(1).replace("</svg>", f'<image href="data:image/png;base64,{"A" * 900}"/></svg>'))]
    rows += [(f"o{i}", "emoji_set", colourful(100 + i)) for i in range(12)]
    table = raw(rows)
    cfg = CurateConfig(render_size=32, white_threshold=0.99, hard_min_tokens=30, hard_min_color_entropy=1.0,
                       test_hard_size=3, rl_min_tokens=0, rl_min_color_entropy=2.0, rl_size=5,
                       test_fraction=0.3, test_plain_fraction=0.2, test_size=4, ood_size=5,
                       max_base64_chars=512)
    data = DataConfig(ood_sources={"ood_emoji": ["emoji_set"]})
    funnel = Funnel()
    kept = prepare(table, cfg, funnel)
    pools = route(kept, data, cfg, funnel)
    everything = pa.concat_tables(list(pools.values()))
    feats = render_features(everything["sample_id"].to_pylist(), everything["svg"].to_pylist(), 32,
                            RenderConfig(timeout_s=5, workers=2))
    n_tokens = {sid: len(svg) // 4 for sid, svg in zip(everything["sample_id"].to_pylist(),
                                                       everything["svg"].to_pylist(), strict=True)}
    samples = select(pools, feats, n_tokens, cfg, 0, funnel)
    return table, samples, funnel.table().to_pylist()


def reason_of(funnel, sid):
    dropped = [r for r in funnel if r["sample_id"] == sid and not r["kept"]]
    return dropped[0]["filter"] if dropped else None


def test_each_rule_drops_its_row(curated):
    _, samples, funnel = curated
    assert reason_of(funnel, "dup") == "dedupe"
    assert reason_of(funnel, "b64") == "base64_image"
    ids = set(samples["sample_id"].to_pylist())
    assert "dup" not in ids and "b64" not in ids
    # broken / white rows are dropped wherever they were routed
    assert reason_of(funnel, "broken") == "broken"
    assert reason_of(funnel, "white") == "white_background"


def test_funnel_accounts_for_every_row(curated):
    table, samples, funnel = curated
    by_filter = {}
    for r in funnel:
        f = by_filter.setdefault(r["filter"], {"in": 0, "kept": 0, "dropped": 0})
        f["in"] += 1
        f["kept" if r["kept"] else "dropped"] += 1
    for f in by_filter.values():
        assert f["in"] == f["kept"] + f["dropped"]
    assert by_filter["empty"]["in"] == table.num_rows
    dropped_ids = {r["sample_id"] for r in funnel if not r["kept"]}
    assert len(dropped_ids) + samples.num_rows == table.num_rows  # every row ends in exactly one place
    assert not dropped_ids & set(samples["sample_id"].to_pylist())


def test_splits_are_disjoint_and_follow_rules(curated):
    _, samples, _ = curated
    rows = samples.to_pylist()
    assert len({r["hash"] for r in rows}) == len(rows)
    splits = {r["split"] for r in rows}
    assert {"train", "rl", "test", "test_hard", "ood_emoji"} <= splits
    for r in rows:
        if r["split"] == "ood_emoji":
            assert r["source"] == "emoji_set"
        else:
            assert r["source"] == "set_a"
        if r["split"] == "test_hard":
            assert r["color_entropy"] >= 1.0 and r["n_tokens"] >= 30 and r["cluster"] is not None
        if r["split"] == "rl":
            assert r["color_entropy"] >= 2.0
    assert sum(r["split"] == "test_hard" for r in rows) == 3
    assert sum(r["split"] == "ood_emoji" for r in rows) == 5
    assert sum(r["split"] == "test" for r in rows) == 4


def test_test_hard_comes_from_the_sources_test_split(tmp_path):
    """Paper §4: SVG-Stack-Hard is built from the SVG-Stack *test* split. A local Parquet
    names its split column; test rows go to test_hard only, train / RL rows never come
    from them, and the funnel says which rule routed each row."""
    import pyarrow.parquet as pq

    from rlrf.data.sources import load_rows

    n = 40
    pq.write_table(pa.table({
        "Filename": [f"r{i}" for i in range(n)],
        "Svg": [colourful(i) for i in range(n)],
        "split": ["test" if i % 4 == 0 else "train" for i in range(n)],
    }), tmp_path / "stack.parquet")
    data = DataConfig(source="local", path=str(tmp_path / "stack.parquet"), split_column="split")
    cfg = CurateConfig(render_size=32, white_threshold=0.99, hard_min_tokens=0, hard_min_color_entropy=0.0,
                       test_hard_size=100, rl_min_tokens=0, rl_min_color_entropy=0.0, rl_size=5,
                       test_fraction=0.5, test_plain_fraction=0.1, test_size=100)
    funnel = Funnel()
    kept = prepare(load_rows(data), cfg, funnel)
    pools = route(kept, data, cfg, funnel)
    everything = pa.concat_tables(list(pools.values()))
    feats = render_features(everything["sample_id"].to_pylist(), everything["svg"].to_pylist(), 32,
                            RenderConfig(timeout_s=5, workers=2))
    samples = select(pools, feats, dict.fromkeys(everything["sample_id"].to_pylist(), 50), cfg, 0, funnel)
    test_ids = {f"r{i}" for i in range(0, n, 4)}
    split_of = dict(zip(samples["sample_id"].to_pylist(), samples["split"].to_pylist(), strict=True))
    assert {s for s, split in split_of.items() if split == "test_hard"} == test_ids
    assert all(split_of[s] == "test_hard" for s in test_ids)
    assert not test_ids & {s for s, split in split_of.items() if split in ("train", "rl", "test")}
    reasons = {r["sample_id"]: r["reason"] for r in funnel.table().to_pylist() if r["filter"] == "route"}
    assert {reasons[s] for s in test_ids} == {"eval_pool:source_split:test"}
    assert {reasons[s] for s in split_of if s not in test_ids} <= {
        "train_pool:source_split:train", "test_pool:hash_bucket"}


def test_split_less_source_falls_back_to_the_hash_bucket(curated):
    _, _, funnel = curated
    reasons = {r["reason"] for r in funnel if r["filter"] == "route"}
    assert {"eval_pool:hash_bucket", "train_pool:hash_bucket"} <= reasons
    assert not any("source_split" in r for r in reasons)


def test_sft_rows_over_the_length_cap_leave_through_the_funnel():
    """No silent drop: SFT rows longer than train_max_tokens are dropped by the `too_long`
    filter, with their length in the reason; RL rows are drawn among those a roll-out can
    finish (rl_max_tokens) and never go through that filter."""
    rows = [(f"c{i}", "set_a", colourful(i)) for i in range(30)]
    cfg = CurateConfig(render_size=32, white_threshold=0.99, hard_min_tokens=0, hard_min_color_entropy=0.0,
                       test_hard_size=2, rl_min_tokens=0, rl_min_color_entropy=0.0, rl_size=4,
                       test_fraction=0.01, test_plain_fraction=0.01, test_size=0,
                       train_max_tokens=200, rl_max_tokens=100)
    funnel = Funnel()
    kept = prepare(raw(rows), cfg, funnel)
    pools = route(kept, DataConfig(), cfg, funnel)
    everything = pa.concat_tables(list(pools.values()))
    ids = everything["sample_id"].to_pylist()
    n_tokens = {sid: (50, 150, 300)[i % 3] for i, sid in enumerate(ids)}
    feats = render_features(ids, everything["svg"].to_pylist(), 32, RenderConfig(timeout_s=5, workers=2))
    samples = select(pools, feats, n_tokens, cfg, 0, funnel).to_pylist()
    by_split = {}
    for r in samples:
        by_split.setdefault(r["split"], []).append(r["n_tokens"])
    assert len(by_split["rl"]) == 4 and max(by_split["rl"]) <= 100
    assert max(by_split["train"]) <= 200 and 150 in by_split["train"]
    too_long = [r for r in funnel.table().to_pylist() if r["filter"] == "too_long"]
    dropped = [r for r in too_long if not r["kept"]]
    assert dropped and {r["reason"] for r in dropped} == {"too_long:300>200"}
    assert {r["sample_id"] for r in dropped} == {s for s, n in n_tokens.items() if n == 300} & {
        r["sample_id"] for r in too_long}
    rl_ids = {r["sample_id"] for r in samples if r["split"] == "rl"}
    assert not rl_ids & {r["sample_id"] for r in too_long}


def test_color_entropy_orders_images():
    import numpy as np

    flat = np.full((16, 16, 3), 255, np.uint8)
    two = flat.copy()
    two[:8] = 0
    noise = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert color_entropy(flat) == 0.0
    assert color_entropy(two) == pytest.approx(1.0)
    assert color_entropy(noise) > 6


HOSTILE = {
    "entities": '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
                f'<svg {NS}><text>&b;&b;&b;</text></svg>',
    "nan": f'<svg {NS}><path d="M NaN 0 L 1e308 1e308 Z" fill="red"/></svg>',
    "deep": f"<svg {NS}>" + "<g>" * 3000 + '<rect width="5" height="5"/>' + "</g>" * 3000 + "</svg>",
    "circles": f"<svg {NS}>" + '<circle cx="1" cy="1" r="1"/>' * 20000 + "</svg>",
    "use_bomb": f'<svg {NS} xmlns:xlink="http://www.w3.org/1999/xlink"><defs><rect id="l0" width="1" height="1"/>'
                + "".join(f'<g id="l{i}">' + f'<use xlink:href="#l{i - 1}"/>' * 10 + "</g>" for i in range(1, 8))
                + '</defs><use xlink:href="#l7"/></svg>',
    "external": f'<svg {NS}><image href="file:///etc/passwd" width="10" height="10"/></svg>',
    "not_xml": "<svg <<< >>> ]]>",
    "huge": f"<svg {NS}>" + "<!-- x -->" * 30000 + "</svg>",
    "empty": "",
}


def test_hostile_rows_leave_through_the_funnel_without_hanging():
    import time

    rows = [(f"ok{i}", "set_a", icon(i)) for i in range(6)] + [(k, "set_a", v) for k, v in HOSTILE.items()]
    table = raw(rows)
    cfg = CurateConfig(render_size=32, hard_min_tokens=0, hard_min_color_entropy=0, test_hard_size=2,
                       rl_min_tokens=0, rl_size=2, test_fraction=0.2, max_svg_chars=250_000)
    funnel = Funnel()
    t = time.time()
    kept = prepare(table, cfg, funnel)
    pools = route(kept, DataConfig(), cfg, funnel)
    everything = pa.concat_tables(list(pools.values()))
    feats = render_features(everything["sample_id"].to_pylist(), everything["svg"].to_pylist(), 32,
                            RenderConfig(timeout_s=2, workers=2))
    samples = select(pools, feats, dict.fromkeys(everything["sample_id"].to_pylist(), 50), cfg, 0, funnel)
    assert time.time() - t < 60
    kept_ids = set(samples["sample_id"].to_pylist())
    assert not kept_ids & set(HOSTILE)  # every hostile row was dropped ...
    dropped = {r["sample_id"]: r["filter"] for r in funnel.table().to_pylist() if not r["kept"]}
    assert set(HOSTILE) <= set(dropped)  # ... by a named filter, with a reason
    assert dropped["empty"] == "empty" and dropped["external"] == "external_image"
    assert {f"ok{i}" for i in range(6)} <= kept_ids | set(dropped)


def test_a_test_split_where_nothing_renders_gives_an_empty_hard_set():
    """Every test_hard candidate failed to render (or failed a rule): the Hard set is empty
    and the funnel says why, instead of the clustering step crashing the stage."""
    from rlrf.data.curate import EVAL_POOL, SLIM_SCHEMA, select_pool

    n = 3
    rows = pa.table({"row": list(range(n)), "sample_id": ["a", "b", "c"], "source": ["s"] * n,
                     "pool": [EVAL_POOL] * n, "n_tokens": [600] * n, "rendered": [True] * n,
                     "render_ok": [False] * n, "render_error": ["timeout"] * n, "white_share": [None] * n,
                     "color_entropy": [None] * n, "color_hist": [None] * n, "render_rank": [None] * n},
                    schema=SLIM_SCHEMA)
    funnel = Funnel()
    cfg = CurateConfig(test_hard_size=2, hard_min_tokens=0, hard_min_color_entropy=0.0)
    assert select_pool(rows, EVAL_POOL, cfg, 0, funnel).num_rows == 0
    reasons = {r["sample_id"]: r["reason"] for r in funnel.table().to_pylist() if r["filter"] == "broken"}
    assert reasons == {"a": "render_failed:timeout", "b": "render_failed:timeout", "c": "render_failed:timeout"}


def test_a_split_left_short_of_its_quota_is_a_note():
    from rlrf.data.curate import EVAL_POOL, TEST_POOL, TRAIN_POOL, quota_shortfalls

    cfg = CurateConfig(test_hard_size=2, rl_size=5, test_size=0, ood_size=3)
    notes = quota_shortfalls([EVAL_POOL, TRAIN_POOL, TEST_POOL, "ood_emoji"],
                             {"test_hard": 0, "rl": 5, "train": 40, "ood_emoji": 1}, cfg)
    assert [n.split(" (")[0] for n in notes] == ["SHORT SPLIT: test_hard has 0 of the 2 rows asked for",
                                                  "SHORT SPLIT: ood_emoji has 1 of the 3 rows asked for"]
    assert quota_shortfalls([TRAIN_POOL], {"rl": 5}, cfg) == []


def test_histogram_column_becomes_the_matrix_its_python_lists_give():
    import numpy as np

    from rlrf.data.curate import _matrix

    rng = np.random.default_rng(0)
    lists = [rng.random(64).astype(np.float32).tolist() for _ in range(7)]
    col = pa.chunked_array([pa.array(lists[:3], pa.list_(pa.float32())),
                            pa.array(lists[3:], pa.list_(pa.float32()))]).slice(1, 5)
    assert np.array_equal(_matrix(col), np.array(col.to_pylist(), dtype=np.float32))
    with pytest.raises(ValueError, match="without a colour histogram"):
        _matrix(pa.chunked_array([pa.array([lists[0], None], pa.list_(pa.float32()))]))
