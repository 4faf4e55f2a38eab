"""Cross-check: the project's rewards against the reference definitions, written here
independently from the authors' reward server (HTplex/rlrf-rewarder, `svg_rewarder.py`
`svg_compute_score` + `rewards_img.py` `reward_img_l2`, `canny_img`; config ht_exp2):

- the whole score short-circuits to −1 when the prediction has no complete
  `<svg …>…</svg>`, does not parse as XML, fails to render, or renders blank
  (uint8 mean ≥ 254 or max − min < 5) — every term, the length term included;
- l2: each image standardised by its own mean and std, l2 = mean((a − b)²),
  reward = −clip(l2 − 1, −1, 1), NaN → −1;
- l2_canny: the same on Canny(50, 150) edge maps, dilated 3×3 once, blurred 13×13.

Images come from the project's renderer at the reference's 512 px; the test checks the
reward layer (gate, blank rule, formulas), not CairoSVG.
"""

import re
import xml.dom.minidom

import cv2
import numpy as np
import pytest

from rlrf.config import RewardSpec
from rlrf.rewards.registry import build_reward
from rlrf.svg.render import render_unbounded as render
from tests.rewards.samples import (
    BLANK,
    GT,
    RECOLOURED,
    RENDER,
    SHIFTED,
    SPARSE,
    TINY_VIEWBOX,
    TRUNCATED,
)

SIZE = 512  # rlrf-rewarder RASTERIZE_SIZE
NS = 'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"'

CASES = {
    "identical": (GT, GT),
    "shifted": (SHIFTED, GT),
    "recoloured": (RECOLOURED, GT),
    "scaled_down": (GT.replace('viewBox="0 0 100 100"', 'viewBox="-50 -50 200 200"'), GT),
    "inverted": (f'<svg {NS}><rect width="100" height="100" fill="#000"/>'
                 '<rect x="10" y="10" width="50" height="50" fill="#33cccc"/></svg>', GT),
    "flat_red": (f'<svg {NS}><rect width="100" height="100" fill="#cc3333"/></svg>', GT),
    "one_shape": (GT.replace('<circle cx="70" cy="70" r="20" fill="#3333cc"/>', ""), GT),
    "sparse_copy": (SPARSE, SPARSE),
    "sparse_vs_dense": (SPARSE, GT),
    "dense_vs_sparse": (GT, SPARSE),
    "in_prose": (f"Here is the SVG:\n```svg\n{GT}\n```\nDone.", GT),
    "blank": (BLANK, GT),
    "white_rect": (f'<svg {NS}><rect width="100" height="100" fill="#fff"/></svg>', GT),
    "faint": (f'<svg {NS}><rect width="50" height="50" fill="#fdfdfd"/></svg>', GT),
    "tiny_viewbox": (TINY_VIEWBOX, GT),
    "self_closing": (f"<svg {NS}/>", GT),
    "truncated": (TRUNCATED, GT),
    "truncated_in_tag": (GT[: GT.index("</svg>") - 3], GT),
    "unparsable": (GT.replace("<circle", "<circle <"), GT),
    "mismatched": (GT.replace("</svg>", "</g></svg>"), GT),
    "no_svg": ("I cannot draw that.", GT),
    "text_only": (f'<svg {NS}><text x="5" y="50" font-size="12">a red square</text></svg>', GT),
}


# ---- the reference, from its definitions -------------------------------------------------

def ref_valid_render(completion: str) -> np.ndarray | None:
    """The image svg_compute_score goes on to score, or None where it returns −1."""
    found = re.findall(r"<svg\b[^>]*>.*?</svg>", completion, flags=re.DOTALL | re.IGNORECASE)
    if not found:
        return None
    try:
        xml.dom.minidom.parseString(found[-1])
    except Exception:  # noqa: BLE001
        return None
    img = render(found[-1], SIZE)
    if not isinstance(img, np.ndarray):
        return None
    if img.mean() >= 254 or int(img.max()) - int(img.min()) < 5:
        return None
    return img


def ref_l2(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        za = (a - a.mean()) / a.std()
        zb = (b - b.mean()) / b.std()
        l2 = np.sum((za - zb) ** 2) / za.size
    return -1.0 if np.isnan(l2) else float(-np.clip(l2 - 1, -1, 1))


def ref_canny(img_rgb: np.ndarray) -> np.ndarray:
    bgr = np.ascontiguousarray(img_rgb[..., ::-1])
    edges = cv2.Canny(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), 50, 150)
    edges[edges != 0] = 255
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8), iterations=1)
    return cv2.GaussianBlur(cv2.cvtColor(edges, cv2.COLOR_GRAY2BGR), (13, 13), 0)


def reference(completion: str, gt: str) -> dict[str, float]:
    pred = ref_valid_render(completion)
    if pred is None:
        return {"l2": -1.0, "l2_canny": -1.0, "length": -1.0}
    target = render(gt, SIZE)
    return {"l2": ref_l2(target, pred), "l2_canny": ref_l2(ref_canny(target), ref_canny(pred)), "length": None}


# ---- the project ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def project():
    rewards = {n: build_reward(RewardSpec(name=n), RENDER, SIZE) for n in ("l2", "l2_canny", "length")}
    preds = [p for p, _ in CASES.values()]
    gts = [g for _, g in CASES.values()]
    scores = {n: fn(preds, gt_svg=gts) for n, fn in rewards.items()}
    return {case: {n: scores[n][i] for n in scores} for i, case in enumerate(CASES)}


@pytest.mark.parametrize("case", list(CASES))
def test_rewards_agree_with_the_reference(project, case):
    pred, gt = CASES[case]
    expected = reference(pred, gt)
    got = project[case]
    assert got["l2"] == pytest.approx(expected["l2"], abs=2e-3), "l2"
    assert got["l2_canny"] == pytest.approx(expected["l2_canny"], abs=2e-3), "l2_canny"
    if expected["length"] is not None:  # short-circuited: the length term is not paid either
        assert got["length"] == expected["length"]


def test_the_cases_cover_both_sides_of_the_gate(project):
    floored = {c for c in CASES if reference(*CASES[c])["length"] == -1.0}
    assert {"blank", "white_rect", "faint", "truncated", "unparsable", "no_svg", "self_closing"} <= floored
    assert {"identical", "sparse_copy", "flat_red", "in_prose"}.isdisjoint(floored)
    assert project["identical"]["l2"] == pytest.approx(1.0, abs=1e-3)
    assert project["sparse_copy"]["l2"] == pytest.approx(1.0, abs=1e-3)
