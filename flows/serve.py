"""Serve the `rlrf` deployments: full, one per stage (`rlrf/curate`, `rlrf/sft`, ...) and
`rlrf/ablate` (`-p ablation=rollouts`: a sweep file in recipes/ablations/).

`prefect deployment run rlrf/full --watch` (or `-p recipe=<name> -p force=true`) then runs
the flow on this process's runner. Started by `make run`; stop it with Ctrl-C.
"""

from __future__ import annotations

import os

from prefect import serve

from flows.ablate import ablate
from flows.rlrf_flow import STAGE_FLOWS, rlrf


def deployments(recipe: str):
    yield rlrf.to_deployment(name="full", parameters={"recipe": recipe, "stages": "all"},
                             description="all stages; unchanged stages are skipped")
    for stage in STAGE_FLOWS:
        yield rlrf.to_deployment(name=stage, parameters={"recipe": recipe, "stages": stage},
                                 description=f"only the {stage} stage, on the newest upstream artifacts")
    yield ablate.to_deployment(name="ablate", parameters={"ablation": "temperature"},
                               description="a sweep from recipes/ablations/<ablation>.yaml: one rlrf run per "
                                           "cell, then the `ablations` table and report")


if __name__ == "__main__":
    serve(*deployments(os.environ.get("RLRF_RECIPE", "tiny")))
