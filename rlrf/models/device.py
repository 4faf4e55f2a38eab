"""One device resolver for every stage: training, generation, rewards and metrics.

The recipe says `device: cpu | cuda | auto`. `cuda` without a visible CUDA device is an
error here, before a paper-scale model is silently loaded onto a CPU; under
`accelerate launch` each process takes its own GPU (LOCAL_RANK).
"""

from __future__ import annotations

import os

import torch


def resolve_device(device: str = "auto") -> torch.device:
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device {device!r}: expected auto, cpu or cuda")
    if device == "cpu" or (device == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError("recipe device is 'cuda' but no CUDA device is visible "
                           "(run on a GPU machine, or set device: auto / cpu)")
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))


def free_accelerator_memory() -> None:
    """Collect dropped models and hand their cached CUDA blocks back (no-op on CPU)."""
    import gc

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def is_cpu(device: str) -> bool:
    return resolve_device(device).type == "cpu"
