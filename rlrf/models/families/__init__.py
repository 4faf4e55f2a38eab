"""Model families by name: the one registry SFT, GRPO, eval and the dry run resolve models by.

A recipe names its family (`model.family`) or leaves it `auto`: then the `model_type` of
the model's `config.json` (the local folder, or the committed copy under
`recipes/model_configs/<name>/` for a hub id) picks it, and a tiny random-init model is
Qwen2.5-VL for Img2SVG.
"""

from __future__ import annotations

import json
from pathlib import Path

from rlrf.config import ModelConfig, repo_root
from rlrf.models.families.base import Family, tokenizer_of
from rlrf.models.families.qwen2_5_vl import Qwen25VL
from rlrf.models.families.qwen3 import Qwen3Text
from rlrf.models.families.starvector import StarVector

FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    if family.name in FAMILIES:
        raise ValueError(f"model family {family.name!r} is already registered")
    FAMILIES[family.name] = family
    return family


for _family in (Qwen25VL(), Qwen3Text(), StarVector()):
    register(_family)


def get_family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown model family {name!r}; valid: {', '.join(FAMILIES)}") from None


def committed_config_path(name_or_path: str) -> Path:
    """Where the committed `config.json` of a hub model lives: recipes/model_configs/<repo name>/."""
    return repo_root() / "recipes" / "model_configs" / Path(name_or_path).name / "config.json"


def model_config_json(name_or_path: str) -> dict | None:
    """The model's `config.json`: the local folder's, else the committed copy; None if neither."""
    for path in (Path(name_or_path) / "config.json", committed_config_path(name_or_path)):
        if path.is_file():
            return json.loads(path.read_text())
    return None


def family_of_config(data: dict, origin: str) -> Family:
    if data.get("rlrf_family"):
        return get_family(data["rlrf_family"])
    if "StarVectorForConditionalGeneration" in (data.get("architectures") or []):
        return get_family("starvector")
    model_type = data.get("model_type")
    for family in FAMILIES.values():
        if model_type in family.model_types:
            return family
    raise ValueError(f"{origin}: model_type {model_type!r} belongs to no model family "
                     f"({', '.join(f'{f.name}: {list(f.model_types)}' for f in FAMILIES.values())})")


def family_for(cfg: ModelConfig) -> Family:
    """The recipe's family: `model.family`, else inferred (see module docstring)."""
    if cfg.family != "auto":
        family = get_family(cfg.family)
    elif cfg.name_or_path is None:
        family = get_family("qwen2_5_vl")
    else:
        data = model_config_json(cfg.name_or_path)
        if data is None:
            raise ValueError(
                f"model.family is auto but no config.json for {cfg.name_or_path!r} (neither a local folder nor "
                f"{committed_config_path(cfg.name_or_path)}); set model.family to one of {', '.join(FAMILIES)}")
        family = family_of_config(data, cfg.name_or_path)
    family.check_task(cfg.task)
    return family


def family_of_dir(model_dir: Path) -> Family:
    """The family of a saved model folder (training stages record `rlrf_family` in its config)."""
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        from rlrf.weights import WeightsUnavailable

        raise WeightsUnavailable(f"model {model_dir}", "no config.json (not a finished model folder)")
    return family_of_config(json.loads(path.read_text()), str(path))


def family_of_model(model) -> Family:
    return family_of_config(model.config.to_dict(), type(model).__name__)


def load_trained(model_dir: Path):
    """(model, processor) of a finished training stage, whatever its family."""
    return family_of_dir(model_dir).load_trained(Path(model_dir))


__all__ = ["FAMILIES", "Family", "family_for", "family_of_dir", "family_of_model", "get_family", "load_trained",
           "tokenizer_of"]
