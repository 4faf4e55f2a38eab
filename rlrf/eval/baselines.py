"""Classical image vectorisers the paper compares against (RLRF Table 1: VTracer, Potrace).

Both trace the same target raster the models see and return SVG text plus the seconds
the tracing took. Settings come from the recipe (`eval.baselines`), passed through as
keyword arguments of the libraries' own APIs:

- VTracer (`vtracer` PyPI): colour tracing, `vtracer.convert_pixels_to_svg`;
- Potrace (pure-Python `potracer`): the raster is binarised at `threshold` (0-255 on
  luminance, darker = ink) and the traced curves are written as one black path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

BASELINES = ("vtracer", "potrace")


def _rgb(img: np.ndarray) -> np.ndarray:
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected (h, w, 3) uint8 RGB, got {img.shape} {img.dtype}")
    return img


def vtracer_svg(img: np.ndarray, settings: dict[str, Any] | None = None) -> str:
    """Trace an RGB raster with VTracer; `settings` are `convert_pixels_to_svg` keywords."""
    import vtracer

    img = _rgb(img)
    h, w = img.shape[:2]
    rgba = np.concatenate([img, np.full((h, w, 1), 255, np.uint8)], axis=2)
    pixels = [tuple(p) for p in rgba.reshape(-1, 4).tolist()]
    svg = vtracer.convert_pixels_to_svg(pixels, size=(w, h), **(settings or {}))
    # VTracer sizes the SVG in pixels but writes no viewBox; add one so the trace scales
    # to any render size like the corpus SVGs do.
    return svg.replace(
        f'width="{w}" height="{h}"', f'width="{w}" height="{h}" viewBox="0 0 {w} {h}"', 1
    )


def _fmt(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def potrace_svg(img: np.ndarray, settings: dict[str, Any] | None = None) -> str:
    """Binarise an RGB raster and trace it with Potrace (`potracer`).

    `settings`: `threshold` (0-255 luminance; darker pixels are traced) plus
    `Bitmap.trace` keywords (`turdsize`, `alphamax`, `opttolerance`, `opticurve`, ...).
    """
    import cv2
    import potrace

    img = _rgb(img)
    params = dict(settings or {})
    threshold = float(params.pop("threshold", 128))
    h, w = img.shape[:2]
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    # potracer's Bitmap inverts its input: pass True for *background* so ink is traced.
    bitmap = potrace.Bitmap(gray >= threshold)
    curves = bitmap.trace(**params)
    parts: list[str] = []
    for curve in curves:
        s = curve.start_point
        parts.append(f"M{_fmt(s.x)} {_fmt(s.y)}")
        for seg in curve.segments:
            e = seg.end_point
            if seg.is_corner:
                parts.append(f"L{_fmt(seg.c.x)} {_fmt(seg.c.y)}L{_fmt(e.x)} {_fmt(e.y)}")
            else:
                a, b = seg.c1, seg.c2
                parts.append(
                    f"C{_fmt(a.x)} {_fmt(a.y)} {_fmt(b.x)} {_fmt(b.y)} {_fmt(e.x)} {_fmt(e.y)}"
                )
        parts.append("Z")
    body = f'<path fill="#000000" fill-rule="evenodd" d="{"".join(parts)}"/>' if parts else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}">{body}</svg>'
    )


def trace(name: str, img: np.ndarray, settings: dict[str, Any] | None = None) -> tuple[str, float]:
    """Run baseline `name` on one raster: (svg_text, seconds)."""
    fn: Callable[[np.ndarray, dict[str, Any] | None], str]
    if name == "vtracer":
        fn = vtracer_svg
    elif name == "potrace":
        fn = potrace_svg
    else:
        raise ValueError(f"unknown baseline {name!r}; valid: {', '.join(BASELINES)}")
    t0 = time.perf_counter()
    svg = fn(img, settings)
    return svg, time.perf_counter() - t0
