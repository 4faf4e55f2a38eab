"""`rlrf` command line, the library's part: query the results with SQL, print the summary,
list the views, watch a running curate, dry-run a recipe. The commands that run the Prefect flow (`run`,
`ablate`) are added on top by `flows.cli`, the console script, so the library never
imports `flows`."""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from contextlib import contextmanager

import duckdb

from rlrf.artifacts import StageBusy, Store, connect, newest_stage_dirs, pid_alive
from rlrf.config import RecipeError
from rlrf.recipe import load_recipe


@contextmanager
def _catalogue(recipe: str):
    """The recipe's store and an in-memory DuckDB whose views point at its newest
    finished stages: no file lock, nothing written, so readers never block each other
    or a running pipeline, and read-only artifacts can be queried."""
    cfg = load_recipe(recipe)
    store = Store(cfg.artifacts_dir, cfg.name)
    try:
        con = connect(store=store)
    except duckdb.Error as exc:
        raise CatalogueError(f"could not build the views of recipe '{store.recipe}': {_first_line(exc)}") from None
    try:
        yield store, con
    except duckdb.Error as exc:
        raise CatalogueError(_explain(exc, store)) from None
    finally:
        con.close()


class CatalogueError(RuntimeError):
    """A DuckDB error said in one line, with what to do about it."""


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _explain(exc: duckdb.Error, store: Store) -> str:
    line = _first_line(exc)
    if isinstance(exc, duckdb.CatalogException):
        stages = sorted(newest_stage_dirs(store))
        if not stages:
            return (f"no finished stage for recipe '{store.recipe}' under {store.recipe_dir}: "
                    f"run `rlrf run --recipe {store.recipe}` first ({line})")
        return f"{line} (finished stages: {', '.join(stages)}; `rlrf views` lists the queryable views)"
    if isinstance(exc, duckdb.ParserException):
        return f"bad SQL: {line}"
    return line


def cmd_sql(args) -> int:
    with _catalogue(args.recipe) as (_, con):
        rel = con.sql(args.query)
        if rel is None:
            return 0
        if args.csv:
            print(",".join(rel.columns))
            for row in rel.fetchall():
                print(",".join("" if v is None else str(v) for v in row))
        else:
            rel.show(max_rows=args.max_rows, max_width=args.max_width)
    return 0


def cmd_summary(args) -> int:
    from rlrf.summary import summary_markdown

    with _catalogue(args.recipe) as (store, con):
        print(summary_markdown(con, store))
    return 0


def cmd_progress(args) -> int:
    """Where the recipe's newest curate stands, from its `work/` folder: one line when none runs."""
    from rlrf.data.progress import curate_progress, live_funnel

    cfg = load_recipe(args.recipe)
    store = Store(cfg.artifacts_dir, cfg.name)
    newest = store.newest("curate")
    running = store.unfinished("curate")
    if running is None:
        if newest is not None and newest[1].status == "done":
            print(f"the newest curate of recipe '{store.recipe}' finished: {newest[0]} "
                  f"({newest[1].rows.get('samples', 0)} samples); `rlrf summary` reports it")
        elif newest is not None:
            print(f"no curate of recipe '{store.recipe}' is running: the newest, {newest[0]}, is "
                  f"'{newest[1].status}' without shard files (work/)")
        else:
            print(f"no curate of recipe '{store.recipe}' is running (none under {store.recipe_dir})")
        return 0
    p = curate_progress(running)
    owner = newest[1].owner if newest else {}
    print(f"curate of recipe '{store.recipe}' at {running} (manifest: {newest[1].status}, pid {owner.get('pid', '?')} "
          f"on {owner.get('host', '?')})")
    if owner.get("host") == socket.gethostname() and owner.get("pid") and not pid_alive(int(owner["pid"])):
        print(f"not running: pid {owner['pid']} is gone (killed?); a rerun of the stage resumes from these shards")
    elapsed = f", {_duration(p['elapsed_s'])} since it started" if p["elapsed_s"] is not None else ""
    print(f"phase: {p['phase'] or 'unknown'}{elapsed}")
    if p["phases_done"]:
        print("phases done: " + ", ".join(f"{k} {v:.1f} s" for k, v in p["phases_done"].items()))
    print("shards done: " + ", ".join(f"{k} {v['done']}/{v['total'] if v['total'] is not None else '?'}"
                                      if k != "quota_render" else f"{k} {v['done']}"
                                      for k, v in p["shards"].items()))
    rate = f" ({p['rows_per_s']:.0f} rows/s)" if p["rows_per_s"] else ""
    print(f"rows read: {p['rows_read']}{rate}")
    if p["rate_shards_per_s"]:
        eta = f", ETA ~{_duration(p['eta_s'])}" if p["eta_s"] is not None else ""
        print(f"{p['phase']}: {p['rate_shards_per_s'] * 60:.1f} shards/min{eta}")
    rows = live_funnel(running)
    if rows:
        print("live funnel (per-row filters of the prep shards done; `funnel_live` in `rlrf sql`):")
        cols = ["step", "filter", "rows_in", "kept", "dropped", "reasons"]
        cells = [cols] + [[str(r[c]) for c in cols] for r in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(cols) - 1)]
        for row in cells:
            print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1])
    return 0


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600} h {s % 3600 // 60} min" if s >= 3600 else f"{s // 60} min {s % 60} s" if s >= 60 else f"{s} s"


def cmd_views(args) -> int:
    with _catalogue(args.recipe) as (_, con):
        sql = "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY view_name"
        for (name,) in con.execute(sql).fetchall():
            print(name)
    return 0


def cmd_dry_run(args) -> int:
    from rlrf.dryrun import main as dry_run_main

    return dry_run_main(args.recipe, args.gpu_memory_gib, args.train_rows)


def parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """The `rlrf` parser and its sub-command group (`flows.cli` adds `run` and `ablate`)."""
    p = argparse.ArgumentParser(prog="rlrf", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("sql", help="run SQL over the run's DuckDB views and print a table")
    q.add_argument("query")
    q.add_argument("--recipe", default="tiny")
    q.add_argument("--csv", action="store_true")
    q.add_argument("--max-rows", type=int, default=100)
    q.add_argument("--max-width", type=int, default=200)
    q.set_defaults(fn=cmd_sql)
    s = sub.add_parser("summary", help="print the run summary")
    s.add_argument("--recipe", default="tiny")
    s.set_defaults(fn=cmd_summary)
    g = sub.add_parser("progress", help="where the newest curate stands: phase, shards, rows, live funnel")
    g.add_argument("--recipe", default="tiny")
    g.set_defaults(fn=cmd_progress)
    v = sub.add_parser("views", help="list the queryable views")
    v.add_argument("--recipe", default="tiny")
    v.set_defaults(fn=cmd_views)
    d = sub.add_parser("dry-run", help="build the model on the meta device; memory and batch arithmetic")
    d.add_argument("--recipe", default="tiny")
    d.add_argument("--gpu-memory-gib", type=float, default=80.0, help="memory of one GPU (H100: 80)")
    d.add_argument("--train-rows", type=int, default=None, help="SFT rows, for the step count")
    d.set_defaults(fn=cmd_dry_run)
    return p, sub


def dispatch(p: argparse.ArgumentParser, argv: list[str] | None) -> int:
    """Parse and run one command; a user's error is one line on stderr, exit 2."""
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.fn(args)
    except (RecipeError, FileNotFoundError, ValueError, CatalogueError, StageBusy) as exc:
        print(f"rlrf: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `rlrf sql ... | head`
        return 0


def main(argv: list[str] | None = None) -> int:
    return dispatch(parser()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
