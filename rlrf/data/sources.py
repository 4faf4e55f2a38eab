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
    out = pa.table({
        "sample_id": _utf8(table[cfg.id_column], origin, cfg.id_column, replace=True)[0],
        "source": pa.array([source] * n, pa.string()),
        "kind": pa.array(["svg_stack"] * n, pa.string()),
        "svg": svg,
        "caption": _utf8(caption, origin, cfg.caption_column or "caption", replace=True)[0],
        "license": pa.nulls(n, pa.string()),
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
