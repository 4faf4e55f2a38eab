"""The model's input images: Img2SVG shows the policy the ground-truth SVG rendered on white
at `model.image_size` (RLRF §3.1). Training (`rlrf.train.data`) and evaluation
(`rlrf.eval.run`) build them here, so a model is evaluated on the inputs it trained on."""

from __future__ import annotations

import numpy as np
from PIL import Image

from rlrf.config import RenderConfig
from rlrf.svg.pool import shared_pool


def render_inputs(svgs: list[str], size: int, limits: RenderConfig | None = None) -> list[Image.Image | None]:
    """Each SVG rendered on white at size x size through the shared, limited render pool (in
    parallel); None where it does not render."""
    renders = shared_pool(limits or RenderConfig()).render_many(svgs, size)
    return [Image.fromarray(r) if isinstance(r, np.ndarray) else None for r in renders]

