"""Ink IoU and ink share: the hack-resistant drawing metrics (a blank or a dash scores ~0)."""

import numpy as np
import pytest

from rlrf.eval import metrics as M
from rlrf.scores import pixels as P


def _canvas(size: int = 128) -> np.ndarray:
    return np.full((size, size, 3), 255, np.uint8)


def _box(y0: int, y1: int, x0: int, x1: int, colour=(200, 30, 30), size: int = 128) -> np.ndarray:
    img = _canvas(size)
    img[y0:y1, x0:x1] = colour
    return img


def test_identical_drawings_score_one():
    a = _box(20, 70, 30, 90)
    assert P.ink_iou(a, a) == 1.0


def test_disjoint_drawings_score_zero():
    assert P.ink_iou(_box(0, 40, 0, 40), _box(80, 120, 80, 120)) == 0.0


def test_blank_vs_blank_is_defined_as_agreement():
    """Empty union: both say 'no ink anywhere', so they agree (documented as 1)."""
    assert P.ink_iou(_canvas(), _canvas()) == 1.0


def test_blank_and_dash_score_zero_or_near_on_a_drawing():
    gt = _box(20, 100, 20, 100)
    assert P.ink_iou(gt, _canvas()) == 0.0
    dash = _box(60, 62, 60, 70)
    assert P.ink_iou(gt, dash) < 0.01


def test_partial_overlap_is_intersection_over_union():
    a = _box(0, 64, 0, 64)  # 64*64
    b = _box(0, 64, 32, 96)  # overlaps half of a
    assert P.ink_iou(a, b) == pytest.approx(32 * 64 / (96 * 64))


def test_ink_is_any_channel_below_200_at_thumbnail_size():
    light = _box(0, 128, 0, 128, colour=(210, 210, 210))
    assert P.ink_share(light) == 0.0
    yellow = _box(0, 64, 0, 128, colour=(255, 220, 0))  # blue channel is dark: ink
    assert P.ink_share(yellow) == pytest.approx(0.5)
    big = _box(0, 256, 0, 256, size=512)  # judged after a box resize to 128 px
    assert P.ink_mask(big).shape == (128, 128)
    assert P.ink_share(big) == pytest.approx(0.25)


def test_score_images_reports_ink_ratio_and_blank_failures():
    gt = _box(0, 64, 0, 128)
    half = _box(0, 32, 0, 128)
    models = M.MetricModels()
    rows = M.score_images([gt, gt, P.blank_image(128)], [half, None, P.blank_image(128)], models)
    assert rows[0]["ink_gt"] == pytest.approx(0.5) and rows[0]["ink_pred"] == pytest.approx(0.25)
    assert rows[0]["ink_ratio"] == pytest.approx(0.5) and rows[0]["ink_iou"] == pytest.approx(0.5)
    assert rows[1]["ink_iou"] == 0.0 and rows[1]["ink_ratio"] == 0.0  # failed render = blank
    assert rows[2]["ink_iou"] == 1.0 and rows[2]["ink_ratio"] is None  # blank target: ratio undefined


def test_ink_layout_is_where_the_ink_is_on_an_8x8_grid():
    assert P.ink_layout(_canvas()) == 0
    assert P.ink_layout(_box(0, 16, 0, 16)) == 1  # the top-left cell only
    assert P.ink_layout(_box(112, 128, 112, 128)) == -(1 << 63)  # the last cell: bit 63, signed
    full = P.ink_layout(_box(0, 128, 0, 128))
    assert full == -1  # every bit set, as a signed 64-bit integer
    # the same disc in another colour and another size of render has the same layout
    yy, xx = np.mgrid[:512, :512]
    disc = _canvas(512)
    disc[(yy - 256) ** 2 + (xx - 256) ** 2 < 180 ** 2] = (0, 0, 0)
    red = disc.copy()
    red[(disc == 0).all(-1)] = (180, 20, 20)
    assert P.ink_layout(disc) == P.ink_layout(red) != 0
    # a dash is below half of any cell
    assert P.ink_layout(_box(60, 62, 60, 70)) == 0


def test_metrics_rows_carry_both_layouts():
    gt = _box(0, 64, 0, 64)
    rows = M.score_images([gt, gt, None], [None, gt, gt], M.MetricModels())
    assert rows[0]["ink_layout_pred"] == 0  # a failed render is scored as a blank canvas
    assert rows[0]["ink_layout_gt"] == rows[1]["ink_layout_pred"] == P.ink_layout(gt) != 0
    assert rows[2]["ink_layout_gt"] is None and rows[2]["ink_layout_pred"] is None  # unscored
