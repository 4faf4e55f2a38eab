"""Stage bookkeeping shared by every stage: which recipe sections and upstream stages a
stage depends on, whether a finished run can be reused, and the run's stage folders.

Skipping is keyed on content: the hash of the stage's recipe sections plus the
`outputs_hash` of each upstream stage it read. A recomputed upstream therefore
invalidates everything below it even when paths look alike.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rlrf.artifacts import (
    Manifest,
    StageLock,
    Store,
    atomic_write_bytes,
    begin_stage,
    fail_stage,
    failure_message,
    finish_stage,
    write_catalogue,
)
from rlrf.config import Recipe, save_recipe
from rlrf.eval.labels import GREEDY, MODEL_STAGES

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


def upstream_of(stage: str, recipe: Recipe) -> tuple[str, ...]:
    """The upstream stages `stage` reads for this recipe: eval reads a training stage only
    when `eval.models` scores its model (`sft`, `rlrf`, their `_greedy` twins), so
    `--stages curate,sft,eval` with `models: [sft, blank]` needs no GRPO run."""
    if stage != "eval":
        return UPSTREAM[stage]
    wanted = {MODEL_STAGES.get(m.removesuffix(GREEDY)) for m in recipe.eval.models}
    return tuple(s for s in UPSTREAM[stage] if s == "curate" or s in wanted)


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
    for up in upstream_of(stage, recipe):
        d = (upstream_dirs or {}).get(up)
        if d is None:
            d, _ = store.require(up)
        m = Manifest.read(d)
        if m is None or m.status != "done":
            raise FileNotFoundError(f"upstream stage '{up}' at {d} is not finished")
        dirs[up] = d
        hashes[up] = m.outputs_hash
    if stage == "curate":  # the input data itself, not just its name (a file edited in place)
        from rlrf.data.sources import data_fingerprint

        hashes["data"] = data_fingerprint(recipe.data)
    recipe_hash = recipe.section_hash(*SECTIONS[stage])
    if force:  # a fresh folder: never resume (or share) an earlier, maybe live or torn, one
        return StagePlan(stage, store.stage_dir(run_id, stage), recipe_hash, hashes, dirs, None)
    reuse = store.find_matching(stage, recipe_hash, hashes)
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


@contextmanager
def writing(plan: StagePlan, recipe: Recipe, lock_wait_s: float = 0.0) -> Iterator[Manifest]:
    """Own the stage folder while the stage runs: take its lock (a second writer stops
    with `StageBusy`), start the manifest, and record `failed` with the reason (a full
    disk said as such) if the body raises. Call `complete` inside the block."""
    with StageLock.acquire(plan.stage_dir, wait_s=lock_wait_s):
        manifest = start(plan, recipe)
        try:
            yield manifest
        except BaseException as exc:
            fail_stage(plan.stage_dir, manifest, failure_message(exc, plan.stage_dir))
            raise


def complete(plan: StagePlan, manifest: Manifest, summary: dict, seconds: float, store: Store) -> Manifest:
    """summary.json, the summary's notes (time-budget stops, dropped rewards) in the
    manifest, `done`, then the recipe's DuckDB catalogue rebuilt."""
    atomic_write_bytes(plan.stage_dir / "summary.json", json.dumps(summary, indent=2, default=str).encode())
    manifest.notes.extend(summary.get("notes", []))
    for dropped in summary.get("dropped_rewards", []):
        manifest.notes.append(f"REWARD DROPPED: {dropped}")
    finish_stage(plan.stage_dir, manifest, {"stage_s": seconds})
    write_catalogue(store)
    return manifest


@dataclass
class StageRun:
    """What a stage body gets from `running`: its folder, its upstream folders, and the
    summary it sets (recorded as summary.json and in the manifest when the body ends)."""

    stage_dir: Path
    upstream: dict[str, Path]
    summary: dict = field(default_factory=dict)


@contextmanager
def running(plan: StagePlan, recipe: Recipe, store: Store, lock_wait_s: float = 0.0) -> Iterator[StageRun]:
    """The bookkeeping of one stage run, whatever runs the body (a Prefect sub-flow, a test,
    a script): the stage lock and manifest (`writing`), the resolved recipe saved beside the
    outputs, and on a normal exit `complete` with the body's summary and the wall time.

        with running(plan, recipe, store) as run:
            run.summary = run_grpo(recipe, run.upstream, run.stage_dir)
    """
    t0 = time.time()
    with writing(plan, recipe, lock_wait_s) as manifest:
        save_recipe(recipe, plan.stage_dir / "recipe.yaml")
        run = StageRun(plan.stage_dir, plan.upstream_dirs)
        yield run
        complete(plan, manifest, run.summary or {}, time.time() - t0, store)
