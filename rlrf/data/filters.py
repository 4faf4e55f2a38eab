"""Cheap, vectorised curation filters (paper App. A: SVG-Stack 2.1M -> 1.7M).

Each filter takes the SVG text column and returns a boolean mask of rows it *drops*;
they run as pyarrow / DuckDB kernels (RE2 regexes), never as a per-row Python loop,
so 2.1M rows take minutes on one machine.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from rlrf.config import CurateConfig

_URL = r"""(?i)(?:https?|ftp)://[^\s"'<>)]+"""
_BASE64 = r"(?i)base64,\s*([A-Za-z0-9+/=]+)"


def _longest_match(svg: pa.ChunkedArray, pattern: str, group: int) -> pa.ChunkedArray:
    """Length of the longest match of `pattern` per row (DuckDB's vectorised RE2)."""
    con = duckdb.connect()
    try:
        con.register("arrow_table", pa.table({"svg": svg}))
        rel = con.sql(
            "SELECT coalesce(list_max(list_transform(regexp_extract_all(svg, $p, $g), lambda x: length(x))), 0) AS n"
            " FROM arrow_table",
            params={"p": pattern, "g": group},
        )
        return rel.to_arrow_table()["n"]
    finally:
        con.close()


def drop_too_large(svg: pa.ChunkedArray, max_chars: int) -> pa.ChunkedArray:
    """Text longer than any model context or render budget (hostile or machine-generated)."""
    return pc.fill_null(pc.greater(pc.utf8_length(svg), max_chars), False)


def drop_empty(svg: pa.ChunkedArray) -> pa.ChunkedArray:
    """No `<svg` element at all (null, empty, or some other document)."""
    has_svg = pc.match_substring_regex(svg, r"(?i)<svg[\s>/]")
    return pc.invert(pc.fill_null(has_svg, False))


def drop_long_url(svg: pa.ChunkedArray, max_chars: int) -> pa.ChunkedArray:
    """An http(s)/ftp URL longer than `max_chars` (memorisation risk, App. A)."""
    return pc.greater(_longest_match(svg, _URL, 0), max_chars)


def drop_base64_image(svg: pa.ChunkedArray, max_chars: int) -> pa.ChunkedArray:
    """An embedded base64 payload longer than `max_chars` (raster stand-ins, App. A)."""
    return pc.greater(_longest_match(svg, _BASE64, 1), max_chars)


def drop_external_image(svg: pa.ChunkedArray) -> pa.ChunkedArray:
    """`<image>` (or `<use>`/`<feImage>`) pointing outside the document."""
    pattern = r"(?is)<(?:image|feimage|use)\b[^>]*href\s*=\s*[\"']\s*(?:https?:|ftp:|file:|//)"
    return pc.fill_null(pc.match_substring_regex(svg, pattern), False)


def drop_no_caption(caption: pa.ChunkedArray) -> pa.ChunkedArray:
    """No usable caption: a Text2SVG set needs a description for every SVG."""
    return pc.fill_null(pc.less(pc.utf8_length(pc.utf8_trim_whitespace(caption)), 3), True)


def cheap_filters(cfg: CurateConfig) -> list[tuple[str, callable]]:
    """(filter name, column it reads, column -> drop mask), applied in this order."""
    filters = [
        ("empty", "svg", drop_empty),
        ("too_large", "svg", lambda c: drop_too_large(c, cfg.max_svg_chars)),
        ("long_url", "svg", lambda c: drop_long_url(c, cfg.max_url_chars)),
        ("base64_image", "svg", lambda c: drop_base64_image(c, cfg.max_base64_chars)),
    ]
    if cfg.drop_external_images:
        filters.append(("external_image", "svg", drop_external_image))
    if cfg.require_caption:
        filters.append(("no_caption", "caption", drop_no_caption))
    return filters
