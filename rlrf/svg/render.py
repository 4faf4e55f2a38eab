"""Render sanitised SVG with CairoSVG straight into a numpy array.

RLRF (arXiv 2505.20793, Sec. 3.2) compares the rendered roll-out with the target image.
Two details matter for the reward not to be hackable:

- the output is ALWAYS the requested size, never the SVG's own width/height/viewBox
  (a policy that writes `viewBox="0 0 1 1"` must not get a 1-pixel image upscaled);
- a failure is a typed value (`RenderFailure`), never a white image: a blank canvas is
  the first hack a policy finds, so callers must be able to tell the two apart.

This function has no time limit of its own; `rlrf.svg.pool.RenderPool` runs it in worker
processes with a wall-clock timeout and a memory cap.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Union

import numpy as np

from rlrf.config import RenderConfig
from rlrf.svg.sanitize import SvgRejected, sanitize

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderFailure:
    """Why an SVG produced no image: 'rejected:<why>', 'timeout', 'memory', 'render_error', 'worker_crash'."""

    reason: str
    detail: str = ""


RenderResult = Union[np.ndarray, RenderFailure]  # noqa: UP007  (a runtime alias others import)


class FetchBlocked(RuntimeError):
    """CairoSVG tried to load an external resource; the sanitiser should have stopped it."""


def _no_fetch(url: str, resource_type: str) -> bytes:
    raise FetchBlocked(f"blocked fetch of {url[:80]!r} ({resource_type})")


def _data_only_fetch(url: str, resource_type: str) -> bytes:
    """Used only when `allow_data_images`: decode data: URLs, refuse anything else."""
    if not url.startswith("data:"):
        _no_fetch(url, resource_type)
    from cairosvg.url import fetch

    return fetch(url, resource_type)


def _output_size(size: int | tuple[int, int], svg: str, pad_square: bool) -> tuple[int, int]:
    """(width, height) of the canvas: `size` squared, or the SVG's aspect with long edge `size`."""
    if not isinstance(size, (int, np.integer)):
        width, height = size
        return int(width), int(height)
    if pad_square:
        return int(size), int(size)
    aspect = _aspect(svg)
    if aspect >= 1:
        return size, max(1, round(size / aspect))
    return max(1, round(size * aspect)), size


_ROOT_ATTR = re.compile(r"""\b(viewBox|width|height)\s*=\s*["']([^"']*)["']""")


def _aspect(svg: str) -> float:
    """Width/height of the root viewport (viewBox first, then width/height; else square)."""
    head = svg[: svg.find(">") + 1] if ">" in svg else svg
    attrs = {k: v for k, v in _ROOT_ATTR.findall(head)}
    try:
        parts = [float(p) for p in re.split(r"[\s,]+", attrs.get("viewBox", "").strip()) if p]
        if len(parts) == 4 and parts[2] > 0 and parts[3] > 0:
            return parts[2] / parts[3]
        width = float(re.sub(r"[a-z%]+$", "", attrs["width"].strip()))
        height = float(re.sub(r"[a-z%]+$", "", attrs["height"].strip()))
        if width > 0 and height > 0 and "%" not in attrs["width"] + attrs["height"]:
            return width / height
    except (KeyError, ValueError):
        pass
    return 1.0


def _draw(clean_svg: str, width: int, height: int, limits: RenderConfig) -> np.ndarray:
    """CairoSVG → cairo ImageSurface (ARGB32, premultiplied) → uint8 RGB on white."""
    import cairosvg.parser
    import cairosvg.surface

    fetcher = _data_only_fetch if limits.allow_data_images else _no_fetch
    tree = cairosvg.parser.Tree(
        bytestring=clean_svg.encode("utf-8"), url_fetcher=fetcher, unsafe=False
    )
    # output_width/height fix the canvas; CairoSVG maps the viewBox into it with the SVG's
    # preserveAspectRatio (default xMidYMid meet = centred, letterboxed = padded).
    # parent_* make size-less SVGs use pixel user units instead of an undefined size.
    surface = cairosvg.surface.PNGSurface(
        tree,
        None,
        96,
        parent_width=width,
        parent_height=height,
        output_width=width,
        output_height=height,
    )
    cairo_surface = surface.cairo
    cairo_surface.flush()
    stride = cairo_surface.get_stride()
    buf = np.frombuffer(cairo_surface.get_data(), dtype=np.uint8).reshape(height, stride)
    bgra = buf[:, : width * 4].reshape(height, width, 4).astype(np.int16)
    alpha = bgra[..., 3:4]
    # Premultiplied ARGB in native (little-endian) order is B, G, R, A; over white:
    # out = c_premul + (255 - a).
    rgb = bgra[..., 2::-1] + (255 - alpha)
    surface.finish()
    return np.clip(rgb, 0, 255).astype(np.uint8)


def render_unbounded(
    svg: str,
    size: int | tuple[int, int],
    limits: RenderConfig | None = None,
    pad_square: bool = True,
) -> RenderResult:
    """Sanitise and render `svg` to a uint8 (h, w, 3) array on white, or a `RenderFailure`,
    in *this* process: no time or memory limit (a hostile SVG can make CairoSVG loop
    forever). The render pool's workers call it; everyone else calls the bounded
    `rlrf.svg.render`.

    `size` is the long edge (int) or the exact (width, height). The SVG keeps its aspect
    ratio and is padded with white to the square when `pad_square` (or to (w, h)).
    Never raises: every exception becomes a `RenderFailure`.
    """
    limits = limits or RenderConfig()
    try:
        clean = sanitize(svg, limits)
    except SvgRejected as exc:
        return RenderFailure(f"rejected:{exc.reason}", exc.detail)
    except RecursionError:
        return RenderFailure("rejected:too_deep", "recursion while checking")
    except MemoryError:
        return RenderFailure("memory", "while sanitising")
    except Exception as exc:  # noqa: BLE001  (hostile input: every failure is a value)
        return RenderFailure("rejected:parse_error", f"{type(exc).__name__}: {exc}"[:300])
    try:
        width, height = _output_size(size, clean, pad_square)
        if width <= 0 or height <= 0:
            return RenderFailure("render_error", f"bad output size {width}x{height}")
        return _draw(clean, width, height, limits)
    except MemoryError:
        return RenderFailure("memory", "")
    except Exception as exc:  # noqa: BLE001
        return RenderFailure("render_error", f"{type(exc).__name__}: {exc}"[:300])


BLANK_MIN_MEAN = 254  # rlrf-rewarder svg_compute_score: mean ≥ 254 is a white image
BLANK_MAX_RANGE = 5  # … and so is an image whose pixel values span fewer than 5 levels


def is_blank(img: np.ndarray) -> bool:
    """True for a truly blank render, the authors' reward-server rule (HTplex/rlrf-rewarder
    `svg_rewarder.py::svg_compute_score`): uint8 mean ≥ 254, or max − min < 5.

    A blank render is a reward hack (the policy's cheapest output), scored −1. A sparse
    but real drawing (a thin-line glyph with under 1 % ink) is not blank: its mean stays
    above 254 only when it is almost nothing, and its range is the full ink contrast.
    """
    lo, hi = int(img.min()), int(img.max())
    return hi - lo < BLANK_MAX_RANGE or float(img.mean()) >= BLANK_MIN_MEAN
