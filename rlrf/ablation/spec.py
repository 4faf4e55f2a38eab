"""Ablation files: the paper's sweeps (sampling temperature, roll-outs per prompt, RLRF with
or without SVG-SFT first, the reward mix) as data, one file per sweep.

```yaml
# recipes/ablations/temperature.yaml
name: temperature                 # optional; the file name without .yaml
description: GRPO sampling temperature
recipe: tiny                      # base recipe: a name in recipes/ or a path
overrides:                        # dotted recipe keys set in every cell
  grpo.max_steps: 100
eval_splits: [test, test_hard]    # optional shorthand for overrides eval.splits
stages: all                       # optional; must include eval (metrics come from it)
grid:                             # cartesian product: one cell per combination
  grpo.temperature: [0.6, 0.8, 1.0, 1.2]
cells:                            # explicit cells, after the grid's; `id` optional
  - {id: greedy_eval, eval.do_sample: false}
```

Every cell is loaded through the recipe loader before anything runs, so an unknown key
fails with the loader's error (file and key) prefixed by the ablation file and cell.
Cells run as ordinary runs of one recipe: stages whose inputs a cell does not change are
reused by the pipeline's skip logic (`rlrf.pipeline.plan_stage`), so curation and SFT are
computed once for a sweep over grpo / rewards / eval keys.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rlrf.config import Recipe, RecipeError, repo_root
from rlrf.pipeline import SECTIONS, STAGES, UPSTREAM, parse_stages
from rlrf.recipe import load_recipe

FILE_KEYS = ("name", "description", "recipe", "overrides", "eval_splits", "stages", "grid", "cells")
# a cell must stay in its base recipe's artifacts, or nothing upstream could be reused
CELL_FORBIDDEN = ("name", "artifacts_dir")


class AblationError(RecipeError):
    """An ablation file could not be read or is not a valid sweep."""


@dataclass(frozen=True)
class Cell:
    id: str
    overrides: dict[str, Any]  # this cell's own settings: its grid values and explicit keys


@dataclass
class Ablation:
    name: str
    path: Path
    recipe: str
    description: str
    overrides: dict[str, Any]  # set in every cell (eval_splits folded in as eval.splits)
    cells: list[Cell]
    stages: list[str]
    recipes: dict[str, Recipe] = field(default_factory=dict)  # cell id -> resolved recipe

    def cell_overrides(self, cell: Cell) -> dict[str, Any]:
        return {**self.overrides, **cell.overrides}

    def swept_keys(self) -> list[str]:
        """Dotted keys any cell sets, in first-seen order: the parameters of the sweep."""
        keys: list[str] = []
        for c in self.cells:
            keys += [k for k in c.overrides if k not in keys]
        return keys


def resolve_ablation_path(path_or_name: str | Path) -> Path:
    path = Path(path_or_name)
    if path.suffix not in (".yaml", ".yml"):
        path = repo_root() / "recipes" / "ablations" / f"{path_or_name}.yaml"
    if not path.exists():
        available = sorted(p.stem for p in (repo_root() / "recipes" / "ablations").glob("*.yaml"))
        raise AblationError(f"{path}: ablation file not found (available: {', '.join(available)})")
    return path


def load_ablation(path_or_name: str | Path, recipe: str | None = None) -> Ablation:
    """Read, check and expand an ablation file; `recipe` replaces the file's base recipe.
    Every cell's recipe is resolved here, so a bad key fails before any stage runs."""
    path = resolve_ablation_path(path_or_name)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise AblationError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise AblationError(f"{path}: expected a mapping with keys {', '.join(FILE_KEYS)}")
    unknown = sorted(set(data) - set(FILE_KEYS))
    if unknown:
        raise AblationError(f"{path}: unknown key(s) {unknown}; valid: {', '.join(FILE_KEYS)}")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name or not name.replace("_", "").replace("-", "").isalnum():
        raise AblationError(f"{path}: name: expected letters, digits, '-' or '_', got {name!r}")
    base = recipe or data.get("recipe")
    if not isinstance(base, str) or not base:
        raise AblationError(f"{path}: recipe: the base recipe (a name in recipes/ or a path) is required")
    overrides = _mapping(path, "overrides", data.get("overrides") or {})
    if "eval_splits" in data:
        splits = data["eval_splits"]
        if not isinstance(splits, list) or not splits or not all(isinstance(s, str) for s in splits):
            raise AblationError(f"{path}: eval_splits: expected a non-empty list of split names, got {splits!r}")
        if "eval.splits" in overrides:
            raise AblationError(f"{path}: give eval.splits either in overrides or as eval_splits, not both")
        overrides["eval.splits"] = list(splits)
    try:
        stages = parse_stages(data.get("stages", "all"))
    except ValueError as exc:
        raise AblationError(f"{path}: stages: {exc}") from None
    if "eval" not in stages:
        raise AblationError(f"{path}: stages: must include eval (the ablation table reads its metrics)")

    cells = _grid_cells(path, data.get("grid")) + _explicit_cells(path, data.get("cells"))
    if not cells:
        raise AblationError(f"{path}: no cells: give a non-empty `grid` (key: [values]) and/or `cells`")
    _check_cells(path, cells, overrides)
    abl = Ablation(name=name, path=path, recipe=base, description=str(data.get("description", "")),
                   overrides=overrides, cells=cells, stages=stages)
    for cell in cells:
        abl.recipes[cell.id] = _resolve(path, abl, cell)
    return abl


def touched_stages(keys: list[str]) -> list[str]:
    """Stages whose recipe sections the dotted keys change, and everything downstream."""
    sections = {k.split(".", 1)[0] for k in keys}
    touched = {s for s in STAGES if sections & set(SECTIONS[s])}
    for s in STAGES:  # STAGES is in DAG order: a dependant comes after its upstream
        if touched & set(UPSTREAM[s]):
            touched.add(s)
    return [s for s in STAGES if s in touched]


def dotted_value(recipe: Recipe, dotted: str) -> Any:
    """A recipe value by dotted key, as JSON-able data (`grpo.temperature` -> 1.0; a training
    section's TRL shorthand reads the effective `trl` value, `rlrf.config.TrainingSection`)."""
    section, _, key = dotted.partition(".")
    if section in ("sft", "grpo") and key in getattr(recipe, section).SHORTHANDS:
        return getattr(recipe, section).trl_value(getattr(recipe, section).SHORTHANDS[key])
    node: Any = recipe.model_dump(mode="json")
    for part in dotted.split("."):
        node = node[part]
    return node


# --- helpers --------------------------------------------------------------------------


def _mapping(path: Path, key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise AblationError(f"{path}: {key}: expected a mapping of dotted recipe keys to values, got {value!r}")
    return dict(value)


def _grid_cells(path: Path, grid: Any) -> list[Cell]:
    if grid is None:
        return []
    grid = _mapping(path, "grid", grid)
    if not grid:
        raise AblationError(f"{path}: grid: empty; give keys with lists of values, e.g. grpo.temperature: [0.6, 1.0]")
    for key, values in grid.items():
        if not isinstance(values, list):
            raise AblationError(f"{path}: grid.{key}: expected a list of values to sweep, "
                                f"got {values!r} ({type(values).__name__}); write [{values!r}] for one value")
        if not values:
            raise AblationError(f"{path}: grid.{key}: empty list, nothing to sweep")
    keys = list(grid)
    leaves = [k.rsplit(".", 1)[-1] for k in keys]
    short = {k: (leaf if leaves.count(leaf) == 1 else k) for k, leaf in zip(keys, leaves, strict=True)}
    cells = []
    for combo in itertools.product(*(list(enumerate(grid[k])) for k in keys)):
        parts = [f"{short[k]}={_id_value(v, i)}" for k, (i, v) in zip(keys, combo, strict=True)]
        cells.append(Cell(",".join(parts), {k: v for k, (_, v) in zip(keys, combo, strict=True)}))
    return cells


def _id_value(value: Any, index: int) -> str:
    if isinstance(value, bool | int | float | str) or value is None:
        return json.dumps(value) if isinstance(value, bool) or value is None else str(value)
    return f"#{index}"  # a list or mapping (e.g. a reward mix): its position in the grid


def _explicit_cells(path: Path, cells: Any) -> list[Cell]:
    if cells is None:
        return []
    if not isinstance(cells, list):
        raise AblationError(f"{path}: cells: expected a list of mappings, got {cells!r}")
    out = []
    for i, c in enumerate(cells):
        c = _mapping(path, f"cells[{i}]", c)
        cid = c.pop("id", None)
        if cid is None:
            if not c:
                raise AblationError(f"{path}: cells[{i}]: an empty cell (the base recipe) needs an `id`")
            cid = ",".join(f"{k.rsplit('.', 1)[-1]}={_id_value(v, i)}" for k, v in c.items())
        if not isinstance(cid, str) or not cid:
            raise AblationError(f"{path}: cells[{i}].id: expected a non-empty string, got {cid!r}")
        out.append(Cell(cid, c))
    return out


def _check_cells(path: Path, cells: list[Cell], overrides: dict[str, Any]) -> None:
    seen: dict[str, Cell] = {}
    by_values: dict[str, str] = {}
    for c in cells:
        if c.id in seen:
            raise AblationError(f"{path}: two cells have the id {c.id!r}; give them distinct `id`s")
        seen[c.id] = c
        for key in c.overrides:
            if key.split(".", 1)[0] in CELL_FORBIDDEN:
                raise AblationError(f"{path}: cell {c.id!r}: {key} cannot vary between cells "
                                    "(cells share one recipe's artifacts so upstream stages are reused)")
            if key in overrides:
                raise AblationError(f"{path}: {key} is set both in overrides and by cell {c.id!r}")
        blob = json.dumps(c.overrides, sort_keys=True, default=str)
        if blob in by_values:
            raise AblationError(f"{path}: cells {by_values[blob]!r} and {c.id!r} set the same values")
        by_values[blob] = c.id


def _resolve(path: Path, abl: Ablation, cell: Cell) -> Recipe:
    try:
        return load_recipe(abl.recipe, abl.cell_overrides(cell))
    except RecipeError as exc:
        raise AblationError(f"{path}: cell {cell.id!r}: {exc}") from None
    except (TypeError, AttributeError) as exc:  # a dotted key that descends into a plain value
        raise AblationError(f"{path}: cell {cell.id!r}: a key goes below a value that is not a section "
                            f"({', '.join(abl.cell_overrides(cell))}): {exc}") from None
