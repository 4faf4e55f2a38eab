"""One registry: reward name → builder, and the recipe's reward list → callables.

Recipes name rewards (`rewards: [{name: l2, weight: 0.2}, ...]`, DESIGN.md). The registry
fails loudly (TRL `trl/scripts/grpo.py`, verl `reward_manager/registry.py`): an unknown
name raises `ValueError` listing the valid ones, a dotted path (`pkg.module.fn`) loads a
user reward, registering a name twice raises. Heavy dependencies are imported only by
the builders that need them. Rewards whose weights are missing are dropped with a loud
warning — or stop the run when the spec says `required: true` — and reported back so
the run summary can say which terms were not optimised (RLRF Sec. 3.2 lists the terms).
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from rlrf.config import RenderConfig, RewardSpec
from rlrf.rewards.base import WeightsUnavailable

log = logging.getLogger(__name__)

Builder = Callable[..., Callable]
REWARDS: dict[str, Builder] = {}
# rewards that score a roll-out against the caption alone (no target SVG): the only ones a
# caption-only RL prompt (`grpo.prompt_sets`) can be scored with
CAPTION_ONLY_REWARDS = frozenset({"clip", "vlm_judge"})


def register(name: str) -> Callable[[Builder], Builder]:
    """Decorator: `@register("l2") def build(spec, render, size, tokenizer, task) -> reward`."""

    def deco(builder: Builder) -> Builder:
        if name in REWARDS:
            raise ValueError(
                f"reward {name!r} is already registered (by {REWARDS[name].__module__})"
            )
        REWARDS[name] = builder
        return builder

    return deco


class BuiltRewards(NamedTuple):
    """What `build_rewards` returns; unpacks as `funcs, weights, warmups, dropped`."""

    funcs: list[Callable]
    weights: list[float]
    warmups: list[dict | None]
    dropped: list[str]


def _strip_text(spec: RewardSpec, task: str | None, default: bool = False) -> bool:
    return bool(spec.params.get("strip_text", default or task == "text2svg"))


def _size(spec: RewardSpec, size: int) -> int:
    return int(spec.params.get("size", size))


def _device(spec: RewardSpec) -> str:
    from rlrf.rewards.perceptual import default_device

    return str(spec.params.get("device") or default_device())


@register("l2")
def _build_l2(spec, render, size, tokenizer=None, task=None):
    from rlrf.rewards.image import L2Reward

    return L2Reward(spec.name, _size(spec, size), render, _strip_text(spec, task))


@register("pixel_mse")
def _build_pixel_mse(spec, render, size, tokenizer=None, task=None):
    from rlrf.rewards.image import PixelMSEReward

    return PixelMSEReward(spec.name, _size(spec, size), render, _strip_text(spec, task),
                          scale=float(spec.params.get("scale", 4.0)))


@register("l2_canny")
def _build_l2_canny(spec, render, size, tokenizer=None, task=None):
    from rlrf.rewards.image import L2CannyReward

    return L2CannyReward(
        spec.name, _size(spec, size), render, _strip_text(spec, task),
        blur=int(spec.params.get("blur", 13)), dilate=int(spec.params.get("dilate", 3)),
    )  # fmt: skip


def _dreamsim(spec, render, size, task, canny):
    """`model:` is either a DreamSim variant ("ensemble", "dino_vitb16", …; weights in
    `cache_dir`, default ~/.cache/dreamsim) or the folder holding the ensemble's weights."""
    from rlrf.rewards.perceptual import DreamSimReward
    from rlrf.scores.learned import DREAMSIM_TYPES

    if spec.model in DREAMSIM_TYPES:
        dreamsim_type = spec.model
        cache_dir = spec.cache_dir or str(Path.home() / ".cache" / "dreamsim")
    else:
        dreamsim_type = str(spec.params.get("dreamsim_type", "ensemble"))
        cache_dir = spec.model or spec.cache_dir
    return DreamSimReward(
        spec.name, _size(spec, size), render, cache_dir=cache_dir,
        strip_text=_strip_text(spec, task), canny=canny,
        dreamsim_type=dreamsim_type, device=_device(spec),
    )  # fmt: skip


@register("dreamsim")
def _build_dreamsim(spec, render, size, tokenizer=None, task=None):
    return _dreamsim(spec, render, size, task, canny=False)


@register("canny_dreamsim")
def _build_canny_dreamsim(spec, render, size, tokenizer=None, task=None):
    return _dreamsim(spec, render, size, task, canny=True)


@register("lpips")
def _build_lpips(spec, render, size, tokenizer=None, task=None):
    from rlrf.rewards.perceptual import LpipsReward

    return LpipsReward(
        spec.name, _size(spec, size), render, _strip_text(spec, task),
        net=str(spec.params.get("net", "alex")), weights=spec.model, device=_device(spec),
    )  # fmt: skip


def _text_reward(cls_name: str, spec, render, size, task):
    """`clip` / `vlm_judge`: `model:` the weights; `<text>` stripped unless the spec says not."""
    from rlrf.rewards import text

    return getattr(text, cls_name)(
        spec.name, _size(spec, size), render, spec.model, spec.cache_dir,
        strip_text=_strip_text(spec, task, default=True), device=_device(spec),
    )  # fmt: skip


@register("clip")
def _build_clip(spec, render, size, tokenizer=None, task=None):
    return _text_reward("ClipReward", spec, render, size, task)


@register("vlm_judge")
def _build_vlm_judge(spec, render, size, tokenizer=None, task=None):
    return _text_reward("VlmJudgeReward", spec, render, size, task)


@register("length")
def _build_length(spec, render, size, tokenizer=None, task=None):
    from rlrf.rewards.length import LengthReward

    # the render settings of the image terms, so the length term shares their validity gate
    return LengthReward(spec.name, tokenizer, render, _size(spec, size), _strip_text(spec, task))


def import_dotted(path: str) -> Any:
    module_name, _, attr = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"reward {path!r}: cannot import it as module.attribute ({exc})") from None


def build_reward(
    spec: RewardSpec,
    render: RenderConfig,
    size: int,
    tokenizer=None,
    task: str | None = None,
) -> Callable:
    """Build and load one reward; raises `WeightsUnavailable` when its weights are missing."""
    if spec.name in REWARDS:
        reward = REWARDS[spec.name](spec, render, size, tokenizer, task)
    elif "." in spec.name:
        obj = import_dotted(spec.name)
        reward = obj(**spec.params) if inspect.isclass(obj) else obj
        if not callable(reward):
            raise ValueError(f"reward {spec.name!r} is not callable")
    else:
        raise ValueError(
            f"unknown reward {spec.name!r}; valid names: {', '.join(sorted(REWARDS))} "
            "(or a dotted import path to your own reward function)"
        )
    if hasattr(reward, "load"):
        reward.load()
    return reward


def build_rewards(
    specs: Sequence[RewardSpec],
    render: RenderConfig,
    size: int,
    tokenizer=None,
    task: str | None = None,
) -> BuiltRewards:
    """Build every reward of a recipe; drop (loudly) or fail on missing weights per `required`."""
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"reward names repeat in the recipe: {names} (TRL logs each by name)")
    out = BuiltRewards([], [], [], [])
    for spec in specs:
        try:
            reward = build_reward(spec, render, size, tokenizer, task)
        except WeightsUnavailable as exc:
            if spec.required:
                raise
            log.warning(
                "REWARD DROPPED: %r (weight %g) will not be optimised: %s",
                spec.name,
                spec.weight,
                exc.reason,
            )
            out.dropped.append(spec.name)
            continue
        out.funcs.append(reward)
        out.weights.append(float(spec.weight))
        out.warmups.append(dict(spec.warmup) if spec.warmup else None)
    if not out.funcs and specs:
        log.warning("REWARDS: every term was dropped (%s); GRPO has no signal", out.dropped)
    return out
