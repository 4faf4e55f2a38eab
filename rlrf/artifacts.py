"""Run folders, atomic Parquet writes, stage manifests and the DuckDB catalogue.

Layout: `artifacts/<recipe>/<run_id>/<stage>/<table>.parquet` + `_manifest.json`.
A stage is *done* when its manifest says `status: done`; a later run skips it when the
manifest's recipe hash and upstream hashes match (content hashes, never paths, so a
recomputed upstream invalidates everything below it).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from rlrf.config import repo_root

log = logging.getLogger(__name__)

MANIFEST = "_manifest.json"
LOCK = ".lock"  # one writer per stage folder (see `StageLock`)
RESERVE = ".reserve"  # blocks set aside so a full disk can still record `failed`
RESERVE_BYTES = 256 * 1024
CATALOGUE = "rlrf.duckdb"  # per recipe: artifacts/<recipe>/rlrf.duckdb
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
    files: dict[str, int] = field(default_factory=dict)  # output file -> bytes, checked before reuse
    owner: dict[str, Any] = field(default_factory=dict)  # pid, host of the writer

    def write(self, stage_dir: Path) -> None:
        atomic_write_bytes(stage_dir / MANIFEST, self.to_bytes())

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), indent=2).encode()

    @classmethod
    def read(cls, stage_dir: Path) -> Manifest | None:
        p = stage_dir / MANIFEST
        if not p.exists():
            return None
        try:
            data = json.loads(p.read_text())
            known = {f for f in cls.__dataclass_fields__}
            return cls(**{k: v for k, v in data.items() if k in known})
        except (json.JSONDecodeError, TypeError, UnicodeDecodeError, OSError):
            log.warning("ignoring unreadable manifest %s", p)
            return None


def output_files(stage_dir: Path) -> dict[str, int]:
    """Every output file below `stage_dir` (bookkeeping and dot files left out) -> bytes."""
    out = {}
    for p in sorted(Path(stage_dir).rglob("*")):
        if p.is_file() and p.name not in NOT_OUTPUTS and not p.name.startswith("."):
            out[str(p.relative_to(stage_dir))] = p.stat().st_size
    return out


def verify_outputs(stage_dir: Path, manifest: Manifest) -> str | None:
    """Why a finished stage's files no longer match its manifest, or None when they do:
    every recorded file present at its recorded size, every table's Parquet footer
    readable with the recorded row count (a truncated or replaced file fails)."""
    stage_dir = Path(stage_dir)
    for rel, size in manifest.files.items():
        p = stage_dir / rel
        if not p.is_file():
            return f"{rel} is missing"
        if p.stat().st_size != size:
            return f"{rel} is {p.stat().st_size} bytes, the manifest says {size}"
    for table, rows in manifest.rows.items():
        p = stage_dir / f"{table}.parquet"
        try:
            n = pq.ParquetFile(p).metadata.num_rows
        except (OSError, pa.ArrowException) as exc:
            return f"{p.name} is unreadable ({type(exc).__name__}: {str(exc)[:120]})"
        if n != rows:
            return f"{p.name} has {n} rows, the manifest says {rows}"
    return None


class StageBusy(RuntimeError):
    """Another live process is writing this stage folder."""


_HELD: set[Path] = set()  # POSIX locks are per process: this process's own locks


class StageLock:
    """One writer per stage folder: a POSIX lock on `<stage>/.lock` plus an owner record.

    The kernel drops the lock when its process dies (kill -9 included), so a dead
    owner's lock is never stale; unlike `flock`, it is not inherited by forked workers
    that may outlive a killed parent. The owner (pid, host, start) is written into the
    lock file and the manifest so a second writer can say who holds the folder."""

    def __init__(self, stage_dir: Path, fd: int):
        self.stage_dir, self._fd = stage_dir, fd

    @classmethod
    def acquire(cls, stage_dir: Path, wait_s: float = 0.0) -> StageLock:
        stage_dir = Path(stage_dir).resolve()
        if stage_dir in _HELD:
            raise StageBusy(f"{stage_dir}: this process is already writing this stage folder")
        stage_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(stage_dir / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EACCES, errno.EAGAIN):
                    os.close(fd)
                    raise
                if time.monotonic() >= deadline:
                    owner = _read_owner(fd)
                    os.close(fd)
                    raise StageBusy(_busy_message(stage_dir, owner)) from None
                time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(lock_owner()).encode(), 0)
        os.fsync(fd)
        _HELD.add(stage_dir)
        return cls(stage_dir, fd)

    def release(self) -> None:
        if self._fd is None:
            return
        _HELD.discard(self.stage_dir)
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> StageLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def lock_owner() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}


def _read_owner(fd: int) -> dict[str, Any]:
    try:
        return json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _busy_message(stage_dir: Path, owner: dict[str, Any]) -> str:
    who = "another process"
    if owner.get("pid"):
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(owner.get("since", 0)))
        who = f"pid {owner['pid']} on {owner.get('host', '?')} (since {since})"
        if owner.get("host") == socket.gethostname() and not pid_alive(int(owner["pid"])):
            who += ", whose forked workers still hold the lock"
    return (f"{stage_dir} is being written by {who}: one writer per stage folder. "
            "Wait for that run to finish or stop it; --force starts a fresh folder instead.")


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
            if m is None or m.status != "done":
                continue
            problem = verify_outputs(d, m)
            if problem:
                log.warning("stage %s at %s no longer matches its manifest (%s): not reused", stage, d, problem)
                continue
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

    def newest(self, stage: str) -> tuple[Path, Manifest] | None:
        """The newest run of `stage` with a readable manifest, finished or not."""
        for d in sorted(self.recipe_dir.glob(f"*/{stage}"), reverse=True):
            m = Manifest.read(d)
            if m is not None:
                return d, m
        return None

    def unfinished(self, stage: str) -> Path | None:
        """The newest run of `stage` when it has not finished (running, killed or failed)
        and still has its `work/` folder of shard files: what `rlrf progress` reads."""
        found = self.newest(stage)
        if found is None or found[1].status == "done" or not (found[0] / "work").is_dir():
            return None
        return found[0]

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
                 code_version=code_version(), started_at=time.time(), owner=lock_owner())
    m.write(stage_dir)
    _reserve(stage_dir)
    return m


def finish_stage(stage_dir: Path, manifest: Manifest, timings: dict[str, float] | None = None) -> Manifest:
    manifest.rows = {p.stem: pq.ParquetFile(p).metadata.num_rows for p in sorted(stage_dir.glob("*.parquet"))}
    manifest.timings.update(timings or {})
    manifest.outputs_hash = dir_digest(stage_dir)
    manifest.files = output_files(stage_dir)
    manifest.finished_at = time.time()
    manifest.status = "done"
    manifest.write(stage_dir)
    (stage_dir / RESERVE).unlink(missing_ok=True)
    return manifest


def fail_stage(stage_dir: Path, manifest: Manifest, error: str) -> None:
    """Record `failed`, even on a full disk: the manifest is written into the blocks
    `begin_stage` set aside, then renamed into place (a rename needs no new blocks)."""
    manifest.status = "failed"
    manifest.finished_at = time.time()
    manifest.notes.append(error[:2000])
    data = manifest.to_bytes()
    reserve = stage_dir / RESERVE
    try:
        if reserve.exists() and len(data) <= reserve.stat().st_size:
            fd = os.open(reserve, os.O_WRONLY)
            try:
                os.pwrite(fd, data, 0)
                os.ftruncate(fd, len(data))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(reserve, stage_dir / MANIFEST)
        else:
            manifest.write(stage_dir)
    except OSError as exc:
        log.error("could not record the failure of %s in its manifest: %s", stage_dir, exc)
        raise


def _reserve(stage_dir: Path) -> None:
    try:
        with open(stage_dir / RESERVE, "wb") as f:
            f.write(b"\0" * RESERVE_BYTES)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        log.warning("could not set aside %d bytes in %s (%s)", RESERVE_BYTES, stage_dir, exc)


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC / EDQUOT anywhere in the exception chain (torch and pyarrow wrap it)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(exc) or "Disk quota exceeded" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def failure_message(exc: BaseException, stage_dir: Path) -> str:
    """The one line a failed manifest keeps; a full disk is said as such."""
    text = f"{type(exc).__name__}: {exc}"
    if is_disk_full(exc):
        try:
            free = f"{shutil.disk_usage(stage_dir).free / 2**20:.0f} MiB free now"
        except OSError:
            free = "free space unknown"
        return (f"DISK FULL: no space left on the device holding {stage_dir} ({free}). Free space and "
                f"rerun: the stage resumes from its last complete checkpoint. ({text})")
    return text


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


def live_tables(store: Store) -> dict[str, list[str]]:
    """`funnel_live` -> the prep funnel parts written so far by the recipe's newest curate
    run, when it has not finished (a glob: each query sees the parts written by then)."""
    d = store.unfinished("curate")
    if d is None or not list((d / "work" / "funnel").glob("prep-*.parquet")):
        return {}
    return {"funnel_live": [str(d / "work" / "funnel" / "prep-*.parquet")]}


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
    """A DuckDB connection with the catalogue's views.

    With only `store`: an in-memory database with views over the recipe's newest
    finished stages, and `funnel_live` over a curate still running (`live_tables`). It
    holds no file lock and writes nothing, so any number of readers (and a writer
    finishing a stage) run at once, over read-only artifacts too. With `db_path`: that
    file, its views rebuilt from `store` unless `read_only` (no `funnel_live` there: a
    stored view must not point into a `work/` folder that is deleted when curate ends)."""
    if db_path is None:
        con = duckdb.connect()
        if store is not None:
            tables = stage_tables(newest_stage_dirs(store)) | ablation_tables(store)
            try:
                refresh_views(con, tables | live_tables(store))
            except duckdb.IOException:  # the curate finished and removed work/ meanwhile
                refresh_views(con, tables)
        return con
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path), read_only=read_only)
    if store is not None and not read_only:
        refresh_views(con, stage_tables(newest_stage_dirs(store)) | ablation_tables(store))
    return con


def catalogue_path(store: Store) -> Path:
    """The recipe's own DuckDB file: views of another recipe can never be read from it."""
    return store.recipe_dir / CATALOGUE


def write_catalogue(store: Store) -> Path | None:
    """(Re)build `artifacts/<recipe>/rlrf.duckdb` for plain DuckDB users, when a stage
    finishes. Built in a new file and renamed over the old one: a reader holding the old
    file open keeps its snapshot and never blocks the writer. Failing here never fails a
    run (the CLI builds its views in memory); it is logged."""
    path = catalogue_path(store)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)
        con = duckdb.connect(str(tmp))
        try:
            refresh_views(con, stage_tables(newest_stage_dirs(store)) | ablation_tables(store))
        finally:
            con.close()
        os.replace(tmp, path)
        return path
    except (OSError, duckdb.Error) as exc:
        log.warning("catalogue %s not updated (%s); `rlrf sql` is unaffected", path, str(exc).splitlines()[0])
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
        return None


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
    pending = {f: f.read_text() for f in sql_files()}
    while pending:  # a file whose inputs are other files' views or macros waits for them
        ready = [f for f, sql in pending.items() if not _referenced_tables(sql) - existing - {f.stem}]
        if not ready:
            break
        for f in ready:
            try:
                con.execute(pending.pop(f))
            except duckdb.Error as exc:  # one report that does not fit the data must not hide the others
                log.warning("view %s not created: %s", f.stem, str(exc).splitlines()[0])
                continue
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
