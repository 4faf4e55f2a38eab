"""Raw SVG rows: the bundled corpus, SVG-Stack through `datasets`, or a local file.

Every source yields the same columns: sample_id, source, kind, svg, caption, license,
source_split. `source_split` is "train" / "test" where the source has splits (the hub's
SVG-Stack has both; a local file names its split column in `data.split_column`), null
where it has none (the bundled corpus): curation builds SVG-Stack-Hard from the test
split, as the paper does (§4), and falls back to a hash bucket only for split-less rows.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
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
        table = pa.concat_tables([table, _conform(_bundled(cfg))], promote_options="default")
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
    parts = []
    for split, tag in ((cfg.hf_split, TRAIN), (cfg.hf_test_split, TEST)):
        if split is None:
            continue
        table = _svg_stack_columns(load_hub_split(cfg.hf_id, split), cfg, origin=cfg.hf_id)
        parts.append(table.set_column(table.schema.get_field_index("source_split"), "source_split",
                                      pa.array([tag] * table.num_rows, pa.string())))
    return pa.concat_tables(parts)


def _from_local(cfg: DataConfig) -> pa.Table:
    if not cfg.path:
        raise ValueError("data.path: required when data.source is 'local'")
    path = _resolve(cfg.path)
    if not path.exists():
        raise FileNotFoundError(f"data.path: {path} does not exist")
    return _svg_stack_columns(_read_local(path), cfg, origin=str(path))


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
    svg, bad = _utf8(table[cfg.svg_column], origin, cfg.svg_column)

    def own(column: str, default: pa.Array) -> pa.Array:
        # a file that names each row's source / kind / licence (e.g. one set per icon family) keeps them
        return pc.cast(table[column], pa.string()) if column in table.column_names else default

    out = pa.table({
        "sample_id": _utf8(table[cfg.id_column], origin, cfg.id_column, replace=True)[0],
        "source": own("source", pa.array([source] * n, pa.string())),
        "kind": own("kind", pa.array(["svg_stack"] * n, pa.string())),
        "svg": svg,
        "caption": _utf8(caption, origin, cfg.caption_column or "caption", replace=True)[0],
        "license": own("license", pa.nulls(n, pa.string())),
        "source_split": split,
    })
    if bad:  # the rows stay, marked, so the funnel can say where they left
        error = [None] * n
        for i in bad:
            error[i] = "invalid_utf8"
        out = out.append_column("error", pa.array(error, pa.string()))
    return out


def _utf8(col, origin: str, column: str, replace: bool = False) -> tuple[pa.Array, list[int]]:
    """Text column as valid UTF-8 strings. Bytes that are not UTF-8 (a binary column, or
    a string column written by a lax tool) become NULL, or U+FFFD with `replace`; their
    row numbers come back so one bad row never aborts a whole load."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        col = col.cast(pa.binary() if pa.types.is_string(col.type) else pa.large_binary())
    if not (pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type)):
        return pc.cast(col, pa.string()), []
    try:
        out = col.cast(pa.string())
        out.validate(full=True)
        return out, []
    except pa.ArrowInvalid:
        pass
    values, bad = [], []
    for i, raw in enumerate(col.to_pylist()):
        try:
            values.append(None if raw is None else raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            bad.append(i)
            values.append(raw.decode("utf-8", errors="replace") if replace else None)
            if len(bad) <= 5:
                log.warning("%s: row %d, column %s: invalid UTF-8 at byte %d (%s)", origin, i, column,
                            exc.start, "replaced" if replace else "row dropped, funnel reason invalid_utf8")
    if len(bad) > 5:
        log.warning("%s: column %s: %d rows with invalid UTF-8 in all", origin, column, len(bad))
    return pa.array(values, pa.string()), ([] if replace else bad)


def _conform(table: pa.Table) -> pa.Table:
    """RAW_COLUMNS, plus `error` when a loader marked rows it could not read."""
    cols = {}
    for c in (*RAW_COLUMNS, "error"):
        if c in table.column_names:
            cols[c] = pc.cast(table[c], pa.string())
        elif c != "error":
            cols[c] = pa.nulls(table.num_rows, pa.string())
    return pa.table(cols)


def data_fingerprint(cfg: DataConfig) -> str:
    """What the curate stage read, by content: name, size and a digest of every local
    input file, so a file edited in place (same path) reruns curation while a copy or a
    `touch` does not. A hub dataset is keyed by id and split (its files live in the
    `datasets` cache)."""
    import hashlib

    h = hashlib.sha256()
    files: list[Path] = []
    if cfg.source == "hf":
        h.update(f"hf:{cfg.hf_id}:{cfg.hf_split}".encode())
    elif cfg.source == "local" and cfg.path:
        path = _resolve(cfg.path)
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    if cfg.source == "bundled" or cfg.include_bundled:
        files.append(_resolve(cfg.bundled_path))
    for p in files:
        if not p.exists():
            h.update(f"{p.name}:missing".encode())
            continue
        h.update(f"{p.name}:{p.stat().st_size}:".encode())
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]

# The paper's Text2SVG sets (RLRF §4, Text2SVG): hub id + the columns that hold the
# id, the SVG (None: prompts only) and the caption(s). A local Parquet/JSON copy with
# the same columns loads through the same function.
TEXT2SVG_SETS = {
    # Flickr30k captions: RL prompts only (five captions per image, one row each)
    "flickr30k": {"hf_id": "nlphuji/flickr30k", "hf_split": "test", "id": "img_id", "svg": None,
                  "caption": "caption"},
    # MM-Icons (OmniSVG MMSVG-Icon): caption + SVG, SFT and test
    "mm_icons": {"hf_id": "OmniSVG/MMSVG-Icon", "hf_split": "train", "id": "id", "svg": "svg",
                 "caption": "description"},
    # MM-Illustrations (OmniSVG MMSVG-Illustration): out-of-distribution eval only
    "mm_illustrations": {"hf_id": "OmniSVG/MMSVG-Illustration", "hf_split": "train", "id": "id", "svg": "svg",
                         "caption": "description"},
}


def load_text2svg_set(name: str, hf_id_or_path: str | None = None, split: str | None = None,
                      max_rows: int | None = None) -> pa.Table:
    """One of `TEXT2SVG_SETS` as RAW_COLUMNS rows (source = the set's name, kind
    `caption_only` for prompt-only sets), from its hub id or a local Parquet/JSON path."""
    if name not in TEXT2SVG_SETS:
        raise ValueError(f"unknown Text2SVG set {name!r}; valid: {', '.join(TEXT2SVG_SETS)}")
    spec = TEXT2SVG_SETS[name]
    where = hf_id_or_path or spec["hf_id"]
    path = _resolve(where)
    if path.exists():
        table = _read_local(path)
    else:
        import datasets

        try:
            table = datasets.load_dataset(where, split=split or spec["hf_split"]).data.table
        except Exception as exc:  # noqa: BLE001 - the hub raises many types; say which set failed
            raise RuntimeError(f"could not load Text2SVG set {name} from {where!r}: {exc}. Offline? "
                               "Pass a local Parquet/JSON copy with the same columns.") from exc
    rows = _text2svg_columns(table, name, spec, where, max_rows)
    # the split the rows came from (a local copy may be either: unknown, so the hash bucket decides)
    tag = None if path.exists() else split or spec["hf_split"]
    return _conform(rows.append_column("source_split", pa.array([tag] * rows.num_rows, pa.string())))


def _read_local(path: Path) -> pa.Table:
    if path.suffix == ".parquet" or path.is_dir():
        import pyarrow.dataset as ds

        return ds.dataset(path, format="parquet").to_table()
    import pyarrow.json as pj

    return pj.read_json(path)


def _text2svg_columns(table: pa.Table, name: str, spec: dict, origin: str, max_rows: int | None) -> pa.Table:
    needed = [c for c in (spec["id"], spec["svg"], spec["caption"]) if c]
    missing = [c for c in needed if c not in table.column_names]
    if missing:
        raise ValueError(f"{origin}: Text2SVG set {name} needs column(s) {missing}; found {table.column_names}")
    ids = [str(i) for i in table[spec["id"]].to_pylist()]
    captions = table[spec["caption"]].to_pylist()
    svgs = table[spec["svg"]].to_pylist() if spec["svg"] else [None] * len(ids)
    rows = {"sample_id": [], "caption": [], "svg": []}
    for sid, caption, svg in zip(ids, captions, svgs, strict=True):
        many = caption if isinstance(caption, list) else [caption]
        for k, text in enumerate(many):
            rows["sample_id"].append(f"{sid}_{k}" if len(many) > 1 else sid)
            rows["caption"].append(text)
            rows["svg"].append(svg)
        if max_rows is not None and len(rows["sample_id"]) >= max_rows:
            break
    n = len(rows["sample_id"]) if max_rows is None else min(max_rows, len(rows["sample_id"]))
    return pa.table({
        "sample_id": pa.array(rows["sample_id"][:n], pa.string()),
        "source": pa.array([name] * n, pa.string()),
        "kind": pa.array(["caption_only" if spec["svg"] is None else "text2svg"] * n, pa.string()),
        "svg": pa.array(rows["svg"][:n], pa.string()),
        "caption": pa.array(rows["caption"][:n], pa.string()),
        "license": pa.nulls(n, pa.string()),
    })


# ---------------------------------------------------------------------------------------
# Streaming: the same rows as `load_rows`, read in shards (Parquet row groups, slices of a
# memory-mapped hub table, slices of the small bundled corpus), each tagged with `row`, a
# global order key, so that steps over all shards (dedupe: first occurrence wins; sampling)
# see the rows in the order `load_rows` returns them.

ORIGIN_SHIFT = 44  # row = origin index << 44 | (group << 40 | position within the origin)


@dataclass(frozen=True)
class ShardSpec:
    """Where one shard's rows live: `kind` "bundled" / "table" (slice lo:hi of a small or
    memory-mapped table: bundled corpus, local JSON, hub split `origin`) or "parquet" (row
    groups of the file `origin`). `take`: positions kept by a `max_rows` cap (None = all),
    `keys`: their order keys (None = row_base + position)."""

    index: int
    kind: str
    origin: str
    lo: int = 0
    hi: int = 0
    row_groups: tuple[int, ...] = ()
    row_base: int = 0
    take: tuple[int, ...] | None = None
    keys: tuple[int, ...] | None = None


def plan_shards(cfg: DataConfig, shard_rows: int) -> list[ShardSpec]:
    """Shards of about `shard_rows` rows covering exactly the rows `load_rows` returns.
    Reads no SVG text: Parquet footers, and the split column when a `max_rows` cap applies."""
    specs: list[ShardSpec] = []
    origin = 0
    if cfg.source == "bundled":
        n = _bundled_capped(cfg).num_rows
        return _slices("bundled", "bundled", n, shard_rows, 0, specs)
    if cfg.source == "hf":
        parts = [(split, tag) for split, tag in ((cfg.hf_split, TRAIN), (cfg.hf_test_split, TEST)) if split]
        for split, tag in parts:
            n = _hf_table(cfg.hf_id, split).num_rows
            cap = n if cfg.max_rows is None else min(n, cfg.max_rows)
            _slices("table", f"hf:{split}:{tag}", cap, shard_rows, origin << ORIGIN_SHIFT, specs)
            origin += 1
    else:
        if not cfg.path:
            raise ValueError("data.path: required when data.source is 'local'")
        path = _resolve(cfg.path)
        if not path.exists():
            raise FileNotFoundError(f"data.path: {path} does not exist")
        name = str(path).rstrip("/").split("/")[-1]
        if cfg.sources is None or name in cfg.sources or _has_source_column(path):
            if path.suffix == ".parquet" or path.is_dir():
                _parquet_shards(cfg, path, shard_rows, specs)
            else:
                n = _local_table(str(path)).num_rows
                _slices("table", f"json:{path}", n, shard_rows, 0, specs, cfg=cfg)
        origin = 1
    if cfg.include_bundled:
        n = _bundled_capped(cfg).num_rows
        _slices("bundled", "bundled", n, shard_rows, origin << ORIGIN_SHIFT, specs)
    return specs


def _slices(kind: str, origin: str, n: int, shard_rows: int, base: int, specs: list[ShardSpec],
            cfg: DataConfig | None = None) -> list[ShardSpec]:
    if cfg is not None and cfg.max_rows is not None and n > cfg.max_rows:
        # a local JSON file with a cap: the cap's row selection, as `_cap` makes it
        table = _svg_stack_columns(_local_table(origin.split(":", 1)[1]), cfg, origin)
        keep = _cap_positions(table["source_split"], cfg.max_rows)
        for lo in range(0, len(keep), shard_rows):
            part = keep[lo:lo + shard_rows]
            specs.append(ShardSpec(len(specs), kind, origin, 0, n, (), base,
                                   tuple(p for _, p in part), tuple(base + k for k, _ in part)))
        return specs
    for lo in range(0, n, shard_rows):
        specs.append(ShardSpec(len(specs), kind, origin, lo, min(n, lo + shard_rows), (), base + lo))
    return specs


def _cap_positions(split: pa.ChunkedArray | pa.Array, max_rows: int) -> list[tuple[int, int]]:
    """(order key, position) of the rows `_cap` keeps, in `_cap`'s order: rows without a
    split, then train rows, then test rows, the first `max_rows` of each."""
    values = split.to_pylist()
    if len(values) <= max_rows:  # `_cap` leaves a table within the cap as it is
        return [(p, p) for p in range(len(values))]
    out, taken = [], Counter()
    for group, tag in enumerate((None, TRAIN, TEST)):
        for pos, v in enumerate(values):
            if (v if v in (TRAIN, TEST) else None) == tag and taken[tag] < max_rows:
                taken[tag] += 1
                out.append(((group << 40) | pos, pos))
    return out


def _parquet_shards(cfg: DataConfig, path: Path, shard_rows: int, specs: list[ShardSpec]) -> None:
    import pyarrow.dataset as pds
    import pyarrow.parquet as pq

    files = [f.path for f in pds.dataset(path, format="parquet").get_fragments()]
    capped = cfg.max_rows is not None
    base = 0
    keep_by_file: dict[str, list[tuple[int, int]]] = {}
    if capped:  # the cap spans all files: read the split column (ids only, no SVG text)
        sizes, splits = [], []
        for f in files:
            pf = pq.ParquetFile(f)
            sizes.append(pf.metadata.num_rows)
            col = _split_column(pf.read(columns=[c for c in (cfg.split_column,) if c]), cfg, pf.metadata.num_rows)
            splits.append(col)
        allsplit = pa.chunked_array([c for c in splits], type=pa.string()) if splits else pa.chunked_array([], pa.string())
        keep = _cap_positions(allsplit, cfg.max_rows)
        starts = np.cumsum([0, *sizes])
        for key, pos in keep:
            i = int(np.searchsorted(starts, pos, side="right") - 1)
            keep_by_file.setdefault(files[i], []).append((key, pos - int(starts[i])))
    for f in files:
        meta = pq.ParquetFile(f).metadata
        group, rows_in = [], 0
        offsets = np.cumsum([0] + [meta.row_group(g).num_rows for g in range(meta.num_row_groups)])
        for g in range(meta.num_row_groups):
            group.append(g)
            rows_in += meta.row_group(g).num_rows
            if rows_in >= shard_rows or g == meta.num_row_groups - 1:
                lo, hi = int(offsets[group[0]]), int(offsets[g + 1])
                take = keys = None
                if capped:
                    sel = sorted((p, k) for k, p in keep_by_file.get(f, []) if lo <= p < hi)
                    take, keys = tuple(p - lo for p, _ in sel), tuple(k for _, k in sel)
                if take is None or take:
                    specs.append(ShardSpec(len(specs), "parquet", f, lo, hi, tuple(group), base + lo, take, keys))
                group, rows_in = [], 0
        base += meta.num_rows


def _split_column(table: pa.Table, cfg: DataConfig, n: int) -> pa.Array:
    if cfg.split_column and cfg.split_column in table.column_names:
        is_test = pc.equal(pc.cast(table[cfg.split_column], pa.string()), cfg.test_split_value)
        return pc.if_else(pc.fill_null(is_test, False), TEST, TRAIN).combine_chunks()
    return pa.nulls(n, pa.string())


def read_shard(cfg: DataConfig, spec: ShardSpec) -> pa.Table:
    """RAW_COLUMNS (+ `error`) of one shard, with the int64 order key `row`."""
    if spec.kind == "bundled":
        table = _bundled_capped(cfg).slice(spec.lo, spec.hi - spec.lo)
    elif spec.kind == "parquet":
        import pyarrow.parquet as pq

        table = _conform(_svg_stack_columns(pq.ParquetFile(spec.origin).read_row_groups(list(spec.row_groups)),
                                            cfg, origin=str(_resolve(cfg.path))))
    elif spec.origin.startswith("hf:"):
        _, split, tag = spec.origin.split(":")
        part = _hf_table(cfg.hf_id, split).slice(spec.lo, spec.hi - spec.lo)
        table = _svg_stack_columns(part, cfg, origin=cfg.hf_id)
        table = _conform(table.set_column(table.schema.get_field_index("source_split"), "source_split",
                                          pa.array([tag] * table.num_rows, pa.string())))
    else:
        path = spec.origin.split(":", 1)[1]
        table = _conform(_svg_stack_columns(_local_table(path).slice(spec.lo, spec.hi - spec.lo), cfg, origin=path))
    if spec.take is not None:
        table = table.take(pa.array(spec.take, pa.int64()))
        keys = pa.array(spec.keys, pa.int64())
    else:
        keys = pa.array(np.arange(table.num_rows, dtype=np.int64) + spec.row_base)
    table = table.append_column("row", keys)
    if cfg.sources is not None and spec.kind != "bundled":  # rows of a file that names its sources
        table = table.filter(pc.is_in(table["source"], pa.array(cfg.sources, pa.string())))
    return table


def _has_source_column(path: Path) -> bool:
    if path.suffix == ".parquet" or path.is_dir():
        import pyarrow.dataset as pds

        return "source" in pds.dataset(path, format="parquet").schema.names
    return False


def read_shard_ids(cfg: DataConfig, spec: ShardSpec) -> list[str | None]:
    """The shard's sample_ids only (no SVG text read where the format allows)."""
    if spec.kind == "parquet":
        import pyarrow.parquet as pq

        table = pq.ParquetFile(spec.origin).read_row_groups(list(spec.row_groups), columns=[cfg.id_column])
        ids = _utf8(table[cfg.id_column], spec.origin, cfg.id_column, replace=True)[0]
        if spec.take is not None:
            ids = ids.take(pa.array(spec.take, pa.int64()))
        if cfg.sources is None:
            return ids.to_pylist()
    return read_shard(cfg, spec)["sample_id"].to_pylist()


@functools.lru_cache(maxsize=2)
def _bundled_cached(path: str, sources: tuple[str, ...] | None, max_rows: int | None) -> pa.Table:
    from rlrf.data.corpus import load_bundled

    cfg = DataConfig(source="bundled", bundled_path=path, sources=list(sources) if sources else None,
                     max_rows=max_rows)
    return _cap(_conform(load_bundled(_resolve(path))), cfg)


def _bundled_capped(cfg: DataConfig) -> pa.Table:
    # the bundled corpus (a few thousand rows) is read whole, once per process
    return _bundled_cached(cfg.bundled_path, tuple(cfg.sources) if cfg.sources else None, cfg.max_rows)


@functools.lru_cache(maxsize=4)
def _hf_table(hf_id: str, split: str) -> pa.Table:
    """A hub split as its memory-mapped Arrow table (the `datasets` cache): slicing reads
    only the pages a shard touches."""
    return load_hub_split(hf_id, split)


def load_hub_split(hf_id: str, split: str) -> pa.Table:
    """One hub split as an Arrow table, or a RuntimeError that says which and what to do offline."""
    import datasets

    try:
        return datasets.load_dataset(hf_id, split=split).data.table
    except Exception as exc:  # noqa: BLE001 - the hub raises many types; say which dataset failed
        raise RuntimeError(
            f"could not load dataset '{hf_id}' (split {split}) through `datasets`: {exc}. "
            "Offline? Point data.source=local and data.path at a Parquet/JSON copy with the same "
            "columns (and data.split_column naming train/test rows)."
        ) from exc


@functools.lru_cache(maxsize=2)
def _local_table(path: str) -> pa.Table:
    return _read_local(Path(path))
