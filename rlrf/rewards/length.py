"""`length`: keep roll-outs near the target's length without collapsing (RLRF Sec. 3.2).

rlrf-rewarder `reward_score/rewards_svg.py::reward_svg_length_quadratic`:
`clip(1 − (max(0, L_pred − L_gt/2) / L_gt)², −1, 1)` — full reward up to half the
target length, 0.75 at equal length, 0 at 1.5x, −1 from 2x. Alone it rewards ever
shorter outputs, which the paper reports as length collapse; following
`reward_svg_length_juan` we give −1 below half the target length. Lengths are in tokens
of the policy's tokenizer (characters only when no tokenizer is given).

The length term is paid only on top of a scoreable roll-out: one that is unfinished (no
`</svg>` within the budget), does not parse, fails to render or renders blank scores −1
here too, as the reference's `svg_compute_score` short-circuits the whole score to −1
(the gate is `rlrf.rewards.rendering.prediction_renders`, shared with every term).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from rlrf.config import RenderConfig
from rlrf.rewards.base import INVALID, completion_text
from rlrf.rewards.rendering import prediction_renders, prediction_svgs, report_renders
from rlrf.svg.extract import extract_svg
from rlrf.svg.render import RenderFailure

log = logging.getLogger(__name__)


def length_reward(pred_len: int, gt_len: int) -> float:
    """The quadratic length reward with the length-collapse floor (see module docstring)."""
    if gt_len <= 0:
        return 0.0
    if pred_len < gt_len / 2:
        return INVALID
    return float(np.clip(1.0 - (max(0.0, pred_len - gt_len / 2) / gt_len) ** 2, -1.0, 1.0))


class LengthReward:
    """`length` as a TRL reward; reads `gt_n_tokens` when the dataset has it, else tokenises `gt_svg`.

    With `render` (and `size`, the image rewards' render size) the full validity gate
    applies, blank and failed renders included (a cache hit when image terms rendered
    the batch already); without it only the text checks (unfinished, unparsable) do.
    """

    def __init__(
        self,
        name: str = "length",
        tokenizer=None,
        render: RenderConfig | None = None,
        size: int | None = None,
        strip_text: bool = False,
    ):
        self.__name__ = name
        self.tokenizer = tokenizer
        self.render, self.size, self.strip_text = render, size, strip_text
        if tokenizer is None:
            log.warning("reward %r: no tokenizer given, measuring length in characters", name)

    def _lengths(self, texts: Sequence[str]) -> list[int]:
        if self.tokenizer is None:
            return [len(t) for t in texts]
        return [
            len(ids) for ids in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        ]

    def _valid(self, completions, columns: dict) -> list[bool]:
        if self.render is not None and self.size is not None:
            checked = prediction_renders(completions, self.size, self.render, self.strip_text)
            report_renders(checked, columns)
        else:
            checked = prediction_svgs(completions, self.strip_text)
        return [not isinstance(c, RenderFailure) for c in checked]

    def __call__(self, completions, gt_svg=None, gt_n_tokens=None, **columns) -> list[float]:
        valid = self._valid(completions, columns)
        texts = []
        for completion in completions:
            text = completion_text(completion)
            texts.append(extract_svg(text) or text)
        pred = self._lengths(texts)
        if gt_n_tokens is not None and self.tokenizer is not None:
            gt = [int(n) for n in gt_n_tokens]
        elif gt_svg is not None:
            gt = self._lengths(gt_svg)
        else:
            raise ValueError(f"reward {self.__name__!r} needs `gt_svg` or `gt_n_tokens`")
        return [
            length_reward(p, g) if ok else INVALID for ok, p, g in zip(valid, pred, gt, strict=True)
        ]
