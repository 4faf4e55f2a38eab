"""Shared pieces of every reward: completion text, the −1 floor, missing-weights error.

Rewards keep TRL's signature `fn(completions, **columns) -> list[float | None]`
(RLRF, arXiv 2505.20793, Sec. 3.2; TRL `GRPOTrainer(reward_funcs=...)`), so TRL,
evaluation and tests call the same function.
"""

from __future__ import annotations

from typing import Any

from rlrf.weights import WeightsUnavailable, offline_hub

__all__ = ["INVALID", "WeightsUnavailable", "completion_text", "offline_hub"]

INVALID = -1.0  # RLRF Sec. 3.2: an SVG that does not render (or renders blank) gets the floor


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
