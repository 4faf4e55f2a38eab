"""Hostile roll-outs, generated: extract -> sanitise -> clean -> render never raises,
and no render outlives the pool's time limit (hypothesis; skipped where not installed)."""

from __future__ import annotations

import time

import pytest

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

FRAGMENTS = [
    "<svg>", "</svg>", '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">', "<g>", "</g>",
    '<path d="M0 0L1e308 5z"/>', '<path d="M0 0 L nan 5"/>', '<circle r="-1"/>', '<rect width="1e9"/>',
    '<use href="#a"/>', '<g id="a"><use href="#a"/></g>', "<script>alert(1)</script>", 'onload="x()"',
    '<!DOCTYPE svg [<!ENTITY x "xx">]>', "&x;", '<image href="file:///etc/passwd"/>',
    '<image href="http://example.com/x.png"/>', "<style>@import url(http://x);</style>", "<![CDATA[", "]]>",
    '<text>\u202e\U0001f600</text>', "<", ">", '"', "<!--", "-->", "```svg", "```", "\x00", "<svg><svg><svg>",
    '<pattern id="p" width="1e-9" height="1e-9"><rect width="1" height="1"/></pattern>',
    '<rect fill="url(#p)" width="10" height="10"/>',
]


@hypothesis.settings(max_examples=40, deadline=None, derandomize=True,
                     suppress_health_check=list(hypothesis.HealthCheck))
@hypothesis.given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=25))
def test_hostile_completions_never_raise_or_hang(hostile_pool, fault, parts):
    from rlrf.data.clean import strip_active_content
    from rlrf.svg import RenderFailure, extract_svg, sanitize
    from rlrf.svg.sanitize import SvgRejected

    fault["fault"] = "40 generated hostile completions: extract, sanitise, clean, render"
    text = "".join(parts)
    svg = extract_svg(text)
    if svg is None:
        return
    try:
        sanitize(svg, hostile_pool.limits)
    except SvgRejected:
        pass
    for cleaned, _ in strip_active_content([svg]).values():
        assert cleaned is None or "<script" not in cleaned.lower()
    t0 = time.monotonic()
    [result] = hostile_pool.render_many([svg], 32)
    assert time.monotonic() - t0 < hostile_pool.limits.timeout_s + 5  # the pool bounds every render
    assert isinstance(result, RenderFailure) or result.shape == (32, 32, 3)


@pytest.fixture(scope="module")
def hostile_pool():
    from rlrf.config import RenderConfig
    from rlrf.svg.pool import RenderPool

    with RenderPool(RenderConfig(timeout_s=2.0, workers=1)) as pool:
        yield pool
