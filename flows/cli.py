"""The `rlrf` console script: the library's commands (`rlrf.cli`: sql, summary, views,
dry-run) plus the two that run the Prefect flow in process, without a server: `run` and
`ablate`. Wiring only, like the rest of `flows/`."""

from __future__ import annotations

import json
import os
import sys

from rlrf import cli
from rlrf.ablation.spec import load_ablation, touched_stages


def _local_prefect() -> None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # the temporary API server misses Prefect's 20 s start-up default on a loaded 2-core box
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


def cmd_run(args) -> int:
    _local_prefect()
    from flows.rlrf_flow import rlrf

    rlrf(recipe=args.recipe, stages=args.stages, force=args.force)
    return 0


def cmd_ablate(args) -> int:
    abl = load_ablation(args.ablation, recipe=args.recipe)  # fails here, before any stage runs
    print(f"ablation {abl.name}: {len(abl.cells)} cells on recipe {abl.recipe} ({abl.path})")
    for cell in abl.cells:
        stages = touched_stages(list(abl.cell_overrides(cell))) or ["none"]
        print(f"  {cell.id}: {json.dumps(cell.overrides)}  (changes {', '.join(stages)})")
    if args.dry_run:
        return 0
    _local_prefect()
    from flows.ablate import ablate
    from rlrf.ablation.report import ablation_markdown

    out = ablate(ablation=str(abl.path), recipe=args.recipe)
    print(ablation_markdown(out["rows"]))
    print(f"table: {out['table']}\nreport: {out['report']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p, sub = cli.parser()
    r = sub.add_parser("run", help="run the flow in-process (no server; `make run` uses deployments)")
    r.add_argument("--recipe", default="tiny")
    r.add_argument("--stages", default="all")
    r.add_argument("--force", action="store_true")
    r.set_defaults(fn=cmd_run)
    a = sub.add_parser("ablate", help="run a sweep file (recipes/ablations/<name>.yaml): one run per cell, "
                                      "then the `ablations` table and report")
    a.add_argument("ablation", help="a name in recipes/ablations/ or a path")
    a.add_argument("--recipe", default=None, help="replace the file's base recipe")
    a.add_argument("--dry-run", action="store_true", help="check the file and list the cells; run nothing")
    a.set_defaults(fn=cmd_ablate)
    return cli.dispatch(p, argv)


if __name__ == "__main__":
    sys.exit(main())
