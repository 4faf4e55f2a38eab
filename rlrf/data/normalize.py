"""SVG-Stack text normalisation (paper App. A): round decimals, drop XML headers, hash.

The paper says it rounds "decimals to two significant figures". Two significant
figures of an absolute coordinate (123.4 -> 120) would move shapes visibly, so we read it
as the StarVector/SVG-Stack practice: keep the integer part and round to at most
`decimals` digits after the point (rounded, not truncated: 1.9999 -> 2.0). The regexes here touch number *text* and the XML declaration
only; structure is handled by the XML pass in `rlrf.data.clean`.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

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
    """A number with more than `decimals` fractional digits (an exponent is part of the match,
    so RE2, which has no look-ahead, never rounds the mantissa of `1.2345e-5`)."""
    return rf"-?\d*\.\d{{{decimals + 1},}}(?:[eE][-+]?\d+)?"


# One DuckDB pass over the column: split each SVG around the long numbers, round each number
# as an exact decimal (half away from zero: only digit decimals+1 matters, so the text is cut
# there first and fits DECIMAL(38, 10)), and zip the pieces back together.
_ROUND_SQL = """
WITH numbers AS (
  SELECT idx, svg, list_transform(regexp_extract_all(svg, $number), lambda x: {
      x: x,
      r: CASE WHEN regexp_matches(x, '[eE]') THEN x
         ELSE rtrim(round(CAST(regexp_extract(x, $cut) AS DECIMAL(38, 10)), $decimals)::VARCHAR, '0')
         END}) AS found
  FROM rows),
formatted AS (
  SELECT idx, svg, list_transform(found, lambda n:
      CASE WHEN n.x = n.r THEN n.x
      ELSE (CASE WHEN starts_with(n.x, '-') AND NOT starts_with(n.r, '-') THEN '-' ELSE '' END)
        || regexp_replace(
             CASE WHEN suffix(n.r, '.') THEN n.r || '0' ELSE n.r END,
             CASE WHEN regexp_matches(n.x, '^-?\\.') THEN '^(-?)0\\.' ELSE '^()$' END, '\\1.')
      END) AS rounded
  FROM numbers)
SELECT CASE WHEN svg IS NULL THEN NULL ELSE array_to_string(list_transform(
    list_zip(regexp_split_to_array(svg, $number), rounded),
    lambda p: p[1] || coalesce(p[2], '')), '') END AS svg
FROM formatted ORDER BY idx
"""


def round_decimals(col: pa.ChunkedArray | pa.Array, decimals: int | None) -> pa.ChunkedArray | pa.Array:
    """Vectorised: round fractional parts to `decimals` digits (`1.9999` -> `2.0`, `12.345` -> `12.35`).

    Exact decimal rounding, half away from zero, in one DuckDB pass (pyarrow's RE2 kernels
    cannot do arithmetic). What the text keeps, so numbers never run into each other in
    compact path data: the sign (`-0.004` -> `-0.0`), at least one fractional digit
    (`1.9999.5` -> `2.0.5`, not `2.5`), a leading-dot form (`.12345` -> `.12`); numbers with
    an exponent are left as they are. `round_number_text` is the same rule per string.
    """
    if decimals is None:
        return col
    if not 1 <= decimals <= 9:
        raise ValueError(f"round_decimals: decimals must be 1..9, got {decimals}")
    con = duckdb.connect()
    try:
        con.register("rows", pa.table({"svg": col, "idx": pa.array(np.arange(len(col)))}))
        out = con.sql(
            _ROUND_SQL,
            params={
                "number": round_decimals_regex(decimals),
                "cut": rf"^-?\d*\.\d{{{decimals + 1}}}",
                "decimals": decimals,
            },
        ).to_arrow_table()
    finally:
        con.close()
    svg = out["svg"]
    return svg.combine_chunks() if isinstance(col, pa.Array) else svg


def round_number_text(text: str, decimals: int) -> str:
    """`round_decimals` for one string, in plain Python (the per-row baseline and tests)."""
    quantum = Decimal(1).scaleb(-decimals)

    def fix(m: re.Match[str]) -> str:
        x = m.group(0)
        if "e" in x or "E" in x:
            return x
        cut = re.match(rf"-?\d*\.\d{{{decimals + 1}}}", x).group(0)
        r = str(Decimal(cut).quantize(quantum, rounding=ROUND_HALF_UP)).rstrip("0")
        r = r + "0" if r.endswith(".") else r
        if x.startswith("-") and not r.startswith("-"):
            r = "-" + r
        if re.match(r"-?\.", x):
            r = re.sub(r"^(-?)0\.", r"\1.", r)
        return r

    return re.sub(round_decimals_regex(decimals), fix, text)


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
