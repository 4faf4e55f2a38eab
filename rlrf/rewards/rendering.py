"""Render completions and ground truths for image rewards, once per batch.

RLRF (arXiv 2505.20793, Sec. 3.2) renders each roll-out and compares it with the target
render. Several image rewards (l2, l2_canny, dreamsim, …) look at the same render, and
TRL calls them one after another on the same completions, so renders are cached by a
hash of the SVG text: predictions in a small byte-bounded LRU (about one batch), ground
truths in a larger one (they repeat every epoch). Renders go through the shared
`RenderPool`, in parallel, with its hard time and memory limits.

Which roll-outs are scored at all is decided here, once, for every reward term (image,
perceptual, text and length): the authors' reward server
(HTplex/rlrf-rewarder `svg_rewarder.py::svg_compute_score`) short-circuits the whole
score to −1 for a prediction that

- has no `<svg`, or never closes its root `</svg>` within the length budget
  (unfinished: a roll-out cut at the dynamic max length earns no partial credit),
- does not parse as XML, or fails to render,
- renders blank (`rlrf.svg.render.is_blank`: mean ≥ 254 or max − min < 5).

`prediction_renders` returns these as `RenderFailure`s (reasons `rejected:no_svg`,
`rejected:unfinished`, `rejected:parse_error`, …, `blank`) and every term turns a
failure into −1, so no term pays on top of an invalid roll-out. Evaluation does not use
this gate: it keeps StarVector's post-processing (truncated SVGs closed, failed renders
scored as a white canvas), see `rlrf.svg.extract` and README "Rewards vs evaluation".
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from rlrf.config import RenderConfig
from rlrf.rewards.base import completion_text
from rlrf.svg.extract import extract_svg, is_well_formed
from rlrf.svg.pool import shared_pool
from rlrf.svg.render import RenderFailure, is_blank
from rlrf.svg.sanitize import strip_text as strip_text_elements


class _ByteLRU:
    """Thread-safe LRU of numpy arrays / failures bounded by total bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, object] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: str, value) -> None:
        size = value.nbytes if isinstance(value, np.ndarray) else 64
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self._bytes += size
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.nbytes if isinstance(old, np.ndarray) else 64

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def reserve(self, nbytes: int) -> None:
        """Grow (never shrink) so that `nbytes` of new entries fit beside a small margin:
        a batch's renders must all stay cached until every reward term has read them."""
        with self._lock:
            self.max_bytes = max(self.max_bytes, nbytes + CACHE_MARGIN_BYTES)


# Roll-out renders are sized from the batch (`render_cached` reserves room for every render
# of the call): at paper scale (32 prompts x 64 roll-outs, 512 px, 768 KiB a render) a fixed
# 256 MiB held 341 renders, so with <= 6 GPUs each image reward re-rendered the whole batch.
CACHE_MARGIN_BYTES = 64 * 2**20
PRED_CACHE = _ByteLRU(256 * 2**20)
GT_CACHE = _ByteLRU(512 * 2**20)
# "does it parse" verdicts by SVG digest: every term of a batch asks about the same roll-outs,
# and parsing a long roll-out costs ~1 ms (a bool entry is counted as 64 bytes: ~16K entries)
PARSE_CACHE = _ByteLRU(2**20)


def _key(svg: str, size: int, limits: RenderConfig) -> str:
    digest = hashlib.sha1(svg.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{digest}:{size}:{hash(limits)}"


def _blank_is_failure(result: np.ndarray | RenderFailure):
    if isinstance(result, np.ndarray) and is_blank(result):
        return RenderFailure("blank", "blank render (mean >= 254 or max - min < 5)")
    return result


def render_cached(
    svgs: Sequence[str | RenderFailure | None],
    size: int,
    limits: RenderConfig,
    cache: _ByteLRU,
    blank_fails: bool = False,
) -> list[np.ndarray | RenderFailure]:
    """Render each SVG (long edge `size`, padded to a white square), hitting `cache` first.

    With `blank_fails`, a blank render is stored and returned as a failure, so the
    check runs once per distinct SVG, not once per reward. An entry that is already a
    `RenderFailure` (refused before rendering) is passed through.
    """
    out: list[np.ndarray | RenderFailure | None] = [None] * len(svgs)
    todo: dict[str, list[int]] = {}
    distinct: set[str] = set()
    for i, svg in enumerate(svgs):
        if svg is None:
            out[i] = RenderFailure("rejected:no_svg", "no <svg> in the completion")
            continue
        if isinstance(svg, RenderFailure):
            out[i] = svg
            continue
        key = _key(svg, size, limits) + (":b" if blank_fails else "")
        distinct.add(key)
        hit = cache.get(key)
        if hit is not None:
            out[i] = hit
        else:
            todo.setdefault(key, []).append(i)
    # every distinct render of this batch stays cached while the other reward terms read it,
    # so each roll-out renders once per step whatever the number of GPUs (roll-outs per rank)
    cache.reserve(len(distinct) * size * size * 3)
    if todo:
        keys = list(todo)
        results = shared_pool(limits).render_many([svgs[todo[k][0]] for k in keys], size)
        for key, result in zip(keys, results, strict=True):
            if blank_fails:
                result = _blank_is_failure(result)
            cache.put(key, result)
            for i in todo[key]:
                out[i] = result
    return out  # type: ignore[return-value]


def _well_formed(svg: str) -> bool:
    key = hashlib.sha1(svg.encode("utf-8", "surrogatepass")).hexdigest()
    verdict = PARSE_CACHE.get(key)
    if verdict is None:
        verdict = is_well_formed(svg)
        PARSE_CACHE.put(key, verdict)
    return verdict


def prediction_svg(completion, strip_text: bool = False) -> str | RenderFailure:
    """The roll-out's SVG if it may be scored, else why not (see the module docstring)."""
    text = completion_text(completion)
    svg = extract_svg(text, close_truncated=False)
    if svg is None:
        if extract_svg(text) is None:
            return RenderFailure("rejected:no_svg", "no <svg> in the completion")
        return RenderFailure("rejected:unfinished", "no </svg> closes the root within the budget")
    if not _well_formed(svg):
        return RenderFailure("rejected:parse_error", "the SVG does not parse as XML")
    return strip_text_elements(svg) if strip_text else svg


def prediction_svgs(completions: Sequence, strip_text: bool) -> list[str | RenderFailure]:
    """`prediction_svg` of each completion."""
    return [prediction_svg(c, strip_text) for c in completions]


def prediction_renders(
    completions: Sequence, size: int, limits: RenderConfig, strip_text: bool = False
) -> list[np.ndarray | RenderFailure]:
    """Each roll-out's render, or the `RenderFailure` that makes every term score it −1."""
    svgs = prediction_svgs(completions, strip_text)
    return render_cached(svgs, size, limits, PRED_CACHE, blank_fails=True)


def report_renders(renders: Sequence[np.ndarray | RenderFailure], columns: dict) -> None:
    """Tell the trainer each roll-out's gate outcome through TRL's `log_extra` reward keyword
    (columns `render_ok`, `render_error`; the GRPO stage's `rollouts` rows read them there);
    a no-op when the caller passed no `log_extra` (eval, tests)."""
    log_extra = columns.get("log_extra")
    if callable(log_extra):
        log_extra("render_ok", [not isinstance(r, RenderFailure) for r in renders])
        log_extra("render_error", [r.reason if isinstance(r, RenderFailure) else None for r in renders])


def render_predictions(
    completions: Sequence, size: int, limits: RenderConfig, strip_text: bool = False, columns: dict | None = None
) -> list[np.ndarray | None]:
    """Renders usable for scoring; None where `prediction_renders` failed (scored −1). With
    the reward's `columns`, the outcome is reported through `report_renders`."""
    renders = prediction_renders(completions, size, limits, strip_text)
    report_renders(renders, columns or {})
    return [r if isinstance(r, np.ndarray) else None for r in renders]


def render_targets(
    gt_svgs: Sequence[str], size: int, limits: RenderConfig
) -> list[np.ndarray | None]:
    """Ground-truth renders (cached across steps); None when the target itself fails."""
    renders = render_cached(list(gt_svgs), size, limits, GT_CACHE)
    return [r if isinstance(r, np.ndarray) else None for r in renders]
