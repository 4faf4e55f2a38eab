"""Loading a recipe: YAML (and overrides) -> a validated `Recipe`, names resolved.

`rlrf.config` declares the recipe's typed sections and knows nothing above itself; the
names that only a later stage resolves (rewards, eval models) are checked here, at load
time, against the reward registry and the baselines, so a typo fails before curate runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rlrf.config import Recipe, RecipeError, _set_dotted, resolve_recipe_path
from rlrf.eval.labels import valid_labels
from rlrf.rewards.registry import CAPTION_ONLY_REWARDS, REWARDS, import_dotted


def _describe(err: dict[str, Any]) -> str:
    key = ".".join(str(p) for p in err["loc"]) or "<root>"
    if err["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    if err["type"] == "missing":
        return f"{key}: required key is missing"
    return f"{key}: {err['msg']} (got {err.get('input')!r})"


def parse_recipe(data: dict[str, Any], origin: str = "<dict>") -> Recipe:
    if not isinstance(data, dict):
        raise RecipeError(f"{origin}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        lines = "\n  ".join(_describe(e) for e in exc.errors())
        raise RecipeError(f"{origin}: invalid recipe\n  {lines}") from None
    problems = _unknown_names(recipe)
    if problems:
        raise RecipeError(f"{origin}: invalid recipe\n  " + "\n  ".join(problems))
    return recipe


def _unknown_names(recipe: Recipe) -> list[str]:
    """Names that only a later stage would resolve, checked now: a typo in a reward or an
    eval model must not surface after curate and SFT have run."""
    problems = []
    names = [spec.name for spec in recipe.rewards]
    for i, name in enumerate(names):
        if name in REWARDS:
            continue
        if "." in name:
            try:
                import_dotted(name)
            except ValueError as exc:
                problems.append(f"rewards.{i}.name: {exc}")
            continue
        problems.append(f"rewards.{i}.name: unknown reward {name!r}; valid: {', '.join(sorted(REWARDS))} "
                        "(or a dotted import path)")
    if recipe.grpo.prompt_sets:
        from rlrf.data.sources import TEXT2SVG_SETS

        if recipe.model.task != "text2svg":
            problems.append("grpo.prompt_sets: caption-only prompts need model.task text2svg")
        for i, ps in enumerate(recipe.grpo.prompt_sets):
            if TEXT2SVG_SETS.get(ps.name, {"svg": True})["svg"] is not None:
                caption_only = [n for n, spec in TEXT2SVG_SETS.items() if spec["svg"] is None]
                problems.append(f"grpo.prompt_sets.{i}.name: {ps.name!r} is not a caption-only set; valid: "
                                f"{', '.join(caption_only)}")
        needs_target = [n for n in names if n not in CAPTION_ONLY_REWARDS]
        if needs_target:
            problems.append(f"grpo.prompt_sets: rewards {needs_target} need a target SVG, which caption-only "
                            f"prompts lack; use {', '.join(sorted(CAPTION_ONLY_REWARDS))}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        problems.append(f"rewards: names repeat {repeated} (TRL logs each reward by its name)")
    valid = valid_labels()
    for i, label in enumerate(recipe.eval.models):
        if label not in valid:
            problems.append(f"eval.models.{i}: unknown model label {label!r}; valid: {', '.join(valid)}")
    return problems


def load_recipe(path_or_name: str | Path, overrides: dict[str, Any] | None = None) -> Recipe:
    """Load `recipes/<name>.yaml` or a path; `overrides` are dotted keys (`grpo.max_steps`)."""
    path = resolve_recipe_path(path_or_name)
    data = read_recipe_data(path)
    for dotted, value in (overrides or {}).items():
        _set_dotted(data, dotted, value)
    return parse_recipe(data, origin=str(path))


def read_recipe_data(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The recipe file's mapping, with `extends: <name or path>` resolved: the base recipe's
    mapping with this file's keys merged over it (mappings merge key by key; lists and
    scalars replace), so a recipe states only what differs from its base."""
    path = path.resolve()
    if path in _seen:
        raise RecipeError(f"{path}: `extends` loops back to itself ({' -> '.join(map(str, _seen))})")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or "extends" not in data:
        return data
    base_ref = data.pop("extends")
    base = Path(base_ref)
    if base.suffix in (".yaml", ".yml") and not base.is_absolute():
        base = path.parent / base  # a file next to this one
    return _merged(read_recipe_data(resolve_recipe_path(base if base.suffix else base_ref), (*_seen, path)), data)


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out
