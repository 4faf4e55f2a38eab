"""SVG-Stack text normalisation (paper App. A): round decimals, drop XML headers, hash.

The paper says it rounds "decimals to two significant figures". Two significant
figures of an absolute coordinate (123.4 -> 120) would move shapes visibly, so we read it
as the StarVector/SVG-Stack practice: keep the integer part and at most `decimals`
digits after the point. The regexes here touch number *text* and the XML declaration
only; structure is handled by the XML pass in `rlrf.data.clean`.
"""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_XML_HEADER = r"^\s*(<\?xml[^>]*\?>\s*)?(<!--.*?-->\s*)*"
_WHITESPACE_BETWEEN_TAGS = r">\s+<"


def strip_xml_header(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Vectorised: drop a leading `<?xml ...?>` declaration and leading comments."""
    out = pc.replace_substring_regex(col, _XML_HEADER, "", max_replacements=1)
    return pc.replace_substring_regex(out, _WHITESPACE_BETWEEN_TAGS, "><")


def round_decimals_regex(decimals: int) -> str:
    # RE2 (pyarrow) has no look-ahead: a mantissa before an exponent is cut the same way.
    return rf"(\.\d{{{decimals}}})\d+"


def round_decimals(col: pa.ChunkedArray | pa.Array, decimals: int | None) -> pa.ChunkedArray | pa.Array:
    """Vectorised: cut fractional parts to `decimals` digits (`12.34567` -> `12.34`).

    pyarrow's regex kernels cannot do arithmetic, so this truncates instead of rounding
    half-up; the error stays below 10**-decimals user units, far below a pixel at any
    realistic scale. `round_number_text` is the exact per-string version.
    """
    if decimals is None:
        return col
    pattern = round_decimals_regex(decimals)
    out = pc.replace_substring_regex(col, pattern, r"\1")
    return out


def round_number_text(text: str, decimals: int) -> str:
    """Exact per-string rounding (used by the per-row baseline and for single SVGs)."""

    def fix(m: re.Match[str]) -> str:
        value = round(float(m.group(0)), decimals)
        s = f"{value:.{decimals}f}".rstrip("0").rstrip(".") if decimals else str(int(value))
        return "0" if s in ("-0", "") else s

    return re.sub(rf"-?\d*\.\d{{{decimals + 1},}}(?![\deE])", fix, text)


def svg_hash_and_first(col: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array]:
    """Content hash of normalised SVG text (the key for dedupe and split disjointness) and
    whether each row is the first with its hash; one vectorised DuckDB pass."""
    con = duckdb.connect()
    try:
        con.register("rows", pa.table({"svg": col, "idx": pa.array(np.arange(len(col)))}))
        out = con.sql(
            "SELECT left(md5(coalesce(svg, '')), 16) AS hash,"
            " row_number() OVER (PARTITION BY md5(coalesce(svg, '')) ORDER BY idx) = 1 AS first"
            " FROM rows ORDER BY idx"
        ).to_arrow_table()
    finally:
        con.close()
    return out["hash"].combine_chunks(), out["first"].combine_chunks()
