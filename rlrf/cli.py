"""`rlrf` command line: query the results with SQL, print the summary, run the flow."""

from __future__ import annotations

import argparse
import logging
import sys
from contextlib import contextmanager

from rlrf.artifacts import Store, connect
from rlrf.config import RecipeError, load_recipe


@contextmanager
def _catalogue(recipe: str):
    """The recipe's store and a DuckDB connection whose views point at its newest stages."""
    cfg = load_recipe(recipe)
    store = Store(cfg.artifacts_dir, cfg.name)
    con = connect(store.root / "rlrf.duckdb", store=store)
    try:
        yield store, con
    finally:
        con.close()


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


def cmd_views(args) -> int:
    with _catalogue(args.recipe) as (_, con):
        sql = "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY view_name"
        for (name,) in con.execute(sql).fetchall():
            print(name)
    return 0


def cmd_run(args) -> int:
    import os

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from flows.rlrf_flow import rlrf

    rlrf(recipe=args.recipe, stages=args.stages, force=args.force)
    return 0


def cmd_dry_run(args) -> int:
    from rlrf.dryrun import main as dry_run_main

    return dry_run_main(args.recipe, args.gpu_memory_gib, args.train_rows)


def main(argv: list[str] | None = None) -> int:
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
    v = sub.add_parser("views", help="list the queryable views")
    v.add_argument("--recipe", default="tiny")
    v.set_defaults(fn=cmd_views)
    r = sub.add_parser("run", help="run the flow in-process (no server; `make run` uses deployments)")
    r.add_argument("--recipe", default="tiny")
    r.add_argument("--stages", default="all")
    r.add_argument("--force", action="store_true")
    r.set_defaults(fn=cmd_run)
    d = sub.add_parser("dry-run", help="build the model on the meta device; memory and batch arithmetic")
    d.add_argument("--recipe", default="tiny")
    d.add_argument("--gpu-memory-gib", type=float, default=80.0, help="memory of one GPU (H100: 80)")
    d.add_argument("--train-rows", type=int, default=None, help="SFT rows, for the step count")
    d.set_defaults(fn=cmd_dry_run)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.fn(args)
    except (RecipeError, FileNotFoundError, ValueError) as exc:
        print(f"rlrf: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `rlrf sql ... | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
