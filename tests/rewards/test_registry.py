import logging
import pickle
import time

import pytest

from rlrf.config import RewardSpec
from rlrf.rewards import registry
from rlrf.rewards.base import WeightsUnavailable
from rlrf.rewards.registry import REWARDS, build_reward, build_rewards, register
from tests.rewards.samples import GT, RENDER, SHIFTED

MODEL_REWARDS = {"dreamsim", "canny_dreamsim", "lpips", "clip", "vlm_judge"}


def user_reward(completions, **_):
    """A user reward reachable by dotted path."""
    return [0.5] * len(completions)


class UserRewardClass:
    def __init__(self, value=0.25):
        self.value = value
        self.__name__ = "user_class"

    def __call__(self, completions, **_):
        return [self.value] * len(completions)


def test_every_registered_name_resolves():
    assert set(REWARDS) >= {"l2", "l2_canny", "length"} | MODEL_REWARDS
    for name in REWARDS:
        spec = RewardSpec(name=name, model="/nonexistent/weights")
        if name in MODEL_REWARDS:
            start = time.monotonic()
            with pytest.raises(WeightsUnavailable) as info:
                build_reward(spec, RENDER, 64)
            assert info.value.name == name
            assert time.monotonic() - start < 30  # fails fast, no network wait
        else:
            assert build_reward(spec, RENDER, 64).__name__ == name


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="l2_canny") as info:
        build_reward(RewardSpec(name="l3"), RENDER, 64)
    assert "unknown reward 'l3'" in str(info.value)


def test_dotted_path_loads_user_rewards():
    fn = build_reward(RewardSpec(name="tests.rewards.test_registry.user_reward"), RENDER, 64)
    assert fn(["a", "b"]) == [0.5, 0.5]
    obj = build_reward(
        RewardSpec(name="tests.rewards.test_registry.UserRewardClass", params={"value": 0.1}),
        RENDER,
        64,
    )
    assert obj(["a"]) == [0.1]
    with pytest.raises(ValueError, match="cannot import"):
        build_reward(RewardSpec(name="tests.rewards.nope.fn"), RENDER, 64)


def test_duplicate_registration_raises(monkeypatch):
    monkeypatch.setattr(registry, "REWARDS", dict(REWARDS))
    with pytest.raises(ValueError, match="already registered"):
        register("l2")(lambda *a: None)


def test_duplicate_names_in_a_recipe_raise():
    with pytest.raises(ValueError, match="repeat"):
        build_rewards([RewardSpec(name="l2"), RewardSpec(name="l2")], RENDER, 64)


def test_missing_weights_drop_the_term_loudly_or_fail_when_required(caplog):
    specs = [
        RewardSpec(name="l2", weight=0.2),
        RewardSpec(name="dreamsim", weight=0.2, model="/nonexistent/dreamsim"),
        RewardSpec(name="length", weight=1.0, warmup={"start": 0.1, "steps": 100}),
    ]
    with caplog.at_level(logging.WARNING):
        funcs, weights, warmups, dropped = build_rewards(specs, RENDER, 64)
    assert [f.__name__ for f in funcs] == ["l2", "length"]
    assert weights == [0.2, 1.0] and warmups == [None, {"start": 0.1, "steps": 100}]
    assert dropped == ["dreamsim"]
    assert "REWARD DROPPED" in caplog.text and "dreamsim" in caplog.text
    required = RewardSpec(name="dreamsim", model="/nonexistent/dreamsim", required=True)
    with pytest.raises(WeightsUnavailable):
        build_rewards([required], RENDER, 64)


def test_every_reward_pickles_and_still_scores():
    for name in REWARDS:
        spec = RewardSpec(name=name, model="/nonexistent")
        reward = registry.REWARDS[name](spec, RENDER, 64, None, None)  # built, not loaded
        copy = pickle.loads(pickle.dumps(reward))
        assert copy.__name__ == name
    l2 = pickle.loads(pickle.dumps(build_reward(RewardSpec(name="l2"), RENDER, 64)))
    best, worse = l2([GT, SHIFTED], gt_svg=[GT, GT])
    assert best == pytest.approx(1.0, abs=1e-4) and worse < best


def test_dreamsim_model_names_a_variant_or_a_weights_folder(tmp_path):
    variant = registry.REWARDS["dreamsim"](
        RewardSpec(name="dreamsim", model="ensemble", cache_dir=str(tmp_path)), RENDER, 64
    )
    assert (variant.dreamsim_type, variant.cache_dir) == ("ensemble", str(tmp_path))
    folder = registry.REWARDS["canny_dreamsim"](
        RewardSpec(name="canny_dreamsim", model=str(tmp_path)), RENDER, 64
    )
    assert (folder.dreamsim_type, folder.cache_dir, folder.canny) == (
        "ensemble",
        str(tmp_path),
        True,
    )
    with pytest.raises(WeightsUnavailable, match="no download"):
        variant.load()
