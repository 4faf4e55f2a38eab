import pytest

from rlrf.config import RewardSpec
from rlrf.rewards.length import length_reward
from rlrf.rewards.registry import build_reward
from tests.rewards.samples import BLANK, GT, RENDER, TRUNCATED


@pytest.mark.parametrize(
    "pred, expected",
    [(50, 1.0), (100, 0.75), (150, 0.0), (200, -1.0), (400, -1.0), (49, -1.0), (0, -1.0)],
)
def test_length_formula(pred, expected):
    assert length_reward(pred, 100) == pytest.approx(expected)


def test_length_collapse_scores_worse_than_an_honest_attempt():
    reward = build_reward(RewardSpec(name="length"), RENDER, 64)
    collapsed = '<svg viewBox="0 0 100 100"/>'
    scores = reward([collapsed, GT], gt_svg=[GT, GT])
    assert scores[0] == -1.0 and scores[1] == pytest.approx(0.75)


def test_length_counts_tokens_and_prefers_gt_n_tokens():
    class CharPairs:  # a tokenizer: one token per two characters
        def __call__(self, texts, add_special_tokens=False):
            return {"input_ids": [list(range((len(t) + 1) // 2)) for t in texts]}

    reward = build_reward(RewardSpec(name="length"), RENDER, 64, tokenizer=CharPairs())
    n = (len(GT) + 1) // 2
    assert reward([GT], gt_svg=[GT]) == [pytest.approx(0.75)]
    assert reward([GT], gt_svg=[GT], gt_n_tokens=[2 * n]) == [pytest.approx(1.0)]


def test_length_is_not_paid_on_top_of_an_invalid_rollout():
    """Unfinished, unparsable or blank: −1 on the length term too (reference short-circuit)."""
    reward = build_reward(RewardSpec(name="length"), RENDER, 64)
    unparsable = GT.replace("<circle", "<circle <")
    wide_blank = BLANK.replace("></svg>", ">" + " " * len(GT) + "</svg>")  # GT's length
    assert reward([TRUNCATED, unparsable, wide_blank], gt_svg=[GT] * 3) == [-1.0] * 3
