"""Safe SVG rendering: extract from completions, sanitise, render to numpy, bounded pool.

`render` is the bounded path (a worker process of the shared pool, with the recipe's time
and memory limits): the one to call on any SVG a model wrote. `render_unbounded` renders
in this process without limits, for the pool's workers.
"""

from rlrf.config import RenderConfig
from rlrf.svg.extract import extract_svg
from rlrf.svg.pool import RenderPool, shared_pool
from rlrf.svg.render import RenderFailure, RenderResult, is_blank, render_unbounded
from rlrf.svg.sanitize import SvgRejected, sanitize, strip_text

__all__ = [
    "RenderFailure",
    "RenderPool",
    "RenderResult",
    "SvgRejected",
    "extract_svg",
    "is_blank",
    "render",
    "render_unbounded",
    "sanitize",
    "shared_pool",
    "strip_text",
]


def render(svg: str, size: int | tuple[int, int], limits: RenderConfig | None = None) -> RenderResult:
    """`svg` rendered on white, (h, w, 3) uint8, or a `RenderFailure` (a timeout included),
    through the shared pool's worker processes and their hard limits. Raises only
    `RendererUnavailable` (CairoSVG or libcairo missing: the installation, not the SVG)."""
    return shared_pool(limits or RenderConfig()).render_many([svg], size)[0]
