"""Stage bookkeeping shared by every stage: which recipe sections and upstream stages a
stage depends on, whether a finished run can be reused, and the run's stage folders.

Skipping is keyed on content: the hash of the stage's recipe sections plus the
`outputs_hash` of each upstream stage it read. A recomputed upstream therefore
invalidates everything below it even when paths look alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from rlrf.artifacts import Manifest, Store, begin_stage
from rlrf.config import Recipe

log = logging.getLogger(__name__)

STAGES = ("curate", "sft", "grpo", "eval")

# recipe sections each stage reads; changing one reruns that stage and its dependants
SECTIONS = {
    "curate": ("seed", "data", "curate", "render", "tokenizer"),
    "sft": ("seed", "model", "sft"),
    "grpo": ("seed", "model", "grpo", "rewards", "render"),
    "eval": ("seed", "eval", "render", "model"),
}
UPSTREAM = {"curate": (), "sft": ("curate",), "grpo": ("curate", "sft"), "eval": ("curate", "sft", "grpo")}


@dataclass
class StagePlan:
    stage: str
    stage_dir: Path
    recipe_hash: str
    upstream: dict[str, str]
    upstream_dirs: dict[str, Path]
    reuse: Manifest | None  # a finished run with the same inputs, or None to run

    @property
    def skip(self) -> bool:
        return self.reuse is not None


def parse_stages(stages: str | list[str]) -> list[str]:
    """'all', 'curate,sft' or a list -> ordered stage names; unknown names fail loudly."""
    if isinstance(stages, str):
        names = list(STAGES) if stages in ("all", "full") else [s.strip() for s in stages.split(",") if s.strip()]
    else:
        names = list(stages)
    unknown = [s for s in names if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; valid: {', '.join(STAGES)} or 'all'")
    return [s for s in STAGES if s in names]


def plan_stage(store: Store, recipe: Recipe, stage: str, run_id: str, force: bool,
               upstream_dirs: dict[str, Path] | None = None) -> StagePlan:
    """Decide run-or-reuse for `stage`. Upstream dirs default to the newest finished ones."""
    dirs: dict[str, Path] = {}
    hashes: dict[str, str] = {}
    for up in UPSTREAM[stage]:
        d = (upstream_dirs or {}).get(up)
        if d is None:
            d, _ = store.require(up)
        m = Manifest.read(d)
        if m is None or m.status != "done":
            raise FileNotFoundError(f"upstream stage '{up}' at {d} is not finished")
        dirs[up] = d
        hashes[up] = m.outputs_hash
    recipe_hash = recipe.section_hash(*SECTIONS[stage])
    reuse = None if force else store.find_matching(stage, recipe_hash, hashes)
    if reuse is not None:
        stage_dir, manifest = reuse
        log.info("stage %s: inputs unchanged, reusing %s", stage, stage_dir)
        return StagePlan(stage, stage_dir, recipe_hash, hashes, dirs, manifest)
    resume = store.find_unfinished(stage, recipe_hash, hashes)
    if resume is not None:
        log.info("stage %s: resuming the interrupted run in %s", stage, resume)
        return StagePlan(stage, resume, recipe_hash, hashes, dirs, None)
    return StagePlan(stage, store.stage_dir(run_id, stage), recipe_hash, hashes, dirs, None)


def start(plan: StagePlan, recipe: Recipe) -> Manifest:
    return begin_stage(plan.stage_dir, plan.stage, recipe.name, plan.recipe_hash, plan.upstream)
