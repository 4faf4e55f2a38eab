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


_MARK = "\x00"  # not allowed in XML, so never part of a real SVG (stripped first anyway)
_CUT = "\x01"  # likewise; splits a marked number after its digit decimals+1
_MAX_DIGITS = 18  # an int64 holds the scaled value; longer numbers are left as they are


def round_decimals(col: pa.ChunkedArray | pa.Array, decimals: int | None) -> pa.ChunkedArray | pa.Array:
    """Vectorised: round fractional parts to `decimals` digits (`1.9999` -> `2.0`, `12.345` -> `12.35`).

    Exact decimal rounding, half away from zero. pyarrow's RE2 kernels cannot do
    arithmetic, so one regex pass marks each long number (and where its digit
    decimals+1 ends: only that digit matters for half-up), the marked numbers are split
    out of the text, rounded as scaled integers in numpy, formatted back and joined in
    place. What the text keeps, so numbers never run into each other in compact path
    data: the sign (`-0.004` -> `-0.0`), at least one fractional digit (`1.9999.5` ->
    `2.0.5`, not `2.5`), a leading-dot form (`.12345` -> `.12`); numbers with an exponent
    or more than 18 digits are left as they are. `round_number_text` is the same rule
    per string.
    """
    if decimals is None:
        return col
    if not 1 <= decimals <= 9:
        raise ValueError(f"round_decimals: decimals must be 1..9, got {decimals}")
    if isinstance(col, pa.ChunkedArray):
        return pa.chunked_array([round_decimals(c, decimals) for c in col.chunks], type=col.type)
    clean = pc.replace_substring(pc.replace_substring(col, _MARK, ""), _CUT, "")
    marked = pc.replace_substring_regex(
        clean, rf"(-?\d*\.\d{{{decimals + 1}}})(\d*(?:[eE][-+]?\d+)?)", f"{_MARK}\\1{_CUT}\\2{_MARK}"
    )
    pieces = pc.split_pattern(marked, _MARK)  # text, number, text, number, ..., text
    offsets = pieces.offsets.to_numpy()
    values = pieces.values.slice(offsets[0], offsets[-1] - offsets[0])
    position = np.arange(len(values)) - np.repeat(offsets[:-1] - offsets[0], np.diff(offsets))
    is_number = pa.array(position % 2 == 1)
    numbers = values.filter(is_number)
    if len(numbers) == 0:
        return clean
    values = pc.replace_with_mask(values, is_number, _round_numbers(numbers, decimals))
    rebuilt = pa.ListArray.from_arrays(pa.array(offsets - offsets[0], pa.int32()), values,
                                       mask=pieces.is_null())
    return pc.binary_join(rebuilt, "").cast(col.type)


def _round_numbers(marked: pa.Array, decimals: int) -> pa.Array:
    """Each marked number (`<sign><int>.<decimals+1 digits>\\x01<rest>`) rounded half away
    from zero (see `round_decimals`); string kernels only, no per-element regex."""
    cut = pc.list_element(pc.split_pattern(marked, _CUT, max_splits=1), 0)
    negative = pc.starts_with(cut, "-")
    body = pc.utf8_ltrim(cut, "-")
    digits = pc.replace_substring(body, ".", "")
    keep = pc.or_(pc.match_substring(marked, "e", ignore_case=True),
                  pc.greater(pc.utf8_length(digits), _MAX_DIGITS))
    scaled = pc.cast(pc.if_else(keep, "0", digits), pa.int64()).to_numpy()
    rounded = (scaled + 5) // 10  # half up on the magnitude = half away from zero
    whole, frac = np.divmod(rounded, 10**decimals)
    frac_text = pc.utf8_rtrim(pc.utf8_lpad(pc.cast(pa.array(frac), pa.string()), decimals, "0"), "0")
    frac_text = pc.if_else(pc.equal(frac_text, ""), "0", frac_text)
    whole_text = pc.cast(pa.array(whole), pa.string())
    whole_text = pc.if_else(pc.and_(pc.starts_with(body, "."), pa.array(whole == 0)), "", whole_text)
    text = pc.binary_join_element_wise(pc.if_else(negative, "-", ""), whole_text, ".", frac_text, "")
    if not pc.any(keep).as_py():
        return text
    return pc.if_else(keep, pc.replace_substring(marked, _CUT, ""), text)


def round_number_text(text: str, decimals: int) -> str:
    """`round_decimals` for one string, in plain Python (the per-row baseline and tests)."""
    quantum = Decimal(1).scaleb(-decimals)

    def fix(m: re.Match[str]) -> str:
        x = m.group(0)
        if "e" in x or "E" in x:
            return x
        cut = re.match(rf"-?\d*\.\d{{{decimals + 1}}}", x).group(0)
        if len(cut.replace("-", "").replace(".", "")) > _MAX_DIGITS:
            return x
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
    whether each row is the first with its hash."""
    hashes = svg_hash(col)
    return hashes, first_of_hash(hashes)


def svg_hash(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """First 16 hex digits of the MD5 of each SVG text (null as ''); one DuckDB pass."""
    con = duckdb.connect()
    try:
        con.register("rows", pa.table({"svg": col}))
        out = con.sql("SELECT left(md5(coalesce(svg, '')), 16) AS hash FROM rows").to_arrow_table()
    finally:
        con.close()
    return out["hash"].combine_chunks()


def first_of_hash(hashes: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Whether each row is the first (in table order) with its hash."""
    con = duckdb.connect()
    try:
        con.register("rows", pa.table({"hash": hashes, "idx": pa.array(np.arange(len(hashes)))}))
        out = con.sql("SELECT row_number() OVER (PARTITION BY hash ORDER BY idx) = 1 AS first"
                      " FROM rows ORDER BY idx").to_arrow_table()
    finally:
        con.close()
    return out["first"].combine_chunks()
