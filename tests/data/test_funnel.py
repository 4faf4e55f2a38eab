"""`Funnel` forks: a step recorded shard by shard reads back as one call over every shard."""

import pyarrow.parquet as pq
import pytest

from rlrf.data.funnel import Funnel


def _read_back(folder):
    """Part files by name, rows by `row` within each name: how `write_funnel` orders them."""
    rows = []
    for f in sorted(folder.glob("select-*.parquet")):
        rows += sorted(pq.read_table(f).to_pylist(), key=lambda r: r["row"])
    return [(r["filter"], r["row"], r["kept"]) for r in rows]


def _shard_calls(funnel, rows):
    ids = [f"s{r}" for r in rows]
    funnel.record(ids, [None] * len(rows), "broken", [r % 3 == 0 for r in rows], order=rows)
    funnel.record(ids, [None] * len(rows), "rl_select", [False] * len(rows), order=rows)


def test_forked_shards_read_back_as_one_call_over_every_shard(tmp_path):
    shards = {"000000": [0, 1, 2, 3], "000001": [4, 5], "000002": [6, 7, 8]}
    whole = Funnel(spill_to=tmp_path / "whole" / "select")
    whole.record(["e"], [None], "quota_test", [True], order=[100])  # an earlier pool's call
    _shard_calls(whole, [r for rows in shards.values() for r in rows])
    whole.record(["t"], [None], "quota_ood", [False], order=[200])  # a later pool's call

    forked = Funnel(spill_to=tmp_path / "forked" / "select")
    forked.record(["e"], [None], "quota_test", [True], order=[100])
    forks = [forked.fork(name) for name in shards]
    for fork, rows in zip(forks, shards.values(), strict=True):
        _shard_calls(fork, rows)
    assert {f.parts for f in forks} == {3}
    forked.skip(forks[0].parts)
    forked.record(["t"], [None], "quota_ood", [False], order=[200])

    assert _read_back(tmp_path / "forked") == _read_back(tmp_path / "whole")
    assert forked.filters == whole.filters == ["quota_test", "broken", "rl_select", "quota_ood"]


def test_only_a_spilling_funnel_forks():
    with pytest.raises(ValueError, match="spills"):
        Funnel().fork("000000")
