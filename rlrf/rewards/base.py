"""Shared pieces of every reward: completion text, the −1 floor, missing-weights error.

Rewards keep TRL's signature `fn(completions, **columns) -> list[float | None]`
(RLRF, arXiv 2505.20793, Sec. 3.2; TRL `GRPOTrainer(reward_funcs=...)`), so TRL,
evaluation and tests call the same function.
"""

from __future__ import annotations

import os
from typing import Any

INVALID = -1.0  # RLRF Sec. 3.2: an SVG that does not render (or renders blank) gets the floor


class WeightsUnavailable(RuntimeError):
    """A reward's pretrained weights are not on this machine (the hub is not reachable here)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"reward {name!r}: weights unavailable: {reason}")
        self.name = name
        self.reason = reason


def completion_text(completion: Any) -> str:
    """Plain text of a completion: a string, or TRL's chat format (list of role/content dicts)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return completion_text(completion.get("content", ""))
    if isinstance(completion, list):
        parts = []
        for item in completion:
            if isinstance(item, dict) and item.get("type") == "text":
                parts.append(str(item.get("text", "")))
            elif isinstance(item, dict) and item.get("role") not in (None, "assistant"):
                continue
            else:
                parts.append(completion_text(item))
        return "".join(parts)
    return "" if completion is None else str(completion)


def offline_hub() -> None:
    """Make transformers / huggingface_hub fail at once instead of retrying the network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
