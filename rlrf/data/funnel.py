"""The curation funnel: for every input row, each filter it reached, kept or dropped, why.

Invariant a user relies on: for every filter, rows in = kept + dropped, and every input
row ends in exactly one place (a split, or dropped by exactly one filter).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FUNNEL_SCHEMA = pa.schema([
    ("sample_id", pa.string()),
    ("source", pa.string()),
    ("step", pa.int32()),
    ("filter", pa.string()),
    ("kept", pa.bool_()),
    ("reason", pa.string()),
])


class Funnel:
    def __init__(self) -> None:
        self._parts: list[pa.Table] = []
        self._steps: dict[str, int] = {}

    def record(self, sample_ids, sources, filter_name: str, dropped, reasons=None, kept_reason: str = "pass") -> None:
        """Rows that reached `filter_name`; `dropped[i]` says it left here, `reasons[i]` why.
        Accepts Arrow arrays or Python lists; stays columnar for millions of rows."""
        dropped = _arrow(dropped, pa.bool_())
        n = len(dropped)
        if reasons is None:
            reasons = pc.if_else(dropped, filter_name, kept_reason)
        step = self._steps.setdefault(filter_name, len(self._steps))
        self._parts.append(pa.table({
            "sample_id": _arrow(sample_ids, pa.string()),
            "source": _arrow(sources, pa.string()),
            "step": pa.array(np.full(n, step, dtype=np.int32)),
            "filter": pa.repeat(pa.scalar(filter_name, pa.string()), n),
            "kept": pc.invert(dropped),
            "reason": _arrow(reasons, pa.string()),
        }, schema=FUNNEL_SCHEMA))

    def table(self) -> pa.Table:
        if not self._parts:
            return FUNNEL_SCHEMA.empty_table()
        return pa.concat_tables(self._parts)


def _arrow(values, type_: pa.DataType) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values.cast(type_)
    return pa.array(list(values), type_)
