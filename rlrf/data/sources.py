"""Raw SVG rows: the bundled corpus, SVG-Stack through `datasets`, or a local file.

Every source yields the same columns: sample_id, source, kind, svg, caption, license,
source_split. `source_split` is "train" / "test" where the source has splits (the hub's
SVG-Stack has both; a local file names its split column in `data.split_column`), null
where it has none (the bundled corpus): curation builds SVG-Stack-Hard from the test
split, as the paper does (§4), and falls back to a hash bucket only for split-less rows.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from rlrf.config import DataConfig, repo_root

log = logging.getLogger(__name__)

RAW_COLUMNS = ("sample_id", "source", "kind", "svg", "caption", "license", "source_split")
TRAIN, TEST = "train", "test"


def load_rows(cfg: DataConfig) -> pa.Table:
    if cfg.source == "bundled":
        return _cap(_conform(_bundled(cfg)), cfg)
    table = _conform(_from_datasets(cfg) if cfg.source == "hf" else _from_local(cfg))
    table = _cap(table, cfg)
    if cfg.include_bundled:
        table = pa.concat_tables([table, _conform(_bundled(cfg))])
    return table


def _bundled(cfg: DataConfig) -> pa.Table:
    from rlrf.data.corpus import load_bundled

    return load_bundled(_resolve(cfg.bundled_path))


def _cap(table: pa.Table, cfg: DataConfig) -> pa.Table:
    if cfg.sources is not None:
        table = table.filter(pc.is_in(table["source"], pa.array(cfg.sources, pa.string())))
    if cfg.max_rows is None or table.num_rows <= cfg.max_rows:
        return table
    split = table["source_split"]
    if split.null_count == len(split):
        return table.slice(0, cfg.max_rows)
    # the cap applies per source split, so a capped run still has test rows
    parts = [table.filter(pc.is_null(split)).slice(0, cfg.max_rows)]
    for value in (TRAIN, TEST):
        parts.append(table.filter(pc.fill_null(pc.equal(split, value), False)).slice(0, cfg.max_rows))
    return pa.concat_tables(parts)


def _resolve(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else repo_root() / p


def _from_datasets(cfg: DataConfig) -> pa.Table:
    """SVG-Stack via the hub (`starvector/svg-stack`: columns Filename, Svg; splits train,
    test): `hf_split` rows are tagged "train", `hf_test_split` rows "test"."""
    import datasets

    parts = []
    for split, tag in ((cfg.hf_split, TRAIN), (cfg.hf_test_split, TEST)):
        if split is None:
            continue
        try:
            ds = datasets.load_dataset(cfg.hf_id, split=split)
        except Exception as exc:  # noqa: BLE001 - the hub raises many types; say which dataset failed
            raise RuntimeError(
                f"could not load dataset '{cfg.hf_id}' (split {split}) through `datasets`: {exc}. "
                "Offline? Point data.source=local and data.path at a Parquet/JSON copy with the same "
                "columns (and data.split_column naming train/test rows)."
            ) from exc
        table = _svg_stack_columns(ds.data.table, cfg, origin=cfg.hf_id)
        parts.append(table.set_column(table.schema.get_field_index("source_split"), "source_split",
                                      pa.array([tag] * table.num_rows, pa.string())))
    return pa.concat_tables(parts)


def _from_local(cfg: DataConfig) -> pa.Table:
    if not cfg.path:
        raise ValueError("data.path: required when data.source is 'local'")
    path = _resolve(cfg.path)
    if not path.exists():
        raise FileNotFoundError(f"data.path: {path} does not exist")
    if path.suffix == ".parquet" or path.is_dir():
        import pyarrow.dataset as ds

        table = ds.dataset(path, format="parquet").to_table()
    else:
        import pyarrow.json as pj

        table = pj.read_json(path)
    return _svg_stack_columns(table, cfg, origin=str(path))


def _svg_stack_columns(table: pa.Table, cfg: DataConfig, origin: str) -> pa.Table:
    missing = [c for c in (cfg.svg_column, cfg.id_column) if c not in table.column_names]
    if missing:
        raise ValueError(f"{origin}: missing column(s) {missing}; found {table.column_names} "
                         "(set data.svg_column / data.id_column)")
    n = table.num_rows
    caption = (table[cfg.caption_column] if cfg.caption_column and cfg.caption_column in table.column_names
               else pa.nulls(n, pa.string()))
    split = pa.nulls(n, pa.string())
    if cfg.source == "local" and cfg.split_column:
        if cfg.split_column not in table.column_names:
            raise ValueError(f"{origin}: data.split_column {cfg.split_column!r} not in {table.column_names}")
        is_test = pc.equal(pc.cast(table[cfg.split_column], pa.string()), cfg.test_split_value)
        split = pc.if_else(pc.fill_null(is_test, False), TEST, TRAIN)
    source = origin.rstrip("/").split("/")[-1]
    return pa.table({
        "sample_id": pc.cast(table[cfg.id_column], pa.string()),
        "source": pa.array([source] * n, pa.string()),
        "kind": pa.array(["svg_stack"] * n, pa.string()),
        "svg": pc.cast(table[cfg.svg_column], pa.string()),
        "caption": pc.cast(caption, pa.string()),
        "license": pa.nulls(n, pa.string()),
        "source_split": split,
    })


def _conform(table: pa.Table) -> pa.Table:
    cols = {}
    for c in RAW_COLUMNS:
        cols[c] = pc.cast(table[c], pa.string()) if c in table.column_names else pa.nulls(table.num_rows, pa.string())
    return pa.table(cols)
