"""Integer-grid normalisation of SVG geometry (a curation option, `curate.grid`).

IconShop and OmniSVG make small models learn SVG by giving every coordinate one token:
the drawing is scaled onto a small integer grid (here `viewBox="0 0 G G"`), every shape
becomes one `<path>` with absolute `M/L/C/Q/Z` commands and integer coordinates, and
transforms, `<use>`, groups and inherited styles are resolved away. `svgelements` does the
parsing, style cascade, unit and transform resolution; this module only writes the result.

What cannot be written this way (text, embedded images, gradients, clip paths and masks
the renderer would honour) is caught by comparing renders before and after (see
`rlrf.data.curate.prepare`), not by a list of unsupported features.
"""

from __future__ import annotations

import io
import logging
import math
import re

log = logging.getLogger(__name__)

_ROOT_SIZE = re.compile(r"""(<svg\b[^>]*?)\s(?:width|height)\s*=\s*(["'])[^"']*\2""", re.IGNORECASE)
_UNSUPPORTED = ("Text", "Image")


def _num(v: float) -> str:
    r = round(v)
    return "0" if r == 0 else str(int(r))


def _colour(c) -> str | None:
    """svgelements Color -> '#rgb' / '#rrggbb'; None for none / unset."""
    if c is None or c.value is None:
        return None
    h = c.hexrgb  # '#rrggbb'
    if h[1] == h[2] and h[3] == h[4] and h[5] == h[6]:
        return "#" + h[1] + h[3] + h[5]
    return h


def _path_data(path) -> str:
    """Absolute commands with integer coordinates, written compactly: arcs become cubics,
    axis-aligned lines H/V, curves whose rounded control points lie on their chord L,
    degenerate segments go."""
    from svgelements import Close, CubicBezier, Line, Move, QuadraticBezier

    path.approximate_arcs_with_cubics()
    out: list[str] = []
    last: tuple[int, int] | None = None
    start: tuple[int, int] | None = None
    for seg in path:
        if isinstance(seg, Move):
            last = start = (round(seg.end.x), round(seg.end.y))
            out.append(f"M{_num(last[0])} {_num(last[1])}")
            continue
        if isinstance(seg, Close):
            out.append("Z")
            last = start
            continue
        if isinstance(seg, CubicBezier):
            pts = [(round(q.x), round(q.y)) for q in (seg.control1, seg.control2, seg.end)]
        elif isinstance(seg, QuadraticBezier):
            pts = [(round(q.x), round(q.y)) for q in (seg.control, seg.end)]
        elif isinstance(seg, Line):
            pts = [(round(seg.end.x), round(seg.end.y))]
        else:
            continue
        end = pts[-1]
        if last is None:
            continue
        if len(pts) > 1 and all(_on_chord(last, q, end) for q in pts[:-1]):
            pts = [end]
        if len(pts) == 1:
            if end == last:
                continue
            if end[1] == last[1]:
                out.append(f"H{_num(end[0])}")
            elif end[0] == last[0]:
                out.append(f"V{_num(end[1])}")
            else:
                out.append(f"L{_num(end[0])} {_num(end[1])}")
        else:
            out.append(("C" if len(pts) == 3 else "Q") + " ".join(f"{_num(x)} {_num(y)}" for x, y in pts))
        last = end
    # a move followed by nothing that draws (another move, or the end) draws nothing
    d = "".join(out)
    return re.sub(r"M-?\d+ -?\d+(?=M|$)", "", d)


def _on_chord(a: tuple[int, int], q: tuple[int, int], b: tuple[int, int]) -> bool:
    """Control point q lies on segment a-b (within half a grid unit): the curve is a line."""
    ax, ay = b[0] - a[0], b[1] - a[1]
    qx, qy = q[0] - a[0], q[1] - a[1]
    length2 = ax * ax + ay * ay
    if length2 == 0:
        return qx == 0 and qy == 0
    t = (qx * ax + qy * ay) / length2
    cross = abs(qx * ay - qy * ax) / math.sqrt(length2)
    return -0.01 <= t <= 1.01 and cross <= 0.5


def _style(el, scale: float) -> list[str] | None:
    """Attributes that change pixels: fill, fill-rule, stroke and its width/caps/joins, opacity."""
    fill, stroke = _colour(el.fill), _colour(el.stroke)
    width = el.implicit_stroke_width if stroke is not None else 0
    if stroke is not None and (width is None or width <= 0):
        stroke = None
    if fill is None and stroke is None:
        return None
    attrs = [f'fill="{fill or "none"}"']
    if fill is not None and el.fill.opacity < 0.999:
        attrs.append(f'fill-opacity="{el.fill.opacity:.2g}"')
    if fill is not None and str(el.values.get("fill-rule", "")).strip() == "evenodd":
        attrs.append('fill-rule="evenodd"')
    if stroke is not None:
        attrs.append(f'stroke="{stroke}" stroke-width="{max(1, round(width))}"')
        if el.stroke.opacity < 0.999:
            attrs.append(f'stroke-opacity="{el.stroke.opacity:.2g}"')
        for key in ("stroke-linecap", "stroke-linejoin"):
            v = str(el.values.get(key, "")).strip()
            if v in ("round", "square", "bevel"):
                attrs.append(f'{key}="{v}"')
    return attrs


def to_grid(svg: str, grid: int = 64) -> str | None:
    """`svg` redrawn on a `grid` x `grid` integer canvas, or None when it cannot be.

    The drawing keeps its aspect ratio and is centred (the same `meet` placement the
    renderer uses), so a render of the result matches a render of the input up to the
    rounding of coordinates to whole grid units.
    """
    from svgelements import SVG, Path, Shape

    try:
        # The root's own width/height would set the viewport; the grid replaces them.
        text = _ROOT_SIZE.sub(r"\1", _ROOT_SIZE.sub(r"\1", svg, count=1), count=1)
        doc = SVG.parse(io.StringIO(text), width=grid, height=grid, reify=True, color="black")
        parts: list[str] = []
        for el in doc.elements():
            name = type(el).__name__
            if name in _UNSUPPORTED:
                return None
            if not isinstance(el, Shape) or el.values.get("visibility") == "hidden":
                continue
            if str(el.values.get("display", "")).strip() == "none":
                continue
            attrs = _style(el, grid)
            if attrs is None:
                continue
            path = Path(el)
            path.reify()
            d = _path_data(path)
            if not d:
                continue
            parts.append(f'<path d="{d}" ' + " ".join(attrs) + "/>")
    except Exception as exc:  # noqa: BLE001 -- a file svgelements cannot read is dropped, not fatal
        log.debug("to_grid failed: %s: %s", type(exc).__name__, exc)
        return None
    if not parts:
        return None
    return f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {grid} {grid}">' + "".join(parts) + "</svg>"


def render_distance(a, b) -> float:
    """Mean absolute difference of two uint8 renders in [0, 1] (the fidelity check)."""
    import numpy as np

    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        return math.inf
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean() / 255.0)
