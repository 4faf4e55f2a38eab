"""Chat prompts for the two tasks, shared by SFT, GRPO and evaluation.

One source of truth: the model must see the same prompt at training and test time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

IMG2SVG_INSTRUCTION = "Generate SVG code that renders to this image."
TEXT2SVG_INSTRUCTION = "Generate SVG code for: "

Task = Literal["img2svg", "text2svg"]


@dataclass(frozen=True)
class Decoding:
    """How evaluation decodes, whichever engine does it (HF `generate` or vLLM): greedy, or
    sampling at `temperature`; `batch_size` rows per HF `generate` call."""

    max_new_tokens: int
    do_sample: bool = False
    temperature: float = 1.0
    batch_size: int = 8
    task: Task = "img2svg"


def prompt_messages(task: Task, caption: str | None = None) -> list[dict]:
    """A one-turn user prompt: the image placeholder + instruction, or the caption."""
    if task == "img2svg":
        return [
            {
                "role": "user",
                "content": [{"type": "image"}, {"type": "text", "text": IMG2SVG_INSTRUCTION}],
            }
        ]
    if task == "text2svg":
        return [
            {
                "role": "user",
                "content": [{"type": "text", "text": TEXT2SVG_INSTRUCTION + (caption or "")}],
            }
        ]
    raise ValueError(f"unknown task {task!r} (expected img2svg or text2svg)")
