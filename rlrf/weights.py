"""Pretrained weights: one error type and one switch for downloading them.

Recipes name weights by hub id or local path (DreamSim, LPIPS's trunk, DINOv2, CLIP,
Qwen). By default nothing is downloaded: a loader finds the files locally or raises
`WeightsUnavailable` at once, and callers turn that into a NULL metric with status
`weights_unavailable` or a dropped reward, said loudly. Where a hub is reachable (paper
scale), `RLRF_ALLOW_DOWNLOADS=1` lets the same loaders fetch what is missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


class WeightsUnavailable(RuntimeError):
    """Pretrained weights named by a recipe cannot be loaded on this machine."""

    def __init__(self, what: str, reason: str = "") -> None:
        super().__init__(f"{what}: weights unavailable: {reason}" if reason else what)
        self.name = what
        self.reason = reason or what


def downloads_allowed() -> bool:
    return os.environ.get("RLRF_ALLOW_DOWNLOADS", "") == "1"


def offline_hub() -> None:
    """Unless downloads are allowed, make transformers / huggingface_hub fail at once
    instead of retrying an unreachable hub (measured here: ~50 s per model)."""
    if not downloads_allowed():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@contextmanager
def weights_of(what: str, source: str | None = None) -> Iterator[None]:
    """Turn any loader error (missing file, offline hub, corrupt or partial cache, version
    mismatch) into `WeightsUnavailable(what, reason)`: not available here, said once.
    `source` (a hub id or path) prefixes the reason."""
    try:
        yield
    except WeightsUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 -- any loader error means "not available here"
        first = str(exc).splitlines()[0] if str(exc) else ""
        where = f"{source!r}: " if source else ""
        raise WeightsUnavailable(what, f"{where}{type(exc).__name__}: {first}") from exc
