import pytest

from rlrf.config import RewardSpec
from rlrf.rewards.image import standardised_l2_reward
from rlrf.rewards.registry import build_reward
from rlrf.scores.pixels import canny_edges
from rlrf.svg.render import render_unbounded as render
from tests.rewards.samples import (
    BLANK,
    GT,
    RASTER,
    RECOLOURED,
    RENDER,
    SHIFTED,
    SIZE,
    SPARSE,
    TINY_VIEWBOX,
    TRUNCATED,
)  # fmt: skip


@pytest.fixture(params=["l2", "l2_canny", "pixel_mse"])
def reward(request):
    return build_reward(RewardSpec(name=request.param), RENDER, SIZE)


def _score(reward, svgs, gt=GT, **columns):
    return reward(svgs, gt_svg=[gt] * len(svgs), **columns)


def test_identical_render_gets_the_best_reward(reward):
    assert _score(reward, [GT]) == [pytest.approx(1.0, abs=1e-4)]


def test_shifted_scores_lower(reward):
    best, shifted = _score(reward, [GT, SHIFTED])
    assert shifted < best - 0.3


def test_recoloured_scores_lower_on_pixels_but_not_on_edges():
    l2 = build_reward(RewardSpec(name="l2"), RENDER, SIZE)
    canny = build_reward(RewardSpec(name="l2_canny"), RENDER, SIZE)
    assert _score(l2, [RECOLOURED])[0] < 0.5
    assert _score(canny, [RECOLOURED])[0] > 0.9  # same outlines: the edge reward is colour-blind


@pytest.mark.parametrize("hack", [BLANK, TINY_VIEWBOX, RASTER, "", "I can't", "<svg><rect"])
def test_hacks_and_degenerate_outputs_score_the_floor(reward, hack):
    honest = SHIFTED
    scores = _score(reward, [hack, honest])
    assert scores[0] == -1.0
    assert scores[0] < scores[1]


def test_unfinished_rollout_earns_no_partial_credit(reward):
    """Cut at the dynamic max length (no </svg>): −1, as the reference scores it, although
    its closed prefix would draw most of the target (evaluation would close it)."""
    assert _score(reward, [TRUNCATED, GT.replace("<circle", "<circle <")]) == [-1.0, -1.0]


def test_perfect_copy_of_a_sparse_target_is_not_blank():
    """Under 1 % ink at 512 px is a real drawing: only mean ≥ 254 or range < 5 is blank."""
    l2 = build_reward(RewardSpec(name="l2"), RENDER, 512)
    assert l2([SPARSE], gt_svg=[SPARSE]) == [pytest.approx(1.0, abs=1e-3)]


def test_chat_format_completion(reward):
    chat = [{"role": "assistant", "content": f"Here:\n```svg\n{GT}\n```"}]
    assert _score(reward, [chat]) == [pytest.approx(1.0, abs=1e-4)]


def test_target_that_cannot_render_gives_no_signal(reward):
    assert _score(reward, [GT], gt="<svg><rect") == [None]


def test_text_restating_the_prompt_is_stripped_for_text2svg():
    caption = "a red square and a blue circle"
    text_only = (
        f'<svg viewBox="0 0 100 100"><text x="5" y="50" font-size="12">{caption}</text></svg>'
    )
    l2 = build_reward(RewardSpec(name="l2"), RENDER, SIZE, task="text2svg")
    scores = l2([text_only, SHIFTED], gt_svg=[GT, GT], caption=[caption, caption])
    assert scores[0] == -1.0 < scores[1]
    # Img2SVG keeps text: lettering is legitimate content there.
    l2_img = build_reward(RewardSpec(name="l2"), RENDER, SIZE)
    assert l2_img([text_only], gt_svg=[GT])[0] > -1.0


def test_standardised_l2_matches_the_reference_formula():
    a = render(GT, SIZE).astype("float32")
    b = render(SHIFTED, SIZE).astype("float32")
    za, zb = (a - a.mean()) / a.std(), (b - b.mean()) / b.std()
    expected = max(-1.0, min(1.0, 1 - float(((za - zb) ** 2).mean())))
    assert standardised_l2_reward(a, b) == pytest.approx(expected, abs=1e-5)
    assert standardised_l2_reward(a, a * 0 + 7) == -1.0  # constant image: NaN → floor


def test_canny_edges_are_blurred_dilated_outlines():
    edges = canny_edges(render(GT, SIZE))
    assert edges.shape == (SIZE, SIZE) and edges.max() > 0
    assert canny_edges(render(BLANK, SIZE)).max() == 0


def test_pixel_mse_is_the_eval_metric():
    from rlrf.scores.pixels import mse

    reward = build_reward(RewardSpec(name="pixel_mse", params={"scale": 4.0}), RENDER, SIZE)
    expected = 1.0 - 4.0 * mse(render(GT, SIZE), render(SHIFTED, SIZE))
    assert _score(reward, [SHIFTED]) == [pytest.approx(expected, abs=1e-6)]
    assert _score(reward, [SHIFTED])[0] < _score(reward, [GT])[0]
