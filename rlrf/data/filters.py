"""Cheap, vectorised curation filters (paper App. A: SVG-Stack 2.1M -> 1.7M).

Each filter takes the SVG text column and returns a boolean mask of rows it *drops*;
they run as pyarrow compute kernels (RE2 regexes), never as a per-row Python loop,
so 2.1M rows take minutes on one machine.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from rlrf.config import CurateConfig

_B64 = "[A-Za-z0-9+/=]"


def _at_least(char_class: str, n: int) -> str:
    """`char_class{n,}` written within RE2's repetition limit of 1000."""
    hundreds, rest = divmod(n, 100)
    parts = []
    if hundreds:
        parts.append(f"(?:{char_class}{{100}}){{{hundreds}}}")
    if rest:
        parts.append(f"{char_class}{{{rest}}}")
    return "".join(parts) or ""


def drop_empty(svg: pa.ChunkedArray) -> pa.ChunkedArray:
    """No `<svg` element at all (null, empty, or some other document)."""
    has_svg = pc.match_substring_regex(svg, r"(?i)<svg[\s>/]")
    return pc.invert(pc.fill_null(has_svg, False))


def drop_long_url(svg: pa.ChunkedArray, max_chars: int) -> pa.ChunkedArray:
    """An http(s)/ftp URL longer than `max_chars` (memorisation risk, App. A)."""
    pattern = r"(?i)(?:https?|ftp)://" + _at_least(r"[^\s\"'<>)]", max_chars)
    return pc.fill_null(pc.match_substring_regex(svg, pattern), False)


def drop_base64_image(svg: pa.ChunkedArray, max_chars: int) -> pa.ChunkedArray:
    """An embedded base64 payload longer than `max_chars` (raster stand-ins, App. A)."""
    pattern = r"(?i)base64,\s*" + _at_least(_B64, max(max_chars, 1))
    return pc.fill_null(pc.match_substring_regex(svg, pattern), False)


def drop_external_image(svg: pa.ChunkedArray) -> pa.ChunkedArray:
    """`<image>` (or `<use>`/`<feImage>`) pointing outside the document."""
    pattern = r"(?is)<(?:image|feimage|use)\b[^>]*href\s*=\s*[\"']\s*(?:https?:|ftp:|file:|//)"
    return pc.fill_null(pc.match_substring_regex(svg, pattern), False)


def cheap_filters(cfg: CurateConfig) -> list[tuple[str, callable]]:
    """(filter name, svg column -> drop mask), applied in this order."""
    filters = [
        ("empty", drop_empty),
        ("long_url", lambda c: drop_long_url(c, cfg.max_url_chars)),
        ("base64_image", lambda c: drop_base64_image(c, cfg.max_base64_chars)),
    ]
    if cfg.drop_external_images:
        filters.append(("external_image", drop_external_image))
    return filters
