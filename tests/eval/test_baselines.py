"""VTracer and Potrace trace corpus rasters into SVGs that render and resemble the target."""

import numpy as np
import pytest

from rlrf.config import EvalConfig
from rlrf.eval import baselines
from rlrf.scores.pixels import blank_image, mse
from rlrf.svg.render import render_unbounded as render

SETTINGS = EvalConfig().baselines


@pytest.mark.parametrize("name", baselines.BASELINES)
@pytest.mark.parametrize("source", ["twemoji", "openclipart", "tabler", "glyph_dejavu"])
def test_trace_renders_and_resembles_target(corpus_svgs, name, source):
    target = render(corpus_svgs[source], 128)
    assert isinstance(target, np.ndarray)
    svg, seconds = baselines.trace(name, target, getattr(SETTINGS, name))
    assert seconds >= 0 and svg.lstrip().startswith(("<svg", "<?xml"))
    out = render(svg, 128)
    assert isinstance(out, np.ndarray), out
    # Closer to the target than a blank canvas is (potrace only for dark-on-light art).
    if name == "vtracer" or source in ("tabler", "glyph_dejavu"):
        assert mse(target, out) < mse(target, blank_image(128))


def test_vtracer_keeps_colour_and_scales():
    img = np.full((64, 64, 3), 255, np.uint8)
    img[16:48, 16:48] = (220, 20, 20)
    svg, _ = baselines.trace("vtracer", img, SETTINGS.vtracer)
    big = render(svg, 256)
    assert tuple(big[128, 128]) == pytest.approx((220, 20, 20), abs=3)
    assert mse(render(svg, 64), img) < 0.01


def test_potrace_binarises_at_threshold():
    img = np.full((64, 64, 3), 255, np.uint8)
    img[16:48, 16:48] = (100, 100, 100)
    dark, _ = baselines.trace("potrace", img, {**SETTINGS.potrace, "threshold": 128})
    light, _ = baselines.trace("potrace", img, {**SETTINGS.potrace, "threshold": 50})
    assert tuple(render(dark, 64)[32, 32]) == (0, 0, 0)
    assert tuple(render(light, 64)[32, 32]) == (255, 255, 255)


def test_unknown_baseline_names_valid_ones():
    with pytest.raises(ValueError, match="vtracer, potrace"):
        baselines.trace("autotrace", blank_image(8))


def test_vtracer_default_settings_stay_within_render_limits():
    """A flag emoji traced at 512 px once produced 213k chars of 15-digit floats (> max_input_chars)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from rlrf.config import RenderConfig, repo_root

    t = pq.read_table(repo_root() / "data/corpus/corpus.parquet", columns=["sample_id", "svg"])
    hit = t.filter(pc.equal(t["sample_id"], "twemoji/1f1e6-1f1eb.svg"))
    if hit.num_rows == 0:
        pytest.skip("flag sample not in this corpus build")
    target = render(hit["svg"][0].as_py(), 512)
    svg, _ = baselines.trace("vtracer", target, SETTINGS.vtracer)
    assert len(svg) < RenderConfig().max_input_chars
    assert isinstance(render(svg, 512), np.ndarray)
