"""The curation funnel: for every input row, each filter it reached, kept or dropped, why.

Invariant a user relies on: for every filter, rows in = kept + dropped, and every input
row ends in exactly one place (a split, or dropped by exactly one filter).
"""

from __future__ import annotations

from pathlib import Path

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


# a part of the funnel written by one shard or step of the streaming stage: `row` is the
# input order key, `step` the filter's first appearance within that part
PART_SCHEMA = pa.schema([*FUNNEL_SCHEMA, ("row", pa.int64())])


class Funnel:
    """Funnel rows in memory, or, with `spill_to`, written to a Parquet part file per
    `record` call (`<spill_to>-00000.parquet`, ...) so millions of rows never sit in memory."""

    def __init__(self, spill_to: Path | None = None) -> None:
        self._parts: list[pa.Table] = []
        self._steps: dict[str, int] = {}
        self.spill_to = spill_to
        self._spilled = 0
        self._suffix = ""

    def fork(self, shard: str) -> Funnel:
        """A funnel for one shard of a step recorded shard by shard: it numbers filters as
        this one does (shared), and its k-th part file is `<spill_to>-<n + k>-<shard>`
        (n: this funnel's next part), so, read back by file name and row, every shard's
        part of one call sits together, in the order one call over every shard would have
        recorded them. Once every shard is done, `skip` this funnel past those calls."""
        if self.spill_to is None:
            raise ValueError("only a funnel that spills to part files can fork")
        fork = Funnel(self.spill_to)
        fork._steps, fork._spilled, fork._suffix = self._steps, self._spilled, f"-{shard}"
        return fork

    @property
    def parts(self) -> int:
        """Part files written (a fork: counted from its parent's next part)."""
        return self._spilled

    def skip(self, to: int) -> None:
        """Continue numbering part files at `to` (past the calls of this funnel's forks)."""
        self._spilled = to

    def record(self, sample_ids, sources, filter_name: str, dropped, reasons=None, kept_reason: str = "pass",
               order=None) -> None:
        """Rows that reached `filter_name`; `dropped[i]` says it left here, `reasons[i]` why,
        `order[i]` its input order key (streaming stage). Accepts Arrow arrays or Python
        lists; stays columnar for millions of rows."""
        dropped = _arrow(dropped, pa.bool_())
        n = len(dropped)
        if reasons is None:
            reasons = pc.if_else(dropped, filter_name, kept_reason)
        step = self._steps.setdefault(filter_name, len(self._steps))
        part = pa.table({
            "sample_id": _arrow(sample_ids, pa.string()),
            "source": _arrow(sources, pa.string()),
            "step": pa.array(np.full(n, step, dtype=np.int32)),
            "filter": pa.repeat(pa.scalar(filter_name, pa.string()), n),
            "kept": pc.invert(dropped),
            "reason": _arrow(reasons, pa.string()),
            "row": pa.nulls(n, pa.int64()) if order is None else _arrow(order, pa.int64()),
        }, schema=PART_SCHEMA)
        if self.spill_to is None:
            self._parts.append(part)
            return
        from rlrf.artifacts import write_table

        write_table(part, Path(f"{self.spill_to}-{self._spilled:05d}{self._suffix}.parquet"))
        self._spilled += 1

    @property
    def filters(self) -> list[str]:
        """Filter names in the order they were first recorded."""
        return list(self._steps)

    def table(self, with_order: bool = False) -> pa.Table:
        if not self._parts:
            return (PART_SCHEMA if with_order else FUNNEL_SCHEMA).empty_table()
        out = pa.concat_tables(self._parts)
        return out if with_order else out.drop_columns(["row"])


def _arrow(values, type_: pa.DataType) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values.cast(type_)
    return pa.array(list(values), type_)
