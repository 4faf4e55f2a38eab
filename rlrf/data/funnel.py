"""The curation funnel: for every input row, each filter it reached, kept or dropped, why.

Invariant a user relies on: for every filter, rows in = kept + dropped, and every input
row ends in exactly one place (a split, or dropped by exactly one filter).
"""

from __future__ import annotations

import pyarrow as pa

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
        """Rows that reached `filter_name`; `dropped[i]` says it left here, `reasons[i]` why."""
        sample_ids = list(_py(sample_ids))
        dropped = [bool(d) for d in _py(dropped)]
        if reasons is None:
            reasons = [filter_name if d else kept_reason for d in dropped]
        else:
            reasons = [str(r) for r in _py(reasons)]
        step = self._steps.setdefault(filter_name, len(self._steps))
        self._parts.append(pa.table({
            "sample_id": pa.array(sample_ids, pa.string()),
            "source": pa.array(list(_py(sources)), pa.string()),
            "step": pa.array([step] * len(sample_ids), pa.int32()),
            "filter": pa.array([filter_name] * len(sample_ids), pa.string()),
            "kept": pa.array([not d for d in dropped], pa.bool_()),
            "reason": pa.array(reasons, pa.string()),
        }, schema=FUNNEL_SCHEMA))

    def table(self) -> pa.Table:
        if not self._parts:
            return FUNNEL_SCHEMA.empty_table()
        return pa.concat_tables(self._parts)


def _py(values):
    if isinstance(values, pa.ChunkedArray | pa.Array):
        return values.to_pylist()
    return values
