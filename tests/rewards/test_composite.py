from types import SimpleNamespace

import numpy as np
import pytest

from rlrf.config import RewardSpec
from rlrf.rewards import rendering
from rlrf.rewards.composite import WeightedSum, warmup_weight
from rlrf.rewards.registry import build_rewards
from rlrf.svg import pool as pool_module
from tests.rewards.samples import BLANK, GT, RENDER, SHIFTED


def test_warmup_ramps_linearly_from_start_to_full():
    wu = {"start": 0.1, "steps": 100}
    assert warmup_weight(2.0, wu, 0) == pytest.approx(0.2)
    assert warmup_weight(2.0, wu, 50) == pytest.approx(1.1)
    assert warmup_weight(2.0, wu, 100) == pytest.approx(2.0)
    assert warmup_weight(2.0, wu, 1000) == pytest.approx(2.0)
    assert warmup_weight(2.0, None, 0) == 2.0


def test_weighted_sum_returns_components_and_total_with_warmup():
    specs = [
        RewardSpec(name="l2", weight=0.5),
        RewardSpec(name="l2_canny", weight=0.5),
        RewardSpec(name="length", weight=1.0, warmup={"start": 0.0, "steps": 10}),
    ]
    built = build_rewards(specs, RENDER, 64)
    total = WeightedSum(built.funcs, built.weights, built.warmups)
    completions = [GT, SHIFTED, BLANK]
    cols = {"gt_svg": [GT] * 3}
    at0 = total.score(completions, trainer_state=SimpleNamespace(global_step=0), **cols)
    assert set(at0) == {"l2", "l2_canny", "length", "total"}
    expected0 = 0.5 * np.array(at0["l2"]) + 0.5 * np.array(at0["l2_canny"])
    assert at0["total"] == pytest.approx(expected0.tolist())
    at10 = total.score(completions, trainer_state=SimpleNamespace(global_step=10), **cols)
    assert at10["total"] == pytest.approx((expected0 + np.array(at10["length"])).tolist())
    assert at10["total"][0] > at10["total"][1] > at10["total"][2]
    assert total(completions, **cols) == at0["total"]


def test_each_completion_is_rendered_once_per_batch(monkeypatch):
    rendering.PRED_CACHE.clear()
    rendering.GT_CACHE.clear()
    calls = []
    original = pool_module.RenderPool.render_many

    def counting(self, svgs, size, pad_square=True):
        calls.append(list(svgs))
        return original(self, svgs, size, pad_square)

    monkeypatch.setattr(pool_module.RenderPool, "render_many", counting)
    built = build_rewards([RewardSpec(name="l2"), RewardSpec(name="l2_canny")], RENDER, 64)
    unique = SHIFTED.replace("#3333cc", "#3434cc")
    WeightedSum(built.funcs, built.weights).score([unique, unique, GT], gt_svg=[GT] * 3)
    rendered = [svg for batch in calls for svg in batch]
    assert sorted(rendered) == sorted([unique, GT, GT])  # GT once as prediction, once as target


def test_none_components_do_not_poison_the_total():
    def sometimes(completions, **_):
        return [None, 1.0]

    sometimes.__name__ = "sometimes"
    assert WeightedSum([sometimes], [2.0])([GT, SHIFTED]) == [0.0, 2.0]


def test_unfinished_or_unparsable_rollout_scores_minus_one_on_every_term():
    """The reference's short-circuit: no term (not even a user's) pays on top of it."""

    def generous(completions, **_):
        return [1.0] * len(completions)

    generous.__name__ = "generous"
    built = build_rewards([RewardSpec(name="l2"), RewardSpec(name="length")], RENDER, 64)
    total = WeightedSum([*built.funcs, generous], [0.5, 1.0, 2.0])
    cut = GT[: GT.index("<circle")]  # cut at the length budget: no </svg>
    unparsable = GT.replace("<circle", "<circle <")
    out = total.score([cut, unparsable, GT], gt_svg=[GT] * 3)
    for name in ("l2", "length", "generous"):
        assert out[name][:2] == [-1.0, -1.0]
    assert out["total"][:2] == [-3.5, -3.5]
    assert out["l2"][2] == pytest.approx(1.0, abs=1e-4)


def test_duplicate_component_names_raise():
    def f(completions, **_):
        return [0.0] * len(completions)

    with pytest.raises(ValueError, match="unique"):
        WeightedSum([f, f], [1, 1])


def test_trl_calling_convention():
    """TRL calls reward_func(prompts=, completions=, completion_ids=, **columns, trainer_state=, log_*=)."""
    metrics = {}
    built = build_rewards([RewardSpec(name="l2"), RewardSpec(name="length")], RENDER, 64)
    chat = [[{"role": "assistant", "content": GT}], [{"role": "assistant", "content": "no"}]]
    kwargs = dict(
        prompts=[[{"role": "user", "content": "draw"}]] * 2,
        completions=chat,
        completion_ids=[[1, 2], [3]],
        gt_svg=[GT, GT],
        sample_id=["a", "b"],
        caption=["", ""],
        gt_n_tokens=[10, 10],
        trainer_state=SimpleNamespace(global_step=3),
        log_extra=lambda column, values: None,
        log_metric=lambda name, value: metrics.__setitem__(name, value),
    )
    l2, length = (fn(**kwargs) for fn in built.funcs)
    assert l2[0] == pytest.approx(1.0, abs=1e-4) and l2[1] == -1.0
    assert length[1] == -1.0
    assert metrics == {"l2/invalid_frac": 0.5}


def test_warmup_starts_at_the_papers_tenth_by_default():
    assert warmup_weight(1.0, {"steps": 100}, 0) == pytest.approx(0.1)
    for name in ("qwen2.5-vl-3b", "qwen2.5-vl-7b"):
        from rlrf.recipe import load_recipe

        length = [s for s in load_recipe(name).rewards if s.name == "length"]
        assert length and length[0].warmup["start"] == 0.1
