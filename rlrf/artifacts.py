"""Run folders, atomic Parquet writes, stage manifests and the DuckDB catalogue.

Layout: `artifacts/<recipe>/<run_id>/<stage>/<table>.parquet` + `_manifest.json`.
A stage is *done* when its manifest says `status: done`; a later run skips it when the
manifest's recipe hash and upstream hashes match (content hashes, never paths, so a
recomputed upstream invalidates everything below it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from rlrf.config import repo_root

log = logging.getLogger(__name__)

MANIFEST = "_manifest.json"
# bookkeeping beside a stage's outputs, left out of its content hash: timings and the
# resolved recipe (already in recipe_hash) must not invalidate downstream stages
NOT_OUTPUTS = {MANIFEST, "summary.json", "recipe.yaml"}


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(table: pa.Table, path: Path) -> Path:
    """Write Parquet to a temp file beside `path`, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def dir_digest(path: Path) -> str:
    """Content hash of every output file below `path` (names and bytes)."""
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        if p.is_file() and p.name not in NOT_OUTPUTS and not p.name.startswith("."):
            h.update(str(p.relative_to(path)).encode())
            h.update(file_digest(p).encode())
    return h.hexdigest()[:16]


def code_version() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(repo_root()), "describe", "--always", "--dirty"],
            capture_output=True, text=True, timeout=10, check=False,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@dataclass
class Manifest:
    stage: str
    recipe: str
    recipe_hash: str
    upstream: dict[str, str] = field(default_factory=dict)
    status: str = "running"
    code_version: str = ""
    started_at: float = 0.0
    finished_at: float | None = None
    rows: dict[str, int] = field(default_factory=dict)
    outputs_hash: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def write(self, stage_dir: Path) -> None:
        atomic_write_bytes(stage_dir / MANIFEST, json.dumps(asdict(self), indent=2).encode())

    @classmethod
    def read(cls, stage_dir: Path) -> Manifest | None:
        p = stage_dir / MANIFEST
        if not p.exists():
            return None
        try:
            return cls(**json.loads(p.read_text()))
        except (json.JSONDecodeError, TypeError):
            log.warning("ignoring unreadable manifest %s", p)
            return None


class Store:
    """Artifacts of one recipe: stage folders of runs, newest finished stage lookups."""

    def __init__(self, root: Path | str, recipe: str):
        self.root = Path(root)
        if not self.root.is_absolute():
            self.root = repo_root() / self.root
        self.recipe = recipe
        self.recipe_dir = self.root / recipe

    def new_run_id(self) -> str:
        return time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid() % 10000:04d}"

    def stage_dir(self, run_id: str, stage: str) -> Path:
        return self.recipe_dir / run_id / stage

    def finished(self, stage: str) -> list[tuple[Path, Manifest]]:
        """Finished runs of `stage`, newest first."""
        out = []
        for d in sorted(self.recipe_dir.glob(f"*/{stage}"), reverse=True):
            m = Manifest.read(d)
            if m is not None and m.status == "done":
                out.append((d, m))
        return out

    def latest(self, stage: str) -> tuple[Path, Manifest] | None:
        done = self.finished(stage)
        return done[0] if done else None

    def find_matching(self, stage: str, recipe_hash: str, upstream: dict[str, str]) -> tuple[Path, Manifest] | None:
        for d, m in self.finished(stage):
            if m.recipe_hash == recipe_hash and m.upstream == upstream:
                return d, m
        return None

    def find_unfinished(self, stage: str, recipe_hash: str, upstream: dict[str, str]) -> Path | None:
        """Newest run of `stage` with the same inputs that was interrupted or failed: resume there."""
        for d in sorted(self.recipe_dir.glob(f"*/{stage}"), reverse=True):
            m = Manifest.read(d)
            if m is not None and m.status != "done" and m.recipe_hash == recipe_hash and m.upstream == upstream:
                return d
        return None

    def require(self, stage: str) -> tuple[Path, Manifest]:
        found = self.latest(stage)
        if found is None:
            raise FileNotFoundError(
                f"no finished '{stage}' stage for recipe '{self.recipe}' under {self.recipe_dir}; "
                f"run `prefect deployment run rlrf/{stage}` or the full flow first"
            )
        return found


def begin_stage(stage_dir: Path, stage: str, recipe: str, recipe_hash: str, upstream: dict[str, str]) -> Manifest:
    stage_dir.mkdir(parents=True, exist_ok=True)
    m = Manifest(stage=stage, recipe=recipe, recipe_hash=recipe_hash, upstream=dict(upstream),
                 code_version=code_version(), started_at=time.time())
    m.write(stage_dir)
    return m


def finish_stage(stage_dir: Path, manifest: Manifest, timings: dict[str, float] | None = None) -> Manifest:
    manifest.rows = {p.stem: pq.ParquetFile(p).metadata.num_rows for p in sorted(stage_dir.glob("*.parquet"))}
    manifest.timings.update(timings or {})
    manifest.outputs_hash = dir_digest(stage_dir)
    manifest.finished_at = time.time()
    manifest.status = "done"
    manifest.write(stage_dir)
    return manifest


def fail_stage(stage_dir: Path, manifest: Manifest, error: str) -> None:
    manifest.status = "failed"
    manifest.finished_at = time.time()
    manifest.notes.append(error)
    manifest.write(stage_dir)


# --- DuckDB -------------------------------------------------------------------------

def sql_dir() -> Path:
    return repo_root() / "sql"


def sql_files() -> list[Path]:
    return sorted(sql_dir().glob("*.sql"))


def stage_tables(stage_dirs: dict[str, Path]) -> dict[str, list[str]]:
    """Table name -> its Parquet files across the given stage folders (train_log is
    written by both sft and grpo: the view unions them)."""
    tables: dict[str, list[str]] = {}
    for d in stage_dirs.values():
        for p in sorted(Path(d).glob("*.parquet")):
            tables.setdefault(p.stem, []).append(str(p))
    return tables


def newest_stage_dirs(store: Store) -> dict[str, Path]:
    found = {stage: store.latest(stage) for stage in ("curate", "sft", "grpo", "eval")}
    return {stage: f[0] for stage, f in found.items() if f is not None}


def ablation_dir(store: Store, name: str, run_id: str) -> Path:
    """Where one run of an ablation writes `ablation_cells.parquet` and its report (beside
    the recipe's run folders, never inside one: its cells are those runs)."""
    return store.recipe_dir / "ablations" / name / run_id


def ablation_tables(store: Store) -> dict[str, list[str]]:
    """`ablation_cells` -> the newest run's table of every ablation of this recipe."""
    newest: dict[str, Path] = {}
    for p in sorted(store.recipe_dir.glob("ablations/*/*/ablation_cells.parquet")):
        newest[p.parent.parent.name] = p  # sorted by run id: the last one wins
    return {"ablation_cells": [str(p) for p in newest.values()]} if newest else {}


def connect(db_path: Path | str | None = None, store: Store | None = None, read_only: bool = False):
    """Open the catalogue; when `store` is given, (re)create base views over the newest
    finished stages and the `sql/*.sql` views on top."""
    db_path = Path(db_path) if db_path else repo_root() / "artifacts" / "rlrf.duckdb"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path), read_only=read_only)
    if store is not None:
        refresh_views(con, stage_tables(newest_stage_dirs(store)) | ablation_tables(store))
    return con


def connect_stages(stage_dirs: dict[str, Path]):
    """In-memory catalogue over exactly these stage folders (e.g. a stage still running)."""
    con = duckdb.connect()
    refresh_views(con, stage_tables(stage_dirs))
    return con


def refresh_views(con, tables: dict[str, list[str]]) -> list[str]:
    """Base views over Parquet files; then every `sql/*.sql` view whose inputs exist.
    Views of an earlier refresh (another recipe, a stage that has not run) are dropped."""
    for (old,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall():
        con.execute(f"DROP VIEW IF EXISTS {_ident(old)} CASCADE")
    created = []
    for name, paths in sorted(tables.items()):
        # DDL cannot take bound parameters in DuckDB: paths are quoted as string literals.
        files = "[" + ", ".join(_literal(p) for p in paths) + "]"
        con.execute(f"CREATE OR REPLACE VIEW {_ident(name)} AS "
                    f"SELECT * FROM read_parquet({files}, union_by_name = true)")
        created.append(name)
    existing = set(created)
    for f in sql_files():
        needs = _referenced_tables(f.read_text())
        if needs - existing - {f.stem}:
            continue
        con.execute(f.read_text())
        created.append(f.stem)
        existing.add(f.stem)
    return created


_BASE_TABLES = ("samples", "funnel", "train_log", "rollouts", "predictions", "metrics")


def _referenced_tables(sql: str) -> set[str]:
    """Base tables a view's SQL names (header comment `-- requires: a, b` wins when present)."""
    for line in sql.splitlines():
        if line.lower().startswith("-- requires:"):
            return {t.strip() for t in line.split(":", 1)[1].split(",") if t.strip()}
    return {t for t in _BASE_TABLES if t in sql}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a table name: {name!r}")
    return f'"{name}"'


def rows_to_table(rows: Iterable[dict[str, Any]], schema: pa.Schema | None = None) -> pa.Table:
    rows = list(rows)
    if schema is not None:
        return pa.Table.from_pylist(rows, schema=schema)
    return pa.Table.from_pylist(rows)
