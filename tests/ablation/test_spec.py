"""Ablation files: grid x cells expansion, and loud failures that name the file and key."""

from pathlib import Path

import pytest
import yaml

from rlrf.ablation.spec import AblationError, load_ablation, touched_stages
from rlrf.ablation.table import typed_keys
from rlrf.config import RecipeError, repo_root

MICRO = Path(__file__).parents[1] / "flows" / "micro.yaml"


def write(tmp_path: Path, **data) -> Path:
    data.setdefault("recipe", str(MICRO))
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("path", sorted((repo_root() / "recipes" / "ablations").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_ablation_loads_and_reuses_curation_and_sft(path):
    abl = load_ablation(path)
    assert abl.name == path.stem and len(abl.cells) >= 2
    for cell in abl.cells:
        assert touched_stages(list(abl.cell_overrides(cell))) == ["grpo", "eval"], cell.id
        assert abl.recipes[cell.id].grpo.max_steps <= 150  # sized for the 2-core CPU box


def test_grid_is_a_cartesian_product_then_explicit_cells(tmp_path):
    abl = load_ablation(write(tmp_path, name="mix", overrides={"grpo.max_steps": 1},
                              grid={"grpo.temperature": [0.6, 1], "grpo.init": ["sft", "base"]},
                              cells=[{"id": "base_recipe"}, {"rewards": [{"name": "l2"}]}]))
    assert [c.id for c in abl.cells] == [
        "temperature=0.6,init=sft", "temperature=0.6,init=base", "temperature=1,init=sft",
        "temperature=1,init=base", "base_recipe", "rewards=#1"]
    assert abl.cell_overrides(abl.cells[1]) == {"grpo.max_steps": 1, "grpo.temperature": 0.6, "grpo.init": "base"}
    assert abl.recipes["base_recipe"].grpo.trl_value("temperature") == 1.1  # micro.yaml leaves the default
    assert abl.swept_keys() == ["grpo.temperature", "grpo.init", "rewards"]
    assert typed_keys(abl) == {"grpo.temperature": float, "grpo.init": str}  # a reward mix stays JSON only


def test_eval_splits_and_recipe_replacement(tmp_path):
    abl = load_ablation(write(tmp_path, recipe="no-such-recipe", eval_splits=["test"],
                              grid={"grpo.temperature": [0.5, 0.7]}), recipe=str(MICRO))
    assert all(r.eval.splits == ["test"] for r in abl.recipes.values())


@pytest.mark.parametrize("data, match", [
    ({"grid": {"grpo.temprature": [0.6, 0.8]}}, r"(?s)sweep.yaml: cell 'temprature=0.6': .*micro.yaml.*"
                                                r"grpo.temprature: unknown key"),
    ({"grid": {"grpoo.temperature": [0.6]}}, r"grpoo: unknown key"),
    ({"grid": {"grpo.lr_decay_factor": [0.0, 1.0]}}, r"grpo.lr_decay_factor: Input should be greater than 0"),
    ({"grid": {}}, r"grid: empty"),
    ({"grid": {"grpo.temperature": []}}, r"grid.grpo.temperature: empty list"),
    ({"grid": {"grpo.temperature": 0.6}}, r"grid.grpo.temperature: expected a list of values.*\[0.6\]"),
    ({"cells": []}, r"no cells"),
    ({"cells": [{}]}, r"cells\[0\]: an empty cell .* needs an `id`"),
    ({"cells": [{"id": "a", "grpo.beta": 0.1}, {"id": "a", "grpo.beta": 0.2}]}, r"two cells have the id 'a'"),
    ({"cells": [{"id": "a", "grpo.beta": 0.1}, {"id": "b", "grpo.beta": 0.1}]}, r"cells 'a' and 'b' set the same"),
    ({"grid": {"name": ["x", "y"]}}, r"name cannot vary between cells"),
    ({"grid": {"grpo.beta": [0.1]}, "overrides": {"grpo.beta": 0.0}}, r"grpo.beta is set both"),
    ({"grid": {"grpo.beta": [0.1]}, "stages": "curate,sft"}, r"stages: must include eval"),
    ({"grid": {"grpo.beta": [0.1]}, "stages": "grpo,tune"}, r"unknown stage"),
    ({"grid": {"grpo.beta": [0.1]}, "eval_splits": "test"}, r"eval_splits: expected a non-empty list"),
    ({"grid": {"grpo.beta": [0.1]}, "sweep": {}}, r"unknown key\(s\) \['sweep'\]"),
    ({"grid": {"seed.x": [1]}}, r"not a section"),
])
def test_bad_files_fail_loudly_naming_file_and_key(tmp_path, data, match):
    with pytest.raises(AblationError, match=match) as err:
        load_ablation(write(tmp_path, **data))
    assert "sweep.yaml" in str(err.value)
    assert isinstance(err.value, RecipeError)  # the CLI reports it as a bad recipe (exit 2)


def test_missing_file_lists_the_shipped_ones():
    with pytest.raises(AblationError, match=r"not found \(available: .*temperature"):
        load_ablation("no_such_sweep")
