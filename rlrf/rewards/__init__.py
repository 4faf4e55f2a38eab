"""RLRF rewards: a registry of TRL reward functions built from recipe specs (RLRF Sec. 3.2)."""

from rlrf.rewards.base import INVALID, WeightsUnavailable, completion_text
from rlrf.rewards.composite import WeightedSum, warmup_weight
from rlrf.rewards.registry import REWARDS, BuiltRewards, build_reward, build_rewards, register

__all__ = [
    "INVALID",
    "REWARDS",
    "BuiltRewards",
    "WeightedSum",
    "WeightsUnavailable",
    "build_reward",
    "build_rewards",
    "completion_text",
    "register",
    "warmup_weight",
]
