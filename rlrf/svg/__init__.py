"""Safe SVG rendering: extract from completions, sanitise, render to numpy, bounded pool."""

from rlrf.svg.extract import extract_svg
from rlrf.svg.pool import RenderPool, shared_pool
from rlrf.svg.render import RenderFailure, RenderResult, is_blank, render
from rlrf.svg.sanitize import SvgRejected, sanitize, strip_text

__all__ = [
    "RenderFailure",
    "RenderPool",
    "RenderResult",
    "SvgRejected",
    "extract_svg",
    "is_blank",
    "render",
    "sanitize",
    "shared_pool",
    "strip_text",
]
